"""Random but detectable anomalies: where each kind goes and how large it is.

Anomalies start after a clean warm-up (``warmup_fraction`` of the series, 30 % by default) so
detectors that learn a baseline first can find them. Sizes are in standard deviations of the
clean series, large enough to stand out (spikes 4–6 σ, shifts and drifts 3–5 σ, seasonal
components of 2–3 σ); missing data removes 1–3 % of the points in one gap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from backend.analytics.types import AnomalyKind, MetricSeries
from backend.simulator.injector import AnomalyInjector, series_std

__all__ = ["ANOMALY_KINDS", "MIN_POINTS_FOR_ANOMALIES", "inject_random"]

ANOMALY_KINDS: tuple[str, ...] = tuple(kind.value for kind in AnomalyKind)
MIN_POINTS_FOR_ANOMALIES = 20

Injected = tuple[MetricSeries, dict[str, Any]]


def inject_random(
    series: MetricSeries, kind: str, rng: np.random.Generator, warmup_fraction: float = 0.3
) -> Injected:
    """Inject one anomaly of ``kind`` at a random place after the warm-up."""
    earliest = max(1, math.ceil(warmup_fraction * series.length))
    return _PLACERS[kind](series, rng, earliest)


def _start(rng: np.random.Generator, earliest: int, latest: int) -> int:
    """A start in [earliest, latest]; the warm-up gives way if the series is too short."""
    return int(rng.integers(min(earliest, latest), latest + 1))


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _spike(series: MetricSeries, rng: np.random.Generator, earliest: int, sign: float) -> Injected:
    duration = int(rng.integers(1, 6))
    start = _start(rng, earliest, series.length - duration)
    return AnomalyInjector.inject_spike(series, start, sign * rng.uniform(4.0, 6.0), duration)


def _level_shift(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    start = _start(rng, earliest, int(0.85 * series.length))
    amount = _sign(rng) * rng.uniform(3.0, 5.0) * series_std(series.values_array)
    return AnomalyInjector.inject_level_shift(series, start, amount)


def _drift(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    start = _start(rng, earliest, int(0.7 * series.length))
    total = _sign(rng) * rng.uniform(3.0, 5.0) * series_std(series.values_array)
    return AnomalyInjector.inject_trend(series, start, total / (series.length - start))


def _missing(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    n = series.length
    length = int(rng.integers(max(2, n // 100), max(3, n // 30) + 1))
    start = _start(rng, earliest, n - length - 1)  # keep a point after the gap
    return AnomalyInjector.inject_missing(series, start, length)


def _seasonal(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    n = series.length
    duration = max(8, int(rng.uniform(0.15, 0.3) * n))
    start = _start(rng, earliest, n - duration)
    period = int(rng.integers(6, max(7, duration // 4) + 1))
    return AnomalyInjector.inject_seasonal_change(
        series, start, period_points=period, amplitude=rng.uniform(2.0, 3.0), duration=duration
    )


_PLACERS: dict[str, Callable[[MetricSeries, np.random.Generator, int], Injected]] = {
    "spike": lambda s, rng, earliest: _spike(s, rng, earliest, 1.0),
    "dip": lambda s, rng, earliest: _spike(s, rng, earliest, -1.0),
    "level_shift": _level_shift,
    "drift": _drift,
    "missing_data": _missing,
    "seasonal": _seasonal,
}
