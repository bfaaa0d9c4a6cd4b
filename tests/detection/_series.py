"""Small synthetic series shared by the detection tests (each test builds its own copy)."""

from __future__ import annotations

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey

MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9  # 2024-01-01 00:00 UTC


def noisy(n: int = 600, seed: int = 0, level: float = 50.0, noise: float = 1.0) -> np.ndarray:
    """A noisy series with a gentle daily-ish wave."""
    rng = np.random.default_rng(seed)
    return level + 3 * np.sin(np.arange(n) / 60.0) + rng.normal(0, noise, n)


def minutes(n: int, every: int = 1) -> np.ndarray:
    """``n`` timestamps ``every`` minutes apart."""
    return START_NS + np.arange(n, dtype=np.int64) * (every * MINUTE_NS)


def series(
    values: np.ndarray,
    ts: np.ndarray | None = None,
    metric: str = "cpu_usage",
    metadata: dict | None = None,
) -> MetricSeries:
    """Wrap arrays as a MetricSeries of one test node."""
    ts = minutes(values.shape[0]) if ts is None else ts
    return MetricSeries.from_arrays(SeriesKey("t1", "c1", "n1", metric), ts, values, metadata)


LEAK_DAYS = 5
RESTART = 4 * 1440 + 600  # 10:00 on the fifth day


def leak_then_restart(
    amount: float = 35.0, hours: int = 8, seed: int = 3, noise: float = 0.8, left: float = 0.0
) -> MetricSeries:
    """Five days of memory at 40-44 % on a daily cycle (one-minute points); on the last, it
    leaks ``amount`` over ``hours`` and a restart at 10:00 frees all of it but ``left``."""
    n = LEAK_DAYS * 1440
    rng = np.random.default_rng(seed)
    day = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / 1440)
    values = 40.0 + 4.0 * day + rng.normal(0.0, noise, n)
    values[RESTART - hours * 60 : RESTART] += np.linspace(0.0, amount, hours * 60)
    values[RESTART:] += left
    return series(values, metric="memory_used", metadata={"unit": "%"})
