"""Ingest benchmark of the embedded default storage (SQLite day chunks).

Measures, in one run and one temporary directory:

(a) validate + store: ``MetricValidator().validate_batch`` then ``SQLiteStorage.store_metrics``
    of SERIES x POINTS minute points (target: >= 1,000,000 points/s), with peak memory;
(b) SQLite's own fastest bulk path writing the same points: one ``executemany`` of the very
    rows (already encoded) our layout stores, same durability settings (target: (a) <= 1.5x,
    judged on the median ratio of back-to-back pairs, which machine noise disturbs least);
    also with journaling off, and optionally DuckDB's bulk insert and row-per-point SQLite;
(c) reading back one whole series through ``get_metric_series`` (target: median <= 5 ms);
(d) re-ingesting the same points (the merge path), optionally while another process reads;
(e) streaming: one new point per series per call.

Usage: ``python -m benchmarks ingest [--series 1000] [--points 10080] [--repeat 3]
[--duckdb] [--rows] [--concurrent-reader] [--check]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage import SQLiteStorage
from backend.storage._chunks import encode_timestamps, split_by_day
from backend.storage.sqlite.schema import connect, initialise

REPO_ROOT = Path(__file__).resolve().parents[1]

TARGET_POINTS_PER_S = 1_000_000
TARGET_RATIO = 1.5
TARGET_READ_MS = 5.0
START_NS = 1_704_067_200 * 1_000_000_000
STEP_NS = 60 * 1_000_000_000


def make_series(n_series: int, n_points: int, seed: int = 0) -> list[MetricSeries]:
    """CPU-like series in [0, 100]: daily cycle plus noise, one point a minute."""
    rng = np.random.default_rng(seed)
    ts = START_NS + np.arange(n_points, dtype=np.int64) * STEP_NS
    cycle = 50 + 20 * np.sin(np.arange(n_points) * (2 * np.pi / 1440))
    return [
        MetricSeries.from_arrays(
            SeriesKey("bench", f"c{i % 10}", f"n{i}", "cpu_usage"),
            ts,
            np.clip(cycle + rng.normal(0, 5, n_points), 0, 100),
        )
        for i in range(n_series)
    ]


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def validate_and_store(storage: SQLiteStorage, series: list[MetricSeries]) -> tuple[float, float]:
    """(validate seconds, store seconds); every series must pass validation."""
    from backend.ingestion.validator import MetricValidator

    start = time.perf_counter()
    valid, invalid, errors = MetricValidator().validate_batch(series)
    validated = time.perf_counter()
    if invalid:
        raise SystemExit(f"benchmark data failed validation: {errors[:3]}")
    storage.store_metrics(valid)
    return validated - start, time.perf_counter() - validated


def encoded_rows(series: list[MetricSeries]) -> list[tuple[object, ...]]:
    """The chunk rows our layout stores for these points, encoded ahead of the timing."""
    rows: list[tuple[object, ...]] = []
    for series_id, one in enumerate(series, start=1):
        for chunk in split_by_day(one.timestamps_ns, one.values_array):
            codec, ts_blob = encode_timestamps(chunk.timestamps_ns)
            vals = np.ascontiguousarray(chunk.values, dtype="<f8")  # bound without a copy
            rows.append((series_id, chunk.day, chunk.values.size, codec, ts_blob, vals))
    return rows


def sqlite_bulk(path: Path, rows: list[tuple[object, ...]], durable: bool) -> float:
    """Seconds for one executemany of pre-encoded rows into a fresh file, commit included."""
    conn = connect(path, 30.0)
    if durable:
        initialise(conn, path, 30.0)
    else:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(
            "CREATE TABLE chunks (series_id INTEGER, day INTEGER, n INTEGER, ts_codec INTEGER, "
            "ts BLOB, vals BLOB, PRIMARY KEY (series_id, day)) WITHOUT ROWID"
        )

    def write() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")

    seconds = timed(write)
    conn.close()
    return seconds


def sqlite_rows(path: Path, series: list[MetricSeries]) -> float:
    """Seconds for row-per-point executemany (the textbook layout), WAL as ours."""
    conn = connect(path, 30.0)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE points (series_id INTEGER, ts INTEGER, value REAL, "
        "PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )

    def write() -> None:
        conn.execute("BEGIN IMMEDIATE")
        for series_id, one in enumerate(series):
            ids = np.full(one.length, series_id)
            conn.executemany(
                "INSERT INTO points VALUES (?, ?, ?)",
                zip(
                    ids.tolist(), one.timestamps_ns.tolist(), one.values_array.tolist(), strict=True
                ),
            )
        conn.execute("COMMIT")

    seconds = timed(write)
    conn.close()
    return seconds


def duckdb_bulk(path: Path, series: list[MetricSeries]) -> tuple[float, float]:
    """(write seconds, median read ms) for DuckDB's columnar insert from a DataFrame."""
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE points (series_id INTEGER, ts BIGINT, value DOUBLE)")

    def write() -> None:
        frame = pd.DataFrame(
            {
                "series_id": np.repeat(np.arange(len(series), dtype=np.int32), series[0].length),
                "ts": np.concatenate([s.timestamps_ns for s in series]),
                "value": np.concatenate([s.values_array for s in series]),
            }
        )
        con.register("frame", frame)
        con.execute("INSERT INTO points SELECT * FROM frame")
        con.execute("CHECKPOINT")

    seconds = timed(write)
    reads = []
    for i in range(50):
        start = time.perf_counter()
        con.execute(
            "SELECT ts, value FROM points WHERE series_id = ? ORDER BY ts", [i % len(series)]
        ).fetchnumpy()
        reads.append(time.perf_counter() - start)
    con.close()
    return seconds, statistics.median(reads) * 1000


