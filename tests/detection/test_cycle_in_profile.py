"""The daily profile learns the daily cycle itself (``cycle_in_profile``).

Learnt from the residual alone, the profile and the fast level are two names for one thing:
the level follows a daily cycle within the hour, so the residual holds only its lag, and the
profile learnt that lag (the wrong phase) or, over months, wandered without bound while the
level made up the difference. Anchored to the day level, the profile holds the cycle and the
level stays near the day's mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.detection.streaming.seasonal import DAY_SECONDS

STEP_S = 300


def _run(values: np.ndarray, **params: float) -> tuple[np.ndarray, ScoredSeries]:
    ts = np.arange(values.size, dtype=np.int64) * STEP_S * 10**9
    detector = StreamingDetector(DetectorParams(compress=0.0, **params))
    scored = detector.score(ts, values)
    return detector.state, scored


def _daily_cycle(days: int, amplitude: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Values with a sine daily cycle and unit noise, and the cycle at each hour's centre."""
    t = np.arange(days * int(DAY_SECONDS) // STEP_S) * STEP_S
    noise = np.random.default_rng(seed).normal(0.0, 1.0, t.size)
    values = 50.0 + amplitude * np.sin(2.0 * np.pi * t / DAY_SECONDS) + noise
    hours = (np.arange(ly.N_DAY_BINS) + 0.5) / ly.N_DAY_BINS
    return values, amplitude * np.sin(2.0 * np.pi * hours)


def _profile(state: np.ndarray) -> np.ndarray:
    return state[ly.I_DAY : ly.I_DAY + ly.N_DAY_BINS]


def test_the_profile_holds_the_daily_cycle() -> None:
    values, cycle = _daily_cycle(14, 10.0)
    state, _ = _run(values)
    profile = _profile(state)
    assert np.corrcoef(profile, cycle)[0, 1] > 0.95
    assert np.ptp(profile) > 0.75 * np.ptp(cycle)


def test_learnt_from_the_residual_alone_it_held_the_levels_lag_instead() -> None:
    values, cycle = _daily_cycle(14, 10.0)
    state, _ = _run(values, cycle_in_profile=False)
    profile = _profile(state)
    assert np.corrcoef(profile, cycle)[0, 1] < 0.5
    assert np.ptp(profile) < 0.5 * np.ptp(cycle)


def test_the_level_no_longer_swings_with_the_cycle() -> None:
    values, _ = _daily_cycle(14, 10.0)
    day = int(DAY_SECONDS) // STEP_S
    swings = {}
    for on in (True, False):
        detector = StreamingDetector(DetectorParams(compress=0.0, cycle_in_profile=on))
        ts = np.arange(values.size, dtype=np.int64) * STEP_S * 10**9
        levels = []
        for start in range(0, values.size, day // 8):  # the level eight times a day
            detector.score(ts[start : start + day // 8], values[start : start + day // 8])
            levels.append(detector.state[ly.I_LEVEL])
        swings[on] = np.ptp(levels[-16:])  # over the last two days
    assert swings[True] < 0.3 * swings[False]


@pytest.mark.parametrize("on", [True, False])
def test_the_profile_stays_bounded_on_white_noise(on: bool) -> None:
    """200,000 points (almost two years at 5 minutes) of pure noise: nothing to learn."""
    values = 50.0 + np.random.default_rng(3).normal(0.0, 1.0, 200_000)
    state, scored = _run(values, cycle_in_profile=on)
    spread = np.ptp(_profile(state))
    if on:
        assert spread < 1.0  # a fraction of the noise
        assert int((scored.raw_scores >= 0.5).sum()) <= 3
    else:  # the residual-only profile and the level traded an ever larger pattern
        assert spread > 100.0
