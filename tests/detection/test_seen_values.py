"""Values the series has shown before (``seen_rank``).

The value's novelty is judged against the range of the last few days, which forgets; a value
inside the whole range the series has ever shown had at least one earlier point as extreme,
so it is priced no rarer than the second most extreme of the points at one end or the other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

STEP_NS = 300 * 10**9
NOVELTY = STATISTIC_NAMES.index("novel_value")
ONLY_NOVELTY = 1 << NOVELTY


def _scored(values: np.ndarray, **params: float) -> ScoredSeries:
    ts = np.arange(values.size, dtype=np.int64) * STEP_NS
    return StreamingDetector(DetectorParams(**params)).score(ts, values)


def _floor_score(at: int, params: DetectorParams) -> float:
    """What p = 2 × seen_rank / (points modelled, this one included) scores."""
    modelled = at - params.probe_points + 1
    p = 2.0 * params.seen_rank / modelled
    return -(math.log10(p) + math.log10(8)) / params.log_scale


def _burst_twice(second: float, at: int = 3500, n: int = 4000) -> np.ndarray:
    """Quiet noise with a burst to 65 at point 400 and another to ``second`` at ``at``: by
    then the few-days range of values has long forgotten the first."""
    values = 50.0 + np.random.default_rng(5).normal(0.0, 1.0, n)
    values[400:403] = 65.0
    values[at : at + 3] = second
    return values


def test_a_burst_the_series_showed_before_is_no_new_value() -> None:
    at = 3500
    values = _burst_twice(64.0, at)
    forgetful = _scored(values, stat_mask=ONLY_NOVELTY, seen_rank=0.0)
    assert STATISTIC_NAMES[int(forgetful.statistic[at])] == "novel_value"
    assert forgetful.raw_scores[at] >= 0.5  # the range forgot the first burst
    seen = _scored(values, stat_mask=ONLY_NOVELTY)
    assert seen.raw_scores[at] == pytest.approx(_floor_score(at, DetectorParams()), abs=1e-9)
    assert seen.raw_scores[at] < 0.3


def test_a_value_beyond_everything_seen_keeps_its_novelty() -> None:
    at = 3500
    values = _burst_twice(70.0, at)
    on = _scored(values, stat_mask=ONLY_NOVELTY)
    off = _scored(values, stat_mask=ONLY_NOVELTY, seen_rank=0.0)
    assert on.raw_scores[at] == off.raw_scores[at]
    assert on.raw_scores[at] >= 0.5


def test_only_values_inside_the_seen_range_are_floored() -> None:
    values = _burst_twice(64.0)
    on = _scored(values).raw_scores
    off = _scored(values, seen_rank=0.0).raw_scores
    changed = np.flatnonzero(on != off)
    assert changed.size > 0
    assert (on[changed] < off[changed]).all()  # a floor on p only ever lowers a score
    for i in changed:
        assert values[:i].min() <= values[i] <= values[:i].max()


@pytest.mark.parametrize("seed", [0, 2])
def test_the_band_does_not_claim_seen_values_alarm(seed: int) -> None:
    """Where the novelty's edge lay inside the seen range, the band moves out to that range,
    so a point beyond it still alarms, and one just inside it now does not."""
    values = 50.0 + 2.0 * np.random.default_rng(seed).standard_t(3, 3000)
    values[200:205] = 150.0
    ts = np.arange(values.size, dtype=np.int64) * STEP_NS
    moved = np.flatnonzero(_scored(values).upper != _scored(values, seen_rank=0.0).upper)
    moved = moved[moved > 1000][:: max(moved.size // 5, 1)]
    assert moved.size > 0
    for at in moved:
        detector = StreamingDetector()
        detector.score(ts[:at], values[:at])
        state = detector.state
        probe = StreamingDetector(state=state).score(ts[at : at + 1], values[at : at + 1])
        beyond = probe.upper[0] * 1.01 + 1e-9
        scored = StreamingDetector(state=state).score(ts[at : at + 1], np.array([beyond]))
        assert scored.raw_scores[0] >= 0.5, (at, beyond)
        old = StreamingDetector(DetectorParams(seen_rank=0.0), state=state).score(
            ts[at : at + 1], values[at : at + 1]
        )
        assert old.upper[0] < values[:at].max()
        inside = 0.5 * (old.upper[0] + values[:at].max())  # beyond the old band, seen before
        quiet = StreamingDetector(state=state).score(ts[at : at + 1], np.array([inside]))
        assert quiet.raw_scores[0] < 0.5, (at, inside)


def test_seen_rank_must_not_be_negative() -> None:
    with pytest.raises(ConfigError, match="seen_rank"):
        DetectorParams(seen_rank=-1.0)