def read_latencies_ms(
    storage: SQLiteStorage, series: list[MetricSeries], reads: int
) -> list[float]:
    """Latency of whole-series reads through the public API, rotating over series."""
    out = []
    for i in range(reads):
        key = series[(i * 7919) % len(series)].key
        start = time.perf_counter()
        got = storage.get_metric_series(*key)
        out.append((time.perf_counter() - start) * 1000)
        if got.length != series[0].length:
            raise SystemExit(f"read {got.length} points of {key}, expected {series[0].length}")
    return out


def run_reader(db: str, node: str) -> int:
    """Child mode: read one series from "go" on stdin until stdin closes; print count,
    median, p99 and max latency (ms) and the distinct lengths seen."""
    storage = SQLiteStorage(db)
    print("ready", flush=True)
    sys.stdin.readline()
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    latencies, lengths = [], set()
    while not done.is_set():
        start = time.perf_counter()
        lengths.add(storage.get_metric_series("bench", "c0", node, "cpu_usage").length)
        latencies.append((time.perf_counter() - start) * 1000)
    storage.close()
    qs = np.percentile(latencies, [50, 99, 100])
    print(len(latencies), *(f"{q:.2f}" for q in qs), *sorted(lengths), flush=True)
    return 0


def line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<52} {value:>16}  {target}")


