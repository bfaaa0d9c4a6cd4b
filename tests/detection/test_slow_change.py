"""The slow-change statistics: drifts, sustained volatility changes and new cycles of hours
that the fast baseline follows (and so hides from the point and short-mean statistics) still
alarm, once."""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import STATISTIC_NAMES, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from tests.detection._series import MINUTE_NS

N = 4032
FAST_ONLY = (1 << ly.N_STATS) - 1  # stat_mask without the slow statistics
SLOW_ONLY = (1 << ly.S_SLOW_SHIFT) | (1 << ly.S_SLOW_VOLATILITY) | (1 << ly.S_SLOW_SWING)
SLOW_NAMES = {"slow_shift", "slow_volatility", "slow_swing"}
STEP_NS = 5 * MINUTE_NS


def _timestamps() -> np.ndarray:
    return np.arange(N, dtype=np.int64) * STEP_NS


def _noise(seed: int) -> np.ndarray:
    return 50.0 + np.random.default_rng(seed).normal(0.0, 2.0, N)


def _onsets(scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    hot = scores >= threshold
    return np.flatnonzero(hot & ~np.r_[False, hot[:-1]])


def _drifting(seed: int) -> np.ndarray:
    values = _noise(seed)
    values[2000:3000] += np.linspace(0.0, 30.0, 1000)  # 15 noise sd over 3.5 days, then stays
    values[3000:] += 30.0
    return values


@pytest.mark.parametrize("seed", range(3))
def test_slow_drift_alarms_only_thanks_to_the_slow_statistic(seed: int) -> None:
    values = _drifting(seed)
    fast = StreamingDetector(DetectorParams(stat_mask=FAST_ONLY)).score(_timestamps(), values)
    both = StreamingDetector().score(_timestamps(), values)
    assert fast.scores[2000:].max() < 0.5
    onsets = _onsets(both.scores)
    assert onsets.size >= 1 and onsets.min() >= 2000
    # the day level beyond its range, or the level straying from the day level
    assert STATISTIC_NAMES[int(both.statistic[onsets[0]])] in {"slow_shift", "slow_swing"}


@pytest.mark.parametrize("seed", range(3))
def test_quiet_series_raises_no_slow_alarm(seed: int) -> None:
    scored = StreamingDetector().score(_timestamps(), _noise(seed))
    slow = {STATISTIC_NAMES.index(name) for name in SLOW_NAMES}
    assert not any(int(scored.statistic[i]) in slow for i in _onsets(scored.scores))


@pytest.mark.parametrize("seed", range(3))
def test_sustained_oscillation_alarms(seed: int) -> None:
    values = _noise(seed)
    t = np.arange(2500, 3300)
    values[t] += 8.0 * np.sin(2 * np.pi * t / 12.0)
    scored = StreamingDetector().score(_timestamps(), values)
    onsets = _onsets(scored.scores)
    assert any(2500 <= i < 3300 for i in onsets)


@pytest.mark.parametrize(("period", "seed"), [(96, 0), (144, 1), (240, 2)])
def test_a_new_cycle_of_hours_alarms_through_the_level_swing(period: int, seed: int) -> None:
    values = _noise(seed)
    t = np.arange(2500, 3300)
    values[t] += 6.0 * np.sin(2 * np.pi * (t - 2500) / period)  # 3 noise sd, 8-20 h cycle
    fast = StreamingDetector(DetectorParams(stat_mask=FAST_ONLY)).score(_timestamps(), values)
    scored = StreamingDetector().score(_timestamps(), values)
    assert fast.scores[2500:3300].max() < 0.5  # the fast level follows the cycle
    onsets = _onsets(scored.scores)
    assert onsets.size >= 1 and 2500 <= onsets[0] < 2500 + period
    assert STATISTIC_NAMES[int(scored.statistic[onsets[0]])] == "slow_swing"


def test_level_shift_alarms_once_not_again_and_again() -> None:
    values = _noise(0)
    values[2500:] += 30.0
    scored = StreamingDetector().score(_timestamps(), values)
    onsets = _onsets(scored.scores)
    assert onsets.size >= 1 and 2500 <= onsets[0] <= 2510
    assert onsets.size <= 2  # the change, and at most one late confirmation


@pytest.mark.parametrize(("seed", "ramp"), [(0, 12), (1, 12), (0, 24), (3, 12)])
def test_the_day_level_does_not_echo_a_change_already_alarmed(seed: int, ramp: int) -> None:
    """A fast rise alarms as it happens; the day level, a day-long mean, catches up with it
    over the next day or two and must not report the same change again."""
    values = _noise(seed)
    values[2500 : 2500 + ramp] += np.linspace(0.0, 30.0, ramp)
    values[2500 + ramp :] += 30.0
    scored = StreamingDetector().score(_timestamps(), values)
    onsets = _onsets(scored.scores)
    assert onsets.size >= 1 and 2500 <= onsets[0] <= 2500 + ramp + 12
    day_level = STATISTIC_NAMES.index("slow_shift")
    assert not any(int(scored.statistic[i]) == day_level for i in onsets)


def test_slow_statistics_are_not_heard_before_the_references_form() -> None:
    values = _noise(1)
    values[300:] += np.linspace(0.0, 60.0, N - 300)  # drifting from (nearly) the start: usual
    params = DetectorParams(stat_mask=SLOW_ONLY)
    scored = StreamingDetector(params).score(_timestamps(), values)
    forming = int(1.0 / params.alpha_reference) + params.probe_points
    assert scored.scores[:forming].max() == 0.0
    assert scored.scores[forming:].max() < 0.5  # a slope present from the start is the norm


@pytest.mark.parametrize("seed", range(3))
def test_one_outlier_does_not_make_the_next_change_look_usual(seed: int) -> None:
    values = _noise(seed)
    values[2000] += 30.0
    values[2020:] += 60.0
    ts = _timestamps()
    robust = StreamingDetector().score(ts, values)
    naive = StreamingDetector(DetectorParams(anomaly_weight=1.0)).score(ts, values)
    assert robust.scores[2000] >= 0.5
    assert robust.scores[2020] > naive.scores[2020]
    assert robust.upper[2019] < naive.upper[2019]  # the band did not balloon as much


def _cycling(seed: int) -> np.ndarray:
    """14 days at 5 minutes: a daily cycle of ±10 around 50, noise of sd 2."""
    t = np.arange(N)
    return 50.0 + 10.0 * np.sin(2 * np.pi * t / 288) + _noise(seed) - 50.0


@pytest.mark.parametrize("seed", range(3))
def test_a_drift_on_a_cycling_series_is_found_by_the_day_level(seed: int) -> None:
    values = _cycling(seed)
    start = 6 * 288  # day 6, after the day-level range has formed (days 1-3)
    values[start:] += np.linspace(0.0, 12.0, N - start)  # 6 noise sd over 8 days
    scored = StreamingDetector().score(_timestamps(), values)
    onsets = _onsets(scored.scores)
    late = [i for i in onsets if i >= start]
    assert late, "the drift was not found"
    assert STATISTIC_NAMES[int(scored.statistic[late[0]])] == "slow_shift"
    assert not [i for i in onsets if i < start]


@pytest.mark.parametrize("seed", range(3))
def test_a_cycling_series_raises_no_day_level_alarm(seed: int) -> None:
    scored = StreamingDetector().score(_timestamps(), _cycling(seed))
    slow = STATISTIC_NAMES.index("slow_shift")
    assert not any(int(scored.statistic[i]) == slow for i in _onsets(scored.scores))


def test_a_level_shift_is_adopted_as_a_level_not_as_wider_noise() -> None:
    values = _noise(0)
    values[2500:] += 30.0  # 15 noise sd
    detector = StreamingDetector()
    detector.score(_timestamps()[:2500], values[:2500])
    before = float(detector.state[ly.I_SCALE])
    scored = detector.score(_timestamps()[2500:2560], values[2500:2560])
    assert float(detector.state[ly.I_SCALE]) < 1.5 * before
    assert abs(scored.expected[-1] - 80.0) < 2.0
