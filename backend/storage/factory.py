"""Open a storage backend from a database URL.

``ABOUTCLOUD_DATABASE_URL`` picks the backend; without it, data goes to ``aboutcloud.db`` in the
current working directory, so a fresh checkout keeps its data with no server to run.

==============================  =========================================================
URL                             backend
==============================  =========================================================
``memory://``                   :class:`InMemoryStorage` (nothing persists)
``sqlite:///relative/path.db``  :class:`SQLiteStorage`, path relative to the working dir
``sqlite:////abs/path.db``      :class:`SQLiteStorage`, absolute path
==============================  =========================================================

Further schemes plug in with :func:`register_scheme`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from backend.errors import StorageConfigError
from backend.storage.interface import StorageBackend
from backend.storage.memory_storage import InMemoryStorage

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_FILE",
    "open_storage",
    "redact_url",
    "register_scheme",
]

DATABASE_URL_ENV = "ABOUTCLOUD_DATABASE_URL"
DEFAULT_DATABASE_FILE = "aboutcloud.db"

Opener = Callable[[str], StorageBackend]
"""Builds a backend from the full URL (scheme included)."""

_REFUSED = {
    "duckdb": "DuckDB lets only one process open a file, so it is not a storage backend; "
    "use sqlite:///path (see docs/decisions.md)",
}
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def open_storage(url: str | None = None) -> StorageBackend:
    """The backend a URL names; ``None`` reads ``ABOUTCLOUD_DATABASE_URL``.

    >>> open_storage("memory://")
    <backend.storage.memory_storage.InMemoryStorage object at ...>
    """
    if url is None:
        url = os.environ.get(DATABASE_URL_ENV, "").strip() or None
    if url is None:
        return _sqlite_at(Path.cwd() / DEFAULT_DATABASE_FILE)
    scheme, separator, _ = url.partition("://")
    opener = _OPENERS.get(scheme.lower()) if separator else None
    if opener is None and scheme.lower() in _REFUSED:
        raise StorageConfigError(f"database URL {redact_url(url)!r}: {_REFUSED[scheme.lower()]}")
    if opener is None:
        known = ", ".join(f"{name}://" for name in sorted(_OPENERS))
        raise StorageConfigError(
            f"unsupported database URL {redact_url(url)!r}: expected one of {known}"
        )
    return opener(url)


def register_scheme(scheme: str, opener: Opener) -> None:
    """Make ``scheme://...`` URLs open with ``opener`` (e.g. ``postgresql``)."""
    _OPENERS[scheme.lower()] = opener


def redact_url(url: str) -> str:
    """The URL with any password hidden, for error messages and logs.

    >>> redact_url("postgresql://app:secret@db:5432/x")
    'postgresql://app:***@db:5432/x'
    """
    return _PASSWORD.sub(r"\1***@", url)


def _open_memory(url: str) -> StorageBackend:
    if url.partition("://")[2]:
        raise StorageConfigError(f"database URL {url!r}: memory:// takes no path")
    return InMemoryStorage()


def _open_sqlite(url: str) -> StorageBackend:
    rest = url.partition("://")[2]
    if not rest.startswith("/") or len(rest) < 2 or "?" in rest:
        raise StorageConfigError(
            f"database URL {url!r}: expected sqlite:///relative/file.db or sqlite:////abs/file.db"
        )
    return _sqlite_at(Path(rest[1:]))


def _sqlite_at(path: Path) -> StorageBackend:
    from backend.storage.sqlite import SQLiteStorage

    return SQLiteStorage(path)


def _open_postgres(url: str) -> StorageBackend:
    from backend.storage.postgres import PostgresStorage

    return PostgresStorage(url)


_OPENERS: dict[str, Opener] = {
    "memory": _open_memory,
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
    "postgres": _open_postgres,
    "postgresql+psycopg": _open_postgres,
}
