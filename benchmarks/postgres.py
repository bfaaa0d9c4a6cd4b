"""PostgreSQL storage benchmark, with the embedded default measured in the same run.

In a throwaway database (created through ``--admin-url``, dropped at the end) and a temporary
SQLite file, measures:

(a) bulk ingest through the pipeline (``IngestionPipeline.ingest_series``: tenant check,
    validation, one ``store_metrics`` transaction) of SERIES x POINTS minute points
    (target: >= 1,000,000 points/s into PostgreSQL);
(b) raw psycopg binary ``COPY`` of the very same rows (series_id, ts, value) into a plain table,
    payload built from the same numpy arrays (aim: (a) within 1.3x of it), and the same rows
    into a plain table with a (series_id, ts) primary key (what a row-per-point layout pays);
(c) reading one week of one series, 10,080 points (target: median <= 10 ms);
(d) the latest 100 anomalies of a tenant with 10,000 series (target: median <= 20 ms).

Usage: ``python -m benchmarks postgres [--series 1000] [--points 1440] [--repeat 3] [--check]``.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns, utc_now
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.ingestion.pipeline import IngestionPipeline
from backend.ingestion.validator import MetricValidator
from backend.storage import SQLiteStorage, StorageBackend
from backend.storage.postgres import PostgresStorage, upgrade
from backend.storage.postgres.connection import connect

TARGET_POINTS_PER_S = 1_000_000
TARGET_RATIO = 1.3
TARGET_READ_MS = 10.0
TARGET_ANOMALIES_MS = 20.0
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STEP_NS = 60 * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000
WEEK_POINTS = 10_080
ANOMALY_SERIES = 10_000
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_ROW = np.dtype(
    [("fields", ">i2"), ("l1", ">i4"), ("sid", ">i4"), ("l2", ">i4"), ("ts", ">i8"),
     ("l3", ">i4"), ("value", ">f8")]
)  # fmt: skip


def make_series(
    tenant: str, n_series: int, n_points: int, start_ns: int, seed: int = 0
) -> list[MetricSeries]:
    """CPU-like series in [0, 100]: daily cycle plus noise, one point a minute."""
    rng = np.random.default_rng(seed)
    ts = start_ns + np.arange(n_points, dtype=np.int64) * STEP_NS
    cycle = 50 + 20 * np.sin(np.arange(n_points) * (2 * np.pi / 1440))
    return [
        MetricSeries.from_arrays(
            SeriesKey(tenant, f"c{i % 10}", f"n{i}", "cpu_usage"),
            ts,
            np.clip(cycle + rng.normal(0, 5, n_points), 0, 100),
        )
        for i in range(n_series)
    ]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm caches and prepared statements
    return statistics.median(timed(action) for _ in range(runs)) * 1000


def pipeline_ingest(storage: StorageBackend, tenant: str, series: list[MetricSeries]) -> float:
    """Seconds for one pipeline batch; every series must be accepted."""
    pipeline = IngestionPipeline(None, MetricValidator(), storage)
    start = time.perf_counter()
    report = pipeline.ingest_series(tenant, series)
    seconds = time.perf_counter() - start
    if report.rejected:
        raise SystemExit(f"benchmark data rejected: {report.rejected[:2]}")
    return seconds


def copy_payload(series: list[MetricSeries]) -> bytes:
    """PostgreSQL binary COPY data of (series_id, ts, value) rows, built from the arrays."""
    counts = [s.length for s in series]
    rows = np.empty(sum(counts), dtype=_ROW)
    rows["fields"], rows["l1"], rows["l2"], rows["l3"] = 3, 4, 8, 8
    rows["sid"] = np.repeat(np.arange(1, len(series) + 1, dtype=np.int32), counts)
    rows["ts"] = np.concatenate([s.timestamps_ns for s in series])
    rows["value"] = np.concatenate([s.values_array for s in series])
    return _PGCOPY_HEADER + rows.tobytes() + b"\xff\xff"


def raw_copy(url: str, series: list[MetricSeries], primary_key: bool) -> float:
    """Seconds to build the payload and COPY it into a fresh plain table, commit included."""
    table = f"raw_points_{secrets.token_hex(3)}"
    key = ", PRIMARY KEY (series_id, ts)" if primary_key else ""
    with connect(url) as conn:
        conn.execute(f"CREATE TABLE {table} (series_id int4, ts int8, value float8{key})")

        def write() -> None:
            payload = copy_payload(series)
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.write(payload)

        seconds = timed(write)
        conn.execute(f"DROP TABLE {table}")
    return seconds


def store_anomalies(
    storage: StorageBackend, tenant: str, n_series: int = ANOMALY_SERIES, per_series: int = 10
) -> None:
    """``per_series`` scored windows for each of ``n_series`` series of ``tenant``."""
    rng = np.random.default_rng(1)
    start = utc_now().replace(tzinfo=None) - timedelta(days=1)
    for first in range(0, n_series, 2000):
        batch = [
            AnomalyResult(tenant, f"c{i % 20}", f"n{i}", "cpu_usage",
                          start + timedelta(minutes=10 * w + i % 10),
                          start + timedelta(minutes=10 * w + i % 10 + 5),
                          float(rng.random()), "spike")
            for i in range(first, min(first + 2000, n_series))
            for w in range(per_series)
        ]  # fmt: skip
        storage.store_anomaly_results(tenant, batch)


def measure(storage: StorageBackend, name: str, args: argparse.Namespace) -> dict[str, float]:
    """Ingest, read and anomaly figures of one backend."""
    start_ns = (to_epoch_ns(utc_now()) // DAY_NS - 1) * DAY_NS
    ingest = []
    for run in range(args.repeat):
        series = make_series(f"bench{run}", args.series, args.points, start_ns, seed=run)
        ingest.append(pipeline_ingest(storage, f"bench{run}", series))
    points = args.series * args.points
    week_start = start_ns - 6 * DAY_NS
    week = make_series("reader", 1, WEEK_POINTS, week_start)[0]
    storage.store_metrics([week])
    lo, hi = from_epoch_ns(week_start), from_epoch_ns(week_start + (WEEK_POINTS - 1) * STEP_NS)
    if storage.get_metric_series(*week.key, lo, hi).length != WEEK_POINTS:
        raise SystemExit(f"{name}: week read returned the wrong number of points")
    read_ms = median_ms(lambda: storage.get_metric_series(*week.key, lo, hi), args.runs)
    store_anomalies(storage, "anomalies", args.anomaly_series)
    latest_ms = median_ms(
        lambda: storage.query_anomalies("anomalies", limit=100, newest_first=True), args.runs
    )
    return {
        "ingest_points_per_s": points / statistics.median(ingest),
        "read_week_ms": read_ms,
        "latest_anomalies_ms": latest_ms,
    }


def _database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"aboutcloud_bench_{int(time.time())}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return url, drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks postgres", description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1440)
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs (median reported)")
    parser.add_argument("--runs", type=int, default=50, help="timed reads per query")
    parser.add_argument("--anomaly-series", type=int, default=ANOMALY_SERIES)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    url, drop = _database(args.admin_url)
    try:
        with connect(url) as conn:
            upgrade(conn)
        with PostgresStorage(url) as storage:
            pg = measure(storage, "postgres", args)
        sample = make_series("copy", args.series, args.points, 1_704_067_200 * 10**9)
        copy_s = statistics.median(raw_copy(url, sample, False) for _ in range(args.repeat))
        copy_pk_s = statistics.median(raw_copy(url, sample, True) for _ in range(args.repeat))
    finally:
        drop()
    with tempfile.TemporaryDirectory() as folder, SQLiteStorage(Path(folder) / "b.db") as lite:
        embedded = measure(lite, "sqlite", args)
    points = args.series * args.points
    copy_rate, copy_pk_rate = points / copy_s, points / copy_pk_s
    ratio = copy_rate / pg["ingest_points_per_s"]  # pipeline time / COPY time
    print(f"data: {args.series} series x {args.points} minute points = {points:,} points; "
          f"anomalies of {args.anomaly_series:,} series")  # fmt: skip
    print(f"{'':34}{'PostgreSQL':>16}{'embedded SQLite':>18}")
    print(f"{'pipeline ingest (points/s)':34}{pg['ingest_points_per_s']:>16,.0f}"
          f"{embedded['ingest_points_per_s']:>18,.0f}")  # fmt: skip
    print(f"{'read 1 week, 10,080 points (ms)':34}{pg['read_week_ms']:>16.2f}"
          f"{embedded['read_week_ms']:>18.2f}")  # fmt: skip
    print(f"{'latest 100 anomalies (ms)':34}{pg['latest_anomalies_ms']:>16.2f}"
          f"{embedded['latest_anomalies_ms']:>18.2f}")  # fmt: skip
    print(f"raw psycopg binary COPY, same rows, plain table: {copy_rate:,.0f} rows/s "
          f"(pipeline takes {ratio:.2f}x its time)")  # fmt: skip
    print(f"raw psycopg binary COPY, same rows, table with primary key: {copy_pk_rate:,.0f} rows/s")
    met = (
        pg["ingest_points_per_s"] >= TARGET_POINTS_PER_S
        and ratio <= TARGET_RATIO
        and pg["read_week_ms"] <= TARGET_READ_MS
        and pg["latest_anomalies_ms"] <= TARGET_ANOMALIES_MS
    )
    print("targets met" if met else "targets NOT met")
    return 1 if args.check and not met else 0
