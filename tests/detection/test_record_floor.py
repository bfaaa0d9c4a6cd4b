"""The all-time record floor (``record_margin``).

Among ``n`` points whose order tells nothing, the last is the most extreme with probability
1/``n`` at either end, whatever their distribution; the calibrated statistics remember only
a few hundred points, so a new all-time extreme is priced from the whole history here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

STEP_NS = 300 * 10**9


def _scored(values: np.ndarray, **params: float) -> ScoredSeries:
    ts = np.arange(values.size, dtype=np.int64) * STEP_NS
    return StreamingDetector(DetectorParams(**params)).score(ts, values)


def _record_score(points: int, params: DetectorParams) -> float:
    """What p = 2 / points scores, Bonferroni-corrected like every calibrated statistic."""
    return -(math.log10(2.0 / points) + math.log10(8)) / params.log_scale


def _with_record(values: np.ndarray, at: int, margin: float) -> np.ndarray:
    high, low = values[:at].max(), values[:at].min()
    values = values.copy()
    values[at] = high + margin * (high - low)
    return values


def _heavy_tailed(n: int, seed: int = 0) -> np.ndarray:
    return 50.0 + 2.0 * np.random.default_rng(seed).standard_t(3, n)


def test_a_new_all_time_extreme_scores_as_its_exchangeable_p_value() -> None:
    at = 2500
    values = _with_record(_heavy_tailed(3000), at, 0.06)  # just past the 5 % margin
    params = DetectorParams()
    scored = _scored(values)
    # the modelled points so far (after the counter probe), this one included
    modelled = at - params.probe_points + 1
    assert scored.raw_scores[at] == pytest.approx(_record_score(modelled, params), abs=1e-9)
    assert STATISTIC_NAMES[int(scored.statistic[at])] == "novel_value"
    without = _scored(values, record_margin=0.0)
    assert without.raw_scores[at] < scored.raw_scores[at] - 0.02  # the floor lifted it


def test_the_floor_lifts_only_records_by_the_margin() -> None:
    at = 2500
    values = _with_record(_heavy_tailed(3000, seed=1), at, 0.1)
    lifted = np.flatnonzero(
        _scored(values).raw_scores != _scored(values, record_margin=0.0).raw_scores
    )
    assert at in lifted
    beyond = [max(values[i] - values[:i].max(), values[:i].min() - values[i]) for i in lifted]
    beyond = [b / np.ptp(values[:i]) for b, i in zip(beyond, lifted, strict=True)]
    assert min(beyond) >= DetectorParams().record_margin


def test_a_slow_climb_setting_records_by_small_steps_is_not_lifted() -> None:
    rng = np.random.default_rng(2)
    values = np.arange(3000) * 0.01 + rng.normal(0.0, 0.02, 3000)  # records every few points
    np.testing.assert_array_equal(
        _scored(values).raw_scores, _scored(values, record_margin=0.0).raw_scores
    )


def test_a_record_alone_never_reaches_the_alarm_cut() -> None:
    n = 200_000  # p = 2 / n would score 0.51
    # bounded noise: a value 6 % of the range beyond it is no extreme for the calibrated
    # statistics (a Gaussian's record by as much lies ~6 scales out, which they price alone)
    values = 50.0 + np.random.default_rng(3).uniform(-2.0, 2.0, n)
    values = _with_record(values, n - 1, 0.06)
    params = DetectorParams(far_ranges=0.0)
    assert _record_score(n, params) > params.anomaly_cut
    scored = _scored(values, far_ranges=0.0)
    assert scored.raw_scores[-1] == pytest.approx(0.9 * params.anomaly_cut, abs=1e-9)
    assert STATISTIC_NAMES[int(scored.statistic[-1])] == "novel_value"


def test_the_floor_is_silent_where_the_value_novelty_is_masked() -> None:
    at = 2500
    values = _with_record(_heavy_tailed(3000, seed=4), at, 0.2)
    novelty = STATISTIC_NAMES.index("novel_value")
    mask = ((1 << len(STATISTIC_NAMES)) - 1) & ~(1 << novelty)
    masked = _scored(values, stat_mask=mask, far_ranges=0.0)
    off = _scored(values, stat_mask=mask, far_ranges=0.0, record_margin=0.0)
    np.testing.assert_array_equal(masked.raw_scores, off.raw_scores)


def test_record_margin_must_not_be_negative() -> None:
    with pytest.raises(ConfigError, match="record_margin"):
        DetectorParams(record_margin=-0.1)
