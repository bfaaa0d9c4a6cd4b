"""The band (``lower``/``upper``): where one point alone would start to alarm.

A point beyond it must alarm, and it must stay near the values the series takes even when
the residual's own fitted tail is very wide (the first residuals of a series are read
against a scale still near zero, and count into its tail), because a value far outside
anything seen is still caught as novel.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.streaming.detector import StreamingDetector
from backend.simulator.generator import MetricSimulator, SimulatorConfig

N = 3000
SETTLED = slice(1000, None)


def _simulated(metric: str, seed: int) -> MetricSeries:
    simulator = MetricSimulator(SimulatorConfig(seed=seed, sampling_interval_seconds=300))
    return simulator.generate(
        "t1", "c1", "n1", metric, num_points=N, start_time=dt.datetime(2024, 1, 1)
    )


@pytest.mark.parametrize("seed", range(4))
def test_band_stays_near_the_values_of_a_daily_cycle(seed: int) -> None:
    series = _simulated("cpu_usage", seed)
    values = series.values_array
    scored = StreamingDetector().score(series.timestamps_ns, values)
    spread = np.ptp(values[SETTLED])
    assert (scored.upper[SETTLED] < values[SETTLED].max() + 10.0 * spread).all()
    assert (scored.lower[SETTLED] > values[SETTLED].min() - 10.0 * spread).all()


@pytest.mark.parametrize("seed", range(4))
def test_band_of_a_bursty_series_mostly_near_its_values(seed: int) -> None:
    series = _simulated("error_rate", seed)
    values = series.values_array
    scored = StreamingDetector().score(series.timestamps_ns, values)
    far = values[SETTLED].max() + 10.0 * np.ptp(values[SETTLED])
    assert np.median(scored.upper[SETTLED]) < far


@pytest.mark.parametrize("metric", ["cpu_usage", "error_rate", "network_in"])
@pytest.mark.parametrize("at", [800, 1500, 2500])
def test_a_point_beyond_the_band_alarms(metric: str, at: int) -> None:
    series = _simulated(metric, seed=1)
    ts, values = series.timestamps_ns, series.values_array
    detector = StreamingDetector()
    detector.score(ts[:at], values[:at])
    state = detector.state
    probe = StreamingDetector(state=state).score(ts[at : at + 1], values[at : at + 1])
    edges = [probe.upper[0] * 1.01 + 1e-9]
    if probe.lower[0] > 0.0:
        edges.append(probe.lower[0] * 0.99)
    for edge in edges:
        beyond = StreamingDetector(state=state).score(ts[at : at + 1], np.array([edge]))
        assert beyond.raw_scores[0] >= 0.5, (edge, probe.expected[0])
