"""Benchmark: a whole detection run (``aboutcloud detect``) on stored data, backfill and ticks.

The engine benchmark (``python -m benchmarks detect``) times the detector alone; an operator
also pays for reading each series and its saved state, mapping the scores with the fleet
calibration, writing results, states and roll-ups. This benchmark stores a simulated fleet
(``--nodes`` × 8 metrics, ``--days`` of one-minute points) in the embedded SQLite database
(and, with ``--postgres``, in a throwaway PostgreSQL database), then times through
:class:`~backend.detection.runner.IncrementalDetector`:

- the backfill: the first run over the whole history (points/s);
- ticks: one new point per series, then a run, ``--ticks`` times (median seconds per run,
  and series/s): what a live fleet scored every minute pays.

No target: the figures say how large a fleet one process keeps up with at a given cadence.
Usage: ``python -m benchmarks pipeline [--nodes 125] [--days 1] [--ticks 5] [--postgres]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from backend.analytics.types import MetricSeries
from backend.detection.runner import IncrementalDetector
from backend.simulator.fleet import FleetSpec, simulate_fleet
from backend.storage import SQLiteStorage, StorageBackend

TENANT = "tenant-1"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.pipeline", description=__doc__)
    parser.add_argument("--nodes", type=int, default=125, help="nodes (8 metrics each)")
    parser.add_argument("--days", type=float, default=1.0, help="history, one point a minute")
    parser.add_argument("--ticks", type=int, default=5, help="incremental runs to time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the throwaway database on",
    )
    return parser.parse_args(argv)


def _fleet(args: argparse.Namespace) -> tuple[list[MetricSeries], int]:
    history = int(args.days * 1440)
    spec = FleetSpec(
        tenants=1,
        nodes_per_cluster=args.nodes,
        num_points=history + args.ticks,
        freq="1min",
        seed=args.seed,
    )
    return list(simulate_fleet(spec).series), history


def measure(
    storage: StorageBackend, series: list[MetricSeries], history: int, ticks: int
) -> dict[str, float]:
    """Store the history, time the backfill run, then ``ticks`` one-point runs."""
    started = time.perf_counter()
    storage.store_metrics([s.slice(0, min(history, s.length)) for s in series])
    stored = time.perf_counter() - started
    detector = IncrementalDetector(storage)
    started = time.perf_counter()
    backfill = detector.run(TENANT)
    backfill_s = time.perf_counter() - started
    tick_s: list[float] = []
    scored = 0
    for k in range(ticks):
        storage.store_metrics(
            [s.slice(history + k, history + k + 1) for s in series if s.length > history + k]
        )
        started = time.perf_counter()
        report = detector.run(TENANT)
        tick_s.append(time.perf_counter() - started)
        scored = report.series_processed
        print(f"  tick {k + 1}/{ticks}: {tick_s[-1]:.3f} s, {scored:,} series", flush=True)
    median = statistics.median(tick_s) if tick_s else float("nan")
    return {
        "store_s": stored,
        "backfill_s": backfill_s,
        "backfill_points": float(backfill.points_scored),
        "tick_s": median,
        "tick_series": float(scored),
    }


def _report(name: str, n_series: int, figures: dict[str, float]) -> None:
    points = figures["backfill_points"]
    print(f"== {name}: {n_series:,} series")
    print(f"  store history      {figures['store_s']:8.2f} s")
    print(
        f"  backfill run       {figures['backfill_s']:8.2f} s"
        f"  ({points:,.0f} points, {points / figures['backfill_s']:,.0f} points/s)"
    )
    per_series_ms = figures["tick_s"] / max(figures["tick_series"], 1) * 1000
    print(
        f"  tick (median)      {figures['tick_s']:8.3f} s"
        f"  ({figures['tick_series'] / figures['tick_s']:,.0f} series/s,"
        f" {per_series_ms:.3f} ms per series)"
    )


@contextmanager
def _sqlite() -> Iterator[StorageBackend]:
    with tempfile.TemporaryDirectory() as folder, SQLiteStorage(Path(folder) / "b.db") as lite:
        yield lite


@contextmanager
def _postgres(admin_url: str) -> Iterator[StorageBackend]:
    from backend.storage.postgres import PostgresStorage, upgrade
    from backend.storage.postgres.connection import connect
    from benchmarks.postgres import _database

    url, drop = _database(admin_url)
    try:
        with connect(url) as conn:
            upgrade(conn)
        with PostgresStorage(url) as storage:
            yield storage
    finally:
        drop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    series, history = _fleet(args)
    print(
        f"fleet: {len(series):,} series x {history:,} minutes of history, {args.ticks} ticks",
        flush=True,
    )
    backends: list[tuple[str, Callable[[], AbstractContextManager[StorageBackend]]]] = [
        ("sqlite (embedded)", _sqlite)
    ]
    if args.postgres:
        backends.append(("postgresql", lambda: _postgres(args.admin_url)))
    for name, open_backend in backends:
        print(f"-- {name}", flush=True)
        with open_backend() as storage:
            _report(name, len(series), measure(storage, series, history, args.ticks))
    return 0
