"""Fuzz the compiled kernel with extreme inputs; run with ``NUMBA_BOUNDSCHECK=1``.

The kernel is compiled without bounds checks, so an index computed from an overflowed value
writes outside its arrays silently (the heap corruption fixed in the calibrators' histogram).
With numba's bounds checks switched on by the environment, any such access raises an
``IndexError`` instead. ``python -m tests.detection._kernel_fuzz N`` scores N random shapes
(values near the float limit mixed into noise, bursts, zeros, counters and cycles; regular,
jittered, gappy and second-spaced timestamps) through the history and the bank path and prints
one line per failure, then ``fuzzed R runs, F failures``; it exits 1 on any failure.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from backend.analytics.types import MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming.detector import DetectorBank, StreamingDetector
from backend.errors import ValidationError

FLOAT_MAX = float(np.finfo(np.float64).max)
EXTREMES = np.array(
    [FLOAT_MAX, -FLOAT_MAX, 1e308, -1e308, 1e300, -1e300, 1e155, -1e155, 0.0, 1e-308, 5e-324, 1e9]
)
METRICS = ("cpu_usage", "requests_total", "latency", "x")
BANK_POINTS = 300  # the bank path advances one point per call: only short shapes take it


def _timestamps(rng: np.random.Generator, n: int, mode: int) -> np.ndarray:
    steps = (
        np.full(n, 60),
        rng.integers(1, 600, n),
        np.where(rng.random(n) < 0.01, 86_400 * rng.integers(1, 400, n), 60),
        rng.integers(1, 3, n),
    )[mode]
    return 1_700_000_000 + np.cumsum(steps)


def _base(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    return (
        rng.normal(50.0, 5.0, n),
        np.abs(rng.standard_cauchy(n)) * 10.0,
        np.zeros(n),
        np.cumsum(rng.integers(0, 50, n)).astype(float),
        50.0 + 10.0 * np.sin(np.arange(n) / 40.0),
    )[kind]


def _score(series: MetricSeries, base: np.ndarray) -> None:
    """Score one series as history, and (short ones) through a bank beside a clean series."""
    engine = DefaultAnomalyEngine()
    engine.validate_input(series)
    params = engine.params_for(series)
    scores = StreamingDetector(params).score(series.timestamps_ns, series.values_array).scores
    if not np.all((scores >= 0.0) & (scores <= 1.0)):
        raise AssertionError("scores outside [0, 1]")
    if series.length <= BANK_POINTS:
        bank = DetectorBank(2, params)
        for i in range(series.length):
            values = np.array([series.values_array[i], base[i]])
            bank.update(np.arange(2), np.full(2, series.timestamps_ns[i]), values)


def fuzz(shapes: int) -> tuple[int, list[str]]:
    """(runs, failures) over ``shapes`` random shapes, each as every metric it is valid for."""
    runs, failures = 0, []
    for seed in range(shapes):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 1500))
        base = _base(rng, n, seed % 5)
        mixed = rng.random(n) < rng.choice([0.0, 0.001, 0.01, 0.1, 0.5, 1.0])
        values = np.where(mixed, rng.choice(EXTREMES, n), base)
        ts = _timestamps(rng, n, seed % 4)
        for metric in METRICS:
            series = MetricSeries("t", "c", "n", metric, ts, values)
            try:
                _score(series, base)
            except ValidationError:
                continue  # e.g. a counter with negative values: rejected before the kernel
            except Exception as error:  # every other failure is reported
                failures.append(f"seed {seed} {metric} ({n} points): {error!r}")
            runs += 1
    return runs, failures


def main(argv: list[str]) -> int:
    if os.environ.get("NUMBA_BOUNDSCHECK") != "1":
        print("set NUMBA_BOUNDSCHECK=1 (and a fresh NUMBA_CACHE_DIR) so accesses are checked")
        return 2
    warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notes on such values
    runs, failures = fuzz(int(argv[0]) if argv else 100)
    for failure in failures:
        print(failure)
    print(f"fuzzed {runs} runs, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
