"""The point residuals' records in the series' linear units (``linear_records``).

A non-negative gauge is modelled on a compressed (log-like) scale, where the same burst of
+10 is a larger step above a base of 0.3 than above a base of 1. Bursts of errors, IO or
traffic add to the base rather than multiply it, so in the series' own units the burst is
one it has shown before, and the record gate should say so.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams

BURST = 10.0
DROP_AT = 2_000  # the base falls from 1 to 0.3 here
FIRST_LOW_BURST = 2_050
N = 3_000


def _bursts_on_a_falling_base(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Light multiplicative noise on a base of 1, then 0.3, with a burst of +10 every 250
    points."""
    rng = np.random.default_rng(seed)
    base = np.where(np.arange(N) < DROP_AT, 1.0, 0.3)
    values = base * rng.gamma(16.0, 1.0 / 16.0, N)
    values[300::250] += BURST
    timestamps = (np.arange(N, dtype=np.int64) + 1_600_000_000) * 300 * 10**9
    return timestamps, values


def _scored(seed: int, linear: bool) -> ScoredSeries:
    timestamps, values = _bursts_on_a_falling_base(seed)
    params = DetectorParams(seasonal=False, linear_records=linear)
    return StreamingDetector(params).score(timestamps, values)


def test_the_point_record_is_kept_in_the_series_units() -> None:
    timestamps, values = _bursts_on_a_falling_base(0)
    records = {}
    for linear in (True, False):
        detector = StreamingDetector(DetectorParams(seasonal=False, linear_records=linear))
        detector.score(timestamps[:DROP_AT], values[:DROP_AT])
        records[linear] = detector.state[ly.I_UNIT_RECORD + ly.UNIT_RECORD_OF[ly.S_POINT_UP]]
    assert BURST - 1.5 < records[True] < BURST + 1.5  # a burst of 10 over a base near 1
    assert records[False] < 4.0  # on the compressed scale: about log(11)


@pytest.mark.parametrize("seed", [0, 2])
def test_a_burst_shown_before_is_no_new_record_at_a_lower_base(seed: int) -> None:
    linear = _scored(seed, True)
    modelled = _scored(seed, False)
    record_p_score = linear.raw_scores[FIRST_LOW_BURST]
    # in the series' units it is the usual burst: capped as one seen before
    assert record_p_score < 0.23
    # on the compressed scale the same +10 over the lower base looked like a new record
    assert modelled.raw_scores[FIRST_LOW_BURST] > record_p_score + 0.02


def test_the_band_holds_where_one_point_alone_alarms() -> None:
    """A value just beyond the upper band alarms, one just inside does not (the band reads
    the gate in linear units, taken back to the compressed scale)."""
    timestamps, values = _bursts_on_a_falling_base(1)
    at = 2_700
    detector = StreamingDetector(DetectorParams(seasonal=False))
    detector.score(timestamps[:at], values[:at])
    state = detector.state
    probe = StreamingDetector(DetectorParams(seasonal=False), state=state)
    upper = probe.score(timestamps[at : at + 1], values[at : at + 1]).upper[0]
    for factor, alarms in ((1.03, True), (0.97, False)):
        trial = StreamingDetector(DetectorParams(seasonal=False), state=state)
        scored = trial.score(timestamps[at : at + 1], np.array([upper * factor]))
        assert bool(scored.raw_scores[0] >= 0.5) is alarms, (factor, scored.raw_scores[0])
