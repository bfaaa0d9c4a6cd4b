"""The stuck-value statistic: one exact value repeated for longer than ever before alarms
once (a hung exporter, a frozen sensor), while series whose values often stay put, or
never move at all, stay quiet."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.types import AnomalyKind
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming.detector import STATISTIC_NAMES, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError
from tests.detection._series import minutes, noisy, series

STUCK = STATISTIC_NAMES.index("flat")
N = 3000


def _alarms(values: np.ndarray, params: DetectorParams | None = None) -> np.ndarray:
    """Indices where the stuck-value statistic decided a score of at least 0.5."""
    scored = StreamingDetector(params).score(minutes(values.size), values)
    return np.flatnonzero((scored.statistic == STUCK) & (scored.scores >= 0.5))


def _stuck(values: np.ndarray, start: int, length: int) -> np.ndarray:
    values = values.copy()
    values[start : start + length] = values[start - 1]
    return values


def test_a_value_stuck_in_a_noisy_series_alarms_once_when_its_run_doubles_the_limit() -> None:
    values = _stuck(noisy(N, seed=1), 2000, 300)
    # 20 repeats of values[1999] (twice flat_points) are still allowed; the 21st alarms
    assert _alarms(values).tolist() == [2000 + 20]
    assert _alarms(noisy(N, seed=1)).size == 0


def test_the_engine_reports_a_stuck_value_as_missing_data_with_how_long_it_held() -> None:
    values = _stuck(noisy(N, seed=2), 2000, 300)
    found = [
        r
        for r in DefaultAnomalyEngine().detect(series(values, metadata={"unit": "percent"}))
        if r.engine_metadata["statistic"] == "flat"
    ]
    assert len(found) == 1
    assert found[0].anomaly_kind == AnomalyKind.MISSING_DATA.value
    assert found[0].anomaly_score > 0.5
    value = f"{values[1999]:.1f} %"
    assert f"has reported the same value, {value}, for 21 min (22 samples in a row" in str(
        found[0].explanation
    )


def test_a_series_constant_from_its_start_never_alarms() -> None:
    scored = StreamingDetector().score(minutes(N), np.full(N, 7.0))
    assert scored.scores.max() == 0.0


def test_a_series_that_often_sits_still_alarms_only_on_a_run_twice_its_longest() -> None:
    rng = np.random.default_rng(3)
    values = np.zeros(N)  # 10 busy points, then 40 zeros (39 repeats): its normal
    for start in range(0, N, 50):
        values[start : start + 10] = rng.uniform(5.0, 50.0, 10)
    assert _alarms(values).size == 0
    quiet = values.copy()
    quiet[1500:1510] = 0.0
    quiet[1539] = 1.0  # zeros 1460..1538: 78 repeats, twice the longest, no more
    assert _alarms(quiet).size == 0
    longer = values.copy()
    longer[1500:1510] = 0.0  # zeros 1460..1549: the 79th repeat alarms
    assert _alarms(longer).tolist() == [1460 + 79]


def test_an_alarmed_stuck_stretch_does_not_raise_the_bar_for_the_next() -> None:
    values = _stuck(_stuck(noisy(N, seed=4), 1500, 400), 2500, 30)
    assert _alarms(values).tolist() == [1520, 2520]


def test_rounded_values_repeat_often_but_do_not_alarm_as_stuck() -> None:
    values = np.round(noisy(N, seed=5, noise=0.6))  # ~1 in 4 points repeats the last one
    assert np.mean(values[1:] == values[:-1]) > 0.15
    assert _alarms(values).size == 0


def test_scoring_resumed_inside_a_stuck_stretch_gives_the_same_scores() -> None:
    values = _stuck(noisy(N, seed=6), 2000, 300)
    ts = minutes(N)
    whole = StreamingDetector().score(ts, values).scores
    detector = StreamingDetector()
    first = detector.score(ts[:2010], values[:2010]).scores
    rest = StreamingDetector(state=detector.state).score(ts[2010:], values[2010:]).scores
    assert np.array_equal(np.r_[first, rest], whole)


def test_a_wider_margin_waits_longer() -> None:
    values = _stuck(noisy(N, seed=1), 2000, 300)
    assert _alarms(values, DetectorParams(flat_points=10, flat_margin=2.0)).tolist() == [2030]
    assert _alarms(values, DetectorParams(flat_points=30)).tolist() == [2060]


def test_bad_stuck_knobs_are_refused() -> None:
    with pytest.raises(ConfigError, match="flat_points"):
        DetectorParams(flat_points=0)
    with pytest.raises(ConfigError, match="flat_margin"):
        DetectorParams(flat_margin=0.0)
