"""The guard against values far beyond anything a series has shown (``far_ranges``).

The calibrated statistics read a non-negative gauge on a log-like (asinh) scale. An idle
CPU that bursts twentyfold now and then holds such ratios as usual there, so a jump to
100 % used to score about 0.4: the guard judges the value in the series' own units.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming.detector import STATISTIC_NAMES, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

N = 3000
STEP_NS = 300 * 10**9


def _idle_cpu(seed: int = 0) -> np.ndarray:
    """CPU idling at ~0.07 % in quantised steps, with a burst to ~1.5 % every ~100 points."""
    rng = np.random.default_rng(seed)
    values = rng.choice([0.066, 0.068, 0.132], size=N, p=[0.6, 0.3, 0.1])
    bursts = rng.choice(N, size=N // 100, replace=False)
    values[bursts] = rng.uniform(0.8, 1.6, size=bursts.size)
    return values


def _scores(values: np.ndarray, **params: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.arange(values.size, dtype=np.int64) * STEP_NS
    scored = StreamingDetector(DetectorParams(**params)).score(ts, values)
    return scored.raw_scores, scored.upper, scored.statistic


def test_an_idle_cpu_jumping_far_beyond_its_bursts_alarms() -> None:
    values = _idle_cpu()
    at = 2500
    values[at] = 20.0  # 13 times its largest burst
    raw, _, statistic = _scores(values)
    assert raw[at] >= 0.5
    assert STATISTIC_NAMES[int(statistic[at])] == "novel_value"
    off, _, _ = _scores(values, far_ranges=0.0)
    assert off[at] < 0.5  # what the guard is for: the log-like scale alone does not alarm


def test_the_guard_grows_with_the_distance() -> None:
    at = 2500
    scores = []
    for jump in (20.0, 100.0, 1000.0):
        values = _idle_cpu()
        values[at] = jump
        scores.append(_scores(values)[0][at])
    assert scores[0] < scores[1] < scores[2] == 1.0


def test_values_within_the_series_own_bursts_do_not_trip_it() -> None:
    values = _idle_cpu(seed=1)
    raw, _, _ = _scores(values)
    without, _, _ = _scores(values, far_ranges=0.0)
    np.testing.assert_array_equal(raw, without)


def test_the_band_stays_within_the_guard() -> None:
    values = _idle_cpu(seed=2)
    _, upper, _ = _scores(values)
    settled = slice(200, None)
    record = np.maximum.accumulate(values)[:-1]
    floor = np.minimum.accumulate(values)[:-1]
    reach = record + 10.0 * (record - floor)
    assert (upper[1:][settled] <= reach[settled] + 1e-9).all()
    _, wide, _ = _scores(values, far_ranges=0.0)
    assert (wide[1:][settled] > reach[settled]).any()  # without it the band ran far beyond


def test_a_point_just_beyond_the_guard_edge_alarms() -> None:
    values = _idle_cpu(seed=3)
    at = 2400
    record, floor = values[:at].max(), values[:at].min()
    values[at] = record + 10.0 * (record - floor) * 1.01
    raw, _, _ = _scores(values)
    assert raw[at] >= 0.5


def test_counters_are_judged_by_their_rate() -> None:
    rng = np.random.default_rng(4)
    rate = rng.uniform(9.0, 11.0, N)
    at = 2500
    rate[at] = 10.0 * 25  # a burst 25 times the usual rate for one step
    series = MetricSeries.from_arrays(
        ("t", "c", "n", "requests_total"),
        np.arange(N, dtype=np.int64) * STEP_NS,
        np.cumsum(rate * 300.0),
    )
    scored = DefaultAnomalyEngine().score_series(series)
    assert scored.raw_scores[at] >= 0.5
    usual = scored.raw_scores[1000:at]
    assert (usual < 0.5).all()


@pytest.mark.parametrize("bad", [-1.0, 0.5, 1.0])
def test_far_ranges_must_be_off_or_above_one(bad: float) -> None:
    with pytest.raises(ConfigError, match="far_ranges"):
        DetectorParams(far_ranges=bad)
