"""The small harness the verify_phase*.py scripts share: register checks, run them, report."""

from __future__ import annotations

import traceback
from collections.abc import Callable

Check = Callable[[], None]


class Checks:
    """An ordered set of named checks; ``run`` prints PASS/FAIL per check and returns 0 or 1."""

    def __init__(self) -> None:
        self._checks: list[Check] = []

    def __call__(self, fn: Check) -> Check:
        self._checks.append(fn)
        return fn

    def run(self) -> int:
        failed = 0
        for fn in self._checks:
            try:
                fn()
                print(f"PASS {fn.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {fn.__name__}")
                traceback.print_exc()
        print(f"{len(self._checks) - failed}/{len(self._checks)} checks passed")
        return 1 if failed else 0


def expect(condition: bool, message: str) -> None:
    """Fail the current check with ``message`` (an explicit raise: survives ``python -O``)."""
    if not condition:
        raise AssertionError(message)
