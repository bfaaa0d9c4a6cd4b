"""Run one benchmark (or all) and print its figures.

Usage: ``python -m benchmarks {simulate,ingest,detect,api,postgres,pipeline,all} [options]``.
Each benchmark module exposes ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "simulate": "benchmarks.simulate",
    "ingest": "benchmarks.ingest",
    "detect": "benchmarks.detect",
    "api": "benchmarks.api",
    "postgres": "benchmarks.postgres",
    "pipeline": "benchmarks.pipeline",
}


def main(argv: list[str]) -> int:
    """Dispatch to the named benchmark's ``main``."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        print("available:", ", ".join([*BENCHMARKS, "all"]))
        return 0
    name, rest = argv[0], argv[1:]
    names = list(BENCHMARKS) if name == "all" else [name]
    status = 0
    for each in names:
        if each not in BENCHMARKS:
            print(
                f"unknown benchmark {each!r}; available: {', '.join(BENCHMARKS)}", file=sys.stderr
            )
            return 2
        print(f"== benchmark {each}")
        status |= importlib.import_module(BENCHMARKS[each]).main(rest)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
