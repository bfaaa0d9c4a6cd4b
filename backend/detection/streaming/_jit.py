"""numba's ``njit`` (with its on-disk cache) when numba is installed, a no-op otherwise.

:func:`njit` marks helpers that are inlined into their callers; :func:`njit_entry` marks the
functions compiled on their own (entry points, and large helpers run rarely).

Compiled code here never allocates (callers pass in every array it writes), so it is
compiled without numba's reference counting: otherwise every array handed to an inlined
helper is counted up and down with atomic instructions, which took half of the per-point
time of the streaming detector.

numba keys a cached function on its own file only, but our kernels fold constants from
``layout.py`` and ``params.py`` into the machine code. So the cache of this package is
dropped whenever any of its source files changes (a fingerprint of all of them is kept
beside the cache); otherwise a stale kernel could read the state with an old layout.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["HAVE_NUMBA", "njit", "njit_entry"]

F = TypeVar("F", bound=Callable[..., Any])
_PACKAGE = Path(__file__).resolve().parent
_CACHE = _PACKAGE / "__pycache__"

_numba_njit: Any
try:
    from numba import njit as _numba_njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without the dependency
    HAVE_NUMBA = False
    _numba_njit = None


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _drop_stale_cache() -> None:
    """Delete numba cache files of this package when its sources changed."""
    try:
        _CACHE.mkdir(exist_ok=True)
        stamp = _CACHE / "numba-sources.sha256"
        current = _fingerprint()
        if stamp.exists() and stamp.read_text() == current:
            return
        for cached in list(_CACHE.glob("*.nbi")) + list(_CACHE.glob("*.nbc")):
            cached.unlink(missing_ok=True)
        tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(current)
        tmp.replace(stamp)
    except OSError:  # read-only install: numba then falls back to its own cache locator
        return


if _numba_njit is not None:
    _drop_stale_cache()


def _compile(func: F, inline: str) -> F:
    if _numba_njit is None:  # pragma: no cover
        return func
    # error_model="numpy": no zero-division checks (inputs are validated, so no division
    # by zero happens) and no exception bookkeeping on the hot path; _nrt=False: no
    # reference counting (nothing here allocates, see the module's docstring)
    compiled: F = _numba_njit(
        cache=True, nogil=True, error_model="numpy", inline=inline, _nrt=False
    )(func)
    return compiled


def njit(func: F) -> F:
    """Compile a small helper, inlined into its compiled callers (no per-call overhead).

    Inlining is done on numba's IR, so the helpers of the per-point step become one flat
    function; this made the history mode about 35 % faster. Callable from Python too.
    """
    return _compile(func, "always")


def njit_entry(func: F) -> F:
    """Compile an entry point (or a large, rarely run helper) as a function of its own."""
    return _compile(func, "never")
