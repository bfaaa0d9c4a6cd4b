"""What an alarming point teaches the detector (``anomaly_clip``, ``anomaly_record_points``).

One glitch must not hide the next real spike for days. The calibrators count an alarming
point no farther out than where it would alarm, and, when asked, a record raised during an
alarm is forgotten unless a normal point comes near it.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

GLITCH_AT = 3_000
N = 4_000
SPIKE = 200.0  # 30 sigma above CPU of 50 +- 5


def _cpu_with_glitch_then_spike(seed: int, glitch: float, distance: int) -> np.ndarray:
    """CPU of 50 +- 5 (5-minute samples) with one glitch, then a spike ``distance`` later."""
    values = 50.0 + np.random.default_rng(seed).normal(0.0, 5.0, N)
    values[GLITCH_AT] = glitch
    values[GLITCH_AT + distance] = SPIKE
    return values


def _spike_score(values: np.ndarray, distance: int, **knobs: float) -> float:
    timestamps = (np.arange(N, dtype=np.int64) + 1_600_000_000) * 300 * 10**9
    scored = StreamingDetector(DetectorParams(**knobs)).score(timestamps, values)
    return float(scored.raw_scores[GLITCH_AT + distance])


def _alarms(glitch: float, distance: int, **knobs: float) -> int:
    """Of eight noise draws, how many alarm on the spike."""
    return sum(
        _spike_score(_cpu_with_glitch_then_spike(seed, glitch, distance), distance, **knobs) >= 0.5
        for seed in range(8)
    )


def test_a_clipped_glitch_does_not_widen_the_tail_for_a_later_spike() -> None:
    # four hours after a glitch of 120 (14 sigma) the spike to 200 alarms in most draws
    assert _alarms(120.0, 50) >= 6
    # counted where it lay, the glitch's excess had widened the point statistic's tail
    assert _alarms(120.0, 50, anomaly_clip=False) <= 2


def test_a_glitchs_record_is_forgotten_when_asked() -> None:
    # by default a glitch of 500 is a burst the series has shown: half a day later the
    # spike to 200 is capped as a smaller one in every draw
    assert _alarms(500.0, 144) == 0
    # with records raised in an alarm forgotten, it is judged against the normal points
    assert _alarms(500.0, 144, anomaly_record_points=1.0) >= 6


def test_until_the_first_alarm_neither_knob_changes_a_score() -> None:
    values = 50.0 + np.random.default_rng(5).normal(0.0, 5.0, N)
    values[GLITCH_AT] = 500.0
    timestamps = (np.arange(N, dtype=np.int64) + 1_600_000_000) * 300 * 10**9
    plain = StreamingDetector(DetectorParams(anomaly_clip=False)).score(timestamps, values)
    first = int(np.argmax(plain.raw_scores >= 0.5))
    assert 200 < first <= GLITCH_AT  # the warm-up is over, and the glitch alarms at the latest
    for knobs in ({}, {"anomaly_record_points": 1.0}):
        scored = StreamingDetector(DetectorParams(**knobs)).score(timestamps, values)
        np.testing.assert_array_equal(scored.raw_scores[: first + 1], plain.raw_scores[: first + 1])


def test_a_negative_anomaly_record_memory_is_rejected() -> None:
    with pytest.raises(ConfigError, match="anomaly_record_points"):
        DetectorParams(anomaly_record_points=-1.0)
