"""The stuck-value statistic: on a series that seldom repeats itself, one exact value
repeated for longer than ever before alarms once (a hung exporter, a frozen sensor), while
series whose values often stay put, or never move at all, stay quiet."""

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


def test_the_noise_coming_back_after_a_stuck_day_is_no_second_alarm() -> None:
    values = _stuck(noisy(N, seed=7), 1500, 1440)  # one held value for a day
    scored = StreamingDetector().score(minutes(N), values)
    assert np.flatnonzero(scored.scores[1500:] >= 0.5).tolist() == [20]


def test_stuck_values_are_heard_once_the_series_has_a_long_history() -> None:
    early = _stuck(noisy(N, seed=1), 800, 300)  # the repeat share's memory is 1,000 points
    assert _alarms(early).size == 0
    assert _alarms(early, DetectorParams(alpha_reference=1 / 500)).tolist() == [820]


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


def _on_off() -> np.ndarray:
    """10 busy points, then 40 zeros (39 repeats): a disk that writes now and then."""
    rng = np.random.default_rng(3)
    values = np.zeros(N)
    for start in range(0, N, 50):
        values[start : start + 10] = rng.uniform(5.0, 50.0, 10)
    return values


def test_a_series_that_often_sits_still_is_not_judged_by_its_runs() -> None:
    longer = _on_off()
    longer[1500:1700] = 0.0  # 239 zeros in a row, six times the longest run
    assert _alarms(longer).size == 0


def test_the_share_of_repeats_is_what_leaves_such_a_series_out() -> None:
    allowed = DetectorParams(flat_share=1.0)  # every series judged by its runs
    quiet = _on_off()
    quiet[1500:1510] = 0.0
    quiet[1539] = 1.0  # zeros 1460..1538: 78 repeats, twice the longest, no more
    assert _alarms(quiet, allowed).size == 0
    longer = _on_off()
    longer[1500:1510] = 0.0  # zeros 1460..1549: the 79th repeat alarms
    assert _alarms(longer, allowed).tolist() == [1460 + 79]


def test_repeating_series_and_a_switched_off_statistic_stay_quiet() -> None:
    values = _stuck(noisy(N, seed=1), 2000, 300)
    assert _alarms(values, DetectorParams(flat_share=0.0)).size == 0
    hold = np.repeat(noisy(N // 5 + 1, seed=2), 5)[:N]  # an exporter updating every 5th scrape
    assert _alarms(_stuck(hold, 2000, 300)).size == 0


def test_a_stuck_stretch_once_over_is_part_of_the_history() -> None:
    first = _stuck(noisy(N, seed=4), 1200, 30)
    assert _alarms(first).tolist() == [1220]
    again = _stuck(first, 2000, 50)  # 50 repeats: no more than twice the first's 30
    assert _alarms(again).tolist() == [1220]
    longer = _stuck(first, 2000, 100)  # 100 repeats: the 61st alarms
    assert _alarms(longer).tolist() == [1220, 1999 + 61]


def test_a_long_stuck_stretch_makes_the_series_one_that_repeats_itself_for_a_while() -> None:
    values = _stuck(_stuck(noisy(N, seed=4), 1200, 300), 2000, 700)
    # 300 repeats in ~1,000 points of memory: a quarter of the points now repeat
    assert _alarms(values).tolist() == [1220]


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
    with pytest.raises(ConfigError, match="flat_share"):
        DetectorParams(flat_share=1.5)