def verdict(ok: bool) -> str:
    return "(target met)" if ok else "(TARGET MISSED)"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; with --check, exit 1 if a target is missed."""
    args = _parser().parse_args(argv)
    if args.reader:
        return run_reader(args.reader, "n0")
    n_points = args.series * args.points
    print(f"ingest benchmark: {args.series} series x {args.points} points = {n_points:,} points")
    series = make_series(args.series, args.points)
    input_mb = sum(s.timestamps_ns.nbytes + s.values_array.nbytes for s in series) / 2**20
    with tempfile.TemporaryDirectory(prefix="aboutcloud-bench-") as tmp:
        results = _run(Path(tmp), series, args, input_mb)
    if args.check and not all(results):
        return 1
    return 0


@dataclass
class WriteTimes:
    """Seconds per repeat: our pipeline's two steps and SQLite's bulk paths."""

    validate: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    bulk: list[float] = field(default_factory=list)
    unsafe: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    @property
    def pipeline(self) -> list[float]:
        return [v + s for v, s in zip(self.validate, self.store, strict=True)]


def measure_writes(
    tmp: Path, series: list[MetricSeries], repeat: int
) -> tuple[SQLiteStorage, WriteTimes]:
    """Interleave pipeline and bulk runs (fresh files each) so machine noise hits both alike."""
    rows = encoded_rows(series)
    times = WriteTimes()
    storage: SQLiteStorage | None = None
    for run in range(repeat):
        if storage is not None:
            storage.close()
            shutil.rmtree(storage.path.parent)
        folder = tmp / f"run{run}"
        folder.mkdir()
        storage = SQLiteStorage(folder / "aboutcloud.db")
        validate_s, store_s = validate_and_store(storage, series)
        times.validate.append(validate_s)
        times.store.append(store_s)
        times.peak_rss_mb = times.peak_rss_mb or peak_rss_mb()
        times.bulk.append(sqlite_bulk(folder / "bulk.db", rows, durable=True))
        times.unsafe.append(sqlite_bulk(folder / "unsafe.db", rows, durable=False))
        for extra in folder.glob("bulk.db*"):
            extra.unlink()
        for extra in folder.glob("unsafe.db*"):
            extra.unlink()
    assert storage is not None
    return storage, times


def _run(
    tmp: Path, series: list[MetricSeries], args: argparse.Namespace, input_mb: float
) -> list[bool]:
    rss_before = peak_rss_mb()
    storage, times = measure_writes(tmp, series, args.repeat)
    try:
        rate = _report_pipeline(storage, times, len(series) * args.points, rss_before, input_mb)
        ratio = _report_bulk(storage.path.parent, series, times, args)
        median = _report_reads(storage, series, args)
        _report_reingest(storage, series, args)
        _report_streaming(storage, series)
    finally:
        storage.close()
    return [rate >= TARGET_POINTS_PER_S, ratio <= TARGET_RATIO, median <= TARGET_READ_MS]


def _report_pipeline(
    storage: SQLiteStorage, times: WriteTimes, n_points: int, rss_before: float, input_mb: float
) -> float:
    rate = n_points / min(times.pipeline)
    print(f"(a) validate + store into SQLite (embedded default), best of {len(times.store)}")
    line("validate (MetricValidator.validate_batch)", f"{min(times.validate):.3f} s")
    line("store (SQLiteStorage.store_metrics)", f"{min(times.store):.3f} s")
    line("validate + store", f"{rate:,.0f} pts/s", verdict(rate >= TARGET_POINTS_PER_S))
    line("  every run", " ".join(f"{t:.2f}" for t in times.pipeline) + " s")
    rss = f"{rss_before:.0f} -> {times.peak_rss_mb:.0f} MB"
    line("peak RSS (before -> after the first run)", rss, f"(input arrays {input_mb:.0f} MB)")
    db = storage.path
    line("file size (database, WAL)", f"{_mb(db):.1f} MB, {_mb(db.with_suffix('.db-wal')):.1f} MB")
    return rate


def _report_bulk(
    folder: Path, series: list[MetricSeries], times: WriteTimes, args: argparse.Namespace
) -> float:
    pipeline_s, bulk_s, unsafe_s = min(times.pipeline), min(times.bulk), min(times.unsafe)
    per_run = [p / b for p, b in zip(times.pipeline, times.bulk, strict=True)]
    ratio = statistics.median(per_run)
    print(f"(b) the database's own fastest bulk path, same points, best of {len(times.bulk)}")
    line("SQLite executemany of pre-encoded chunks (WAL)", f"{bulk_s:.3f} s")
    line(
        "ratio validate+store / bulk, median of runs",
        f"{ratio:.2f}x",
        verdict(ratio <= TARGET_RATIO),
    )
    line("  ratio in every run (each pair back to back)", " ".join(f"{r:.2f}" for r in per_run))
    line("  ratio of the best times", f"{pipeline_s / bulk_s:.2f}x")
    line(
        "same, journal off + synchronous off (unsafe)",
        f"{unsafe_s:.3f} s",
        f"(ratio of best times {pipeline_s / unsafe_s:.2f}x)",
    )
    n_points = sum(s.length for s in series)
    if args.duckdb:
        duck_s, duck_read = duckdb_bulk(folder / "bulk.duckdb", series)
        line(
            "DuckDB insert from a DataFrame + checkpoint",
            f"{duck_s:.3f} s",
            f"({n_points / duck_s:,.0f} pts/s, read median {duck_read:.2f} ms)",
        )
    if args.rows:
        rows_s = sqlite_rows(folder / "rows.db", series)
        line(
            "SQLite row-per-point executemany (WAL)",
            f"{rows_s:.3f} s",
            f"({n_points / rows_s:,.0f} pts/s)",
        )
    return ratio


def _report_reads(
    storage: SQLiteStorage, series: list[MetricSeries], args: argparse.Namespace
) -> float:
    latencies = read_latencies_ms(storage, series, args.reads)
    median = statistics.median(latencies)
    print(f"(c) read one {args.points}-point series ({args.reads} reads)")
    line("median", f"{median:.3f} ms", verdict(median <= TARGET_READ_MS))
    line("p95", f"{np.percentile(latencies, 95):.3f} ms")
    return median


def _report_reingest(
    storage: SQLiteStorage, series: list[MetricSeries], args: argparse.Namespace
) -> None:
    n_points = sum(s.length for s in series)
    print("(d) re-ingest the same timestamps (merge path)")
    same_s = timed(lambda: storage.store_metrics(series))
    line("identical points again (nothing to rewrite)", f"{n_points / same_s:,.0f} pts/s")
    changed = [s.with_arrays(s.timestamps_ns, s.values_array * 0.5) for s in series]
    reader = _start_reader(storage.path) if args.concurrent_reader else None
    changed_s = timed(lambda: storage.store_metrics(changed))
    line("new values for every point (read, merge, rewrite)", f"{n_points / changed_s:,.0f} pts/s")
    stored = storage.get_stats()["total_points"]
    line(
        "points stored after both",
        f"{stored:,}",
        "(unchanged)" if stored == n_points else "(DUPLICATED)",
    )
    if reader is not None:
        out, _ = reader.communicate(timeout=120)
        count, p50, p99, worst, *lengths = out.split()
        line(
            "reader in another process during the rewrite",
            f"{count} reads",
            f"(median {p50} ms, p99 {p99} ms, max {worst} ms, lengths {lengths})",
        )


def _report_streaming(storage: SQLiteStorage, series: list[MetricSeries], calls: int = 10) -> None:
    """Append one new point to every series per call, the way a scrape loop writes."""
    last = int(series[0].timestamps_ns[-1])
    seconds = []
    for call in range(1, calls + 1):
        ts = np.array([last + call * STEP_NS], dtype=np.int64)
        batch = [s.with_arrays(ts, np.array([50.0])) for s in series]
        start = time.perf_counter()
        storage.store_metrics(batch)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"(e) streaming: one new point for each of {len(series)} series per call ({calls} calls)")
    line("median per call", f"{median * 1000:.1f} ms", f"({len(series) / median:,.0f} pts/s)")


def _mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def _start_reader(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ingest", "--reader", str(db)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()  # "ready": imported and connected
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10_080)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="write runs; the best counts")
    parser.add_argument("--duckdb", action="store_true", help="also time DuckDB's bulk insert")
    parser.add_argument("--rows", action="store_true", help="also time row-per-point SQLite")
    parser.add_argument(
        "--concurrent-reader", action="store_true", help="read from another process during (d)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
