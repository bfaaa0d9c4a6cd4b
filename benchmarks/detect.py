"""Benchmark: speed of the default engine, and Merlion's DefaultDetector for comparison.

Figures printed:
- history mode: points/s scoring stored series (``StreamingDetector.score`` over whole
  series, one core); target ≥ 2,000,000. The pass runs ``--repeat`` times (3) and the
  median is judged, with every run printed: on a shared virtual machine one pass can vary
  by ±20 % from the next;
- streaming mode: points/s for a bank of ``--bank-series`` series (100,000 by default)
  receiving one new point each per tick; target ≥ 500,000;
- state size per series in bytes (target ≤ 4,096);
- Merlion DefaultDetector on ``--merlion-files`` NAB files (trained on the first half of each,
  scoring the second half in 60-point chunks), if ``import merlion`` works, and the ratio.

Run with ``python -m benchmarks detect [options]``. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from backend.detection.state import STATE_BYTES
from backend.detection.streaming.detector import DetectorBank, StreamingDetector

HISTORY_TARGET = 2_000_000
STREAM_TARGET = 500_000
STATE_TARGET = 4096
NAB_DIR = Path(os.environ.get("ABOUTCLOUD_NAB_DIR", "/work/shared/data/nab"))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.detect", description=__doc__)
    parser.add_argument("--history-series", type=int, default=200)
    parser.add_argument("--history-points", type=int, default=10_000)
    parser.add_argument("--bank-series", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--merlion-files", type=int, default=2)
    parser.add_argument("--no-merlion", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="history passes; the median is judged against the target (shared machines vary)",
    )
    return parser.parse_args(argv)


def _synthetic(
    rng: np.random.Generator, n_series: int, n_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy daily cycles at 1-minute steps, a few spikes: representative work for the kernel."""
    t = np.arange(n_points, dtype=np.int64) * 60_000_000_000 + 1_700_000_000_000_000_000
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    day = np.sin(2 * np.pi * np.arange(n_points) / 1440.0 + phase)
    values = 50 + 10 * day + rng.normal(0, 2, size=(n_series, n_points))
    values[rng.random(values.shape) < 0.001] += 40
    return t, values


def history_rate(t: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(wall, CPU) points per second scoring whole stored series one after another.

    The kernel is single-threaded, so the CPU-time rate is the one-core throughput even
    when other processes share the machine; the wall-clock rate is printed beside it.
    """
    StreamingDetector().score(t[:200], values[0, :200])  # compile outside the timing
    wall, cpu = time.perf_counter(), time.process_time()
    for row in values:
        StreamingDetector().score(t, row)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return values.size / wall, values.size / cpu


def stream_rate(n_series: int, ticks: int, rng: np.random.Generator) -> float:
    """Points per second for a bank where every series gets one point per tick.

    Every series starts from the state of one series that has already seen 400 points, so
    the timed ticks are past the warm-up (full scoring work, not the cheap cold start).
    """
    t0 = 1_700_000_000_000_000_000
    warm = StreamingDetector()
    warm.score(t0 + np.arange(400, dtype=np.int64) * 60_000_000_000, 50 + rng.normal(0, 1, 400))
    bank = DetectorBank(n_series)
    bank.states[:] = warm.state
    rows = np.arange(n_series)
    base = rng.normal(50, 5, size=n_series)
    bank.update(rows[:1], np.array([t0]), base[:1])  # compile outside the timing
    started = time.perf_counter()
    for tick in range(ticks):
        stamp = np.full(n_series, t0 + (401 + tick) * 60_000_000_000)
        bank.update(rows, stamp, base + rng.normal(0, 1, size=n_series))
    return n_series * ticks / (time.perf_counter() - started)


def _nab_files(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from backend.evaluation.corpus import read_series_csv

    paths = sorted((NAB_DIR / "data").glob("*/*.csv"))[:count]
    return [read_series_csv(path) for path in paths]


def merlion_rate(files: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """Points/s of Merlion's DefaultDetector (train first half, score second half)."""
    try:
        import pandas as pd
        from merlion.models.defaults import DefaultDetector, DefaultDetectorConfig
        from merlion.utils import TimeSeries
    except ImportError:
        return None
    os.environ.setdefault("JAVA_TOOL_OPTIONS", "-Xmx512m")
    from backend.analytics.merlion_engine import quiet_granularity_notice, shutdown_jvm

    quiet_granularity_notice()  # one line per model: noise between the figures

    points, seconds = 0, 0.0
    with warnings.catch_warnings():
        # Merlion's ETS indexes a pandas Series by position (a FutureWarning per model):
        # noise between the figures, not a fault of the run
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"merlion\.")
        try:
            for ts_ns, values in files:
                frame = pd.Series(values, index=pd.to_datetime(ts_ns), name="value")
                half = len(frame) // 2
                started = time.perf_counter()
                model = DefaultDetector(DefaultDetectorConfig())
                model.train(TimeSeries.from_pd(frame.iloc[:half]))
                for lo in range(half, len(frame), 60):
                    prev = TimeSeries.from_pd(frame.iloc[max(0, lo - 288) : lo])
                    model.get_anomaly_label(
                        TimeSeries.from_pd(frame.iloc[lo : lo + 60]), time_series_prev=prev
                    )
                seconds += time.perf_counter() - started
                points += len(frame)
        finally:
            shutdown_jvm()  # RandomCutForest's JVM outlives the model otherwise
    return points / seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a target is missed."""
    args = _parse(argv)
    rng = np.random.default_rng(args.seed)
    t, values = _synthetic(rng, args.history_series, args.history_points)
    runs = [history_rate(t, values) for _ in range(max(args.repeat, 1))]
    history = float(np.median([cpu for _, cpu in runs]))
    history_wall = float(np.median([wall for wall, _ in runs]))
    each = ", ".join(f"{cpu:,.0f}" for _, cpu in runs)
    print(
        f"history mode: {values.size:,} points, median {history:,.0f} points/s on one core "
        f"(CPU time; {history_wall:,.0f} wall-clock; runs: {each}) (target {HISTORY_TARGET:,})"
    )
    stream = stream_rate(args.bank_series, args.ticks, rng)
    print(
        f"streaming mode: {args.bank_series:,} series x {args.ticks} ticks, "
        f"{stream:,.0f} points/s wall-clock (target {STREAM_TARGET:,})"
    )
    print(f"state: {STATE_BYTES:,} bytes per series (target <= {STATE_TARGET:,})")
    if not args.no_merlion and NAB_DIR.is_dir():
        files = _nab_files(args.merlion_files)
        ours = history_rate_files(files)
        theirs = merlion_rate(files)
        if theirs is None:
            print("merlion: not installed (pip install 'aboutcloud[merlion]')")
        else:
            print(
                f"same {len(files)} NAB files: default {ours:,.0f} points/s, Merlion "
                f"DefaultDetector {theirs:,.0f} points/s, ratio {ours / theirs:,.0f}x"
            )
    missed = history < HISTORY_TARGET or stream < STREAM_TARGET or STATE_BYTES > STATE_TARGET
    return 1 if missed else 0


def history_rate_files(files: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Points per second of the default detector over the given stored series."""
    StreamingDetector().score(files[0][0][:200], files[0][1][:200])
    started = time.perf_counter()
    for ts_ns, values in files:
        StreamingDetector().score(ts_ns, values)
    return sum(v.size for _, v in files) / (time.perf_counter() - started)


if __name__ == "__main__":
    raise SystemExit(main())
