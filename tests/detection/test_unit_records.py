"""The record gate in the series' own units (``unit_records``).

A series that bursts now and then and goes quiet in between: over the quiet spell the
residual scale narrows, so the same burst comes back as a far larger multiple of it. In
residual scales it is a new record; in the series' units it is one it has shown before.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import DetectorParams

BURST = 30.0
FIRST_BURST = 600
EVERY = 97
CALM_FROM = 3_000


def _bursty_then_calm(
    quiet: int, seed: int, last: float = BURST
) -> tuple[np.ndarray, np.ndarray, int]:
    """Unit noise with 3-point bursts of ``BURST`` every 97 points, then ``quiet`` points of
    noise a quarter as large, then one more burst of ``last``; returns its first index."""
    rng = np.random.default_rng(seed)
    n = CALM_FROM + quiet
    values = rng.normal(0.0, 1.0, n)
    values[CALM_FROM:] *= 0.25
    for start in range(FIRST_BURST, CALM_FROM, EVERY):
        values[start : start + 3] += BURST
    burst = n - 10
    values[burst : burst + 3] += last
    timestamps = (np.arange(n, dtype=np.int64) + 1_600_000_000) * 300 * 10**9
    return timestamps, values, burst


def _scores(
    unit_records: bool, timestamps: np.ndarray, values: np.ndarray, linear: bool = True
) -> np.ndarray:
    params = DetectorParams(unit_records=unit_records, seasonal=False, linear_records=linear)
    return np.asarray(StreamingDetector(params).score(timestamps, values).raw_scores)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_burst_of_a_size_shown_before_is_no_new_record_after_a_quiet_spell(seed: int) -> None:
    timestamps, values, burst = _bursty_then_calm(400, seed)
    before = _scores(False, timestamps, values)[burst : burst + 3]
    after = _scores(True, timestamps, values)[burst : burst + 3]
    assert before.max() >= 0.9  # in scales the calm made it a record many times over
    assert after.max() < 0.3  # in the series' units it is one more burst of the usual size


@pytest.mark.parametrize("seed", [0, 1])
def test_a_burst_larger_in_the_series_units_still_alarms(seed: int) -> None:
    timestamps, values, burst = _bursty_then_calm(400, seed, last=2 * BURST)
    assert _scores(True, timestamps, values)[burst : burst + 3].max() >= 0.7


def test_the_records_are_forgotten_with_the_calibrators_memory() -> None:
    """Over 2,000 quiet points (longer than the calibrators remember) nothing came near the
    bursts: on the modelled scale (``linear_records=False``) the burst's onset is judged as
    without the records in the series' units. (Its next points differ: the records in the
    series' units take in the alarming onset, the calibrators only up to the alarm edge;
    and the bursty stretch alarmed at other points with and without them, so the faded
    calibrators still differ in the eighth digit.)"""
    timestamps, values, burst = _bursty_then_calm(2_000, 0)
    with_units = _scores(True, timestamps, values, linear=False)[burst]
    without = _scores(False, timestamps, values)[burst]
    assert with_units == pytest.approx(without, abs=1e-6)
    assert with_units >= 0.5


def test_forgotten_linear_records_start_again_from_the_quiet_spell() -> None:
    """In linear units the forgotten records start again from the quiet spell's residuals,
    so the burst, forty times the largest of them, is news again."""
    timestamps, values, burst = _bursty_then_calm(2_000, 0)
    detector = StreamingDetector(DetectorParams(seasonal=False))
    detector.score(timestamps[:burst], values[:burst])
    record_up = detector.state[ly.I_UNIT_RECORD + ly.UNIT_RECORD_STATS.index(ly.S_POINT_UP)]
    assert 0.0 < record_up < 2.0  # quiet noise of a quarter, not the bursts of 30
    assert _scores(True, timestamps, values)[burst : burst + 3].max() >= 0.5


def test_the_records_follow_the_largest_residual_in_the_series_units() -> None:
    timestamps, values, _ = _bursty_then_calm(400, 0)
    detector = StreamingDetector(DetectorParams(seasonal=False))
    detector.score(timestamps[:CALM_FROM], values[:CALM_FROM])
    record_up = detector.state[ly.I_UNIT_RECORD + ly.UNIT_RECORD_STATS.index(ly.S_POINT_UP)]
    assert BURST - 4.0 < record_up < BURST + 4.0  # a burst over the level, noise of 1
    record_pair = detector.state[ly.I_UNIT_RECORD + ly.UNIT_RECORD_STATS.index(ly.S_PAIR)]
    assert 0.0 < record_pair <= record_up  # the smaller of two successive residuals


def test_the_band_moves_out_with_the_record_in_the_series_units() -> None:
    """Where one point alone would alarm (the band) takes the record in the units in: after
    the calm it lies further out than the records in scales alone put it. (An early spike
    of 100 keeps the value's novelty from being the nearer edge.)"""
    timestamps, values, burst = _bursty_then_calm(400, 0)
    values[200] += 100.0
    reach = {}
    for units in (True, False):
        params = DetectorParams(seasonal=False, unit_records=units)
        scored = StreamingDetector(params).score(timestamps, values)
        reach[units] = scored.upper[burst] - scored.expected[burst]
    assert reach[True] > reach[False] + BURST
    assert reach[True] > BURST
