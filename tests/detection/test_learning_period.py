"""The learning period: a new series is heard only after ``warmup_points`` points *and*
``warmup_hours`` of data, and the period silences its scores without changing what it learns."""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError
from tests.detection._series import minutes, noisy

HOUR = 60  # one-minute points


def _with_spikes(n: int, *at: int) -> np.ndarray:
    values = noisy(n, seed=4)
    for i in at:
        values[i] += 40.0
    return values


def test_minute_points_are_silent_for_the_first_twelve_hours() -> None:
    early, late = 6 * HOUR, 14 * HOUR
    values = _with_spikes(16 * HOUR, early)
    scored = StreamingDetector().score(minutes(values.size), values)
    silent = 12 * HOUR + DetectorParams().probe_points  # the probe's points are not modelled
    assert scored.scores[:silent].max() == 0.0
    assert (scored.statistic[: silent - 1] == -1).all()  # named "warmup" downstream
    assert (scored.statistic[silent + 1 :] >= 0).all()
    lone = _with_spikes(16 * HOUR, late)
    assert StreamingDetector().score(minutes(lone.size), lone).scores[late] > 0.5


def test_five_minute_points_wait_for_the_warm_up_points_only() -> None:
    params = DetectorParams()
    first = params.probe_points + params.warmup_points  # 15 h of five-minute points > 12 h
    scored = StreamingDetector().score(minutes(400, every=5), _with_spikes(400, 300))
    assert scored.scores[:first].max() == 0.0
    assert (scored.statistic[first:] >= 0).all()
    assert scored.scores[300] > 0.5


def test_no_learning_hours_hears_a_minute_series_after_its_warm_up_points() -> None:
    values = _with_spikes(16 * HOUR, 6 * HOUR)
    quiet = StreamingDetector().score(minutes(values.size), values)
    heard = StreamingDetector(DetectorParams(warmup_hours=0.0)).score(minutes(values.size), values)
    assert quiet.scores[6 * HOUR] == 0.0
    assert heard.scores[6 * HOUR] > 0.5


def test_the_learning_period_changes_no_state_and_no_later_score() -> None:
    """It only silences: a spike in it is learnt from as an alarm, like any other."""
    values = _with_spikes(16 * HOUR, 5 * HOUR, 9 * HOUR, 14 * HOUR)
    ts = minutes(values.size)
    silenced = StreamingDetector()
    heard = StreamingDetector(DetectorParams(warmup_hours=0.0))
    quiet_scores = silenced.score(ts, values).scores
    loud_scores = heard.score(ts, values).scores
    np.testing.assert_array_equal(silenced.state, heard.state)
    after = 12 * HOUR + DetectorParams().probe_points
    np.testing.assert_array_equal(quiet_scores[after:], loud_scores[after:])
    assert loud_scores[:after].max() > 0.5 and quiet_scores[:after].max() == 0.0


def test_the_period_follows_the_series_own_step() -> None:
    """Hours of data at the typical step, so ten-second scrapes wait twelve hours too."""
    n = 13 * 360  # thirteen hours of ten-second points
    ts = minutes(n) // 6  # ten seconds apart
    ts = ts - ts[0] + minutes(1)[0]
    before, after = 11 * 360, 12 * 360 + 200
    for at in (before, after):
        scored = StreamingDetector().score(ts, _with_spikes(n, at))
        assert bool(scored.scores[at] > 0.5) is (at == after)


def test_negative_learning_hours_rejected() -> None:
    with pytest.raises(ConfigError, match="warmup_hours"):
        DetectorParams(warmup_hours=-1.0)
