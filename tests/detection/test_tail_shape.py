"""Tail shapes: each series learns how heavy its residuals' tail is, and the fitted tail
falls as a generalised Pareto tail of that shape beyond the calibrator's edge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.detection.streaming import calibration as cal
from backend.detection.streaming import kernel
from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

EDGE = 2.0
POINT_UP = ly.SHAPE_STATS.index(ly.S_POINT_UP)


def _learnt_shape(values: np.ndarray) -> float:
    """The shape learnt from ``values`` fed as the upward point statistic."""
    st = np.zeros(ly.STATE_SIZE)
    cal.reset(st)
    stats = np.zeros(ly.N_STATS)
    for value in values:
        stats[ly.S_POINT_UP] = math.log1p(value)
        cal.learn_shapes(st, stats, 1e-4, EDGE, math.log1p(EDGE))
    cal.fit_shapes(st, -0.9, 0.9)
    return float(st[ly.I_SHAPE + POINT_UP])


@pytest.mark.parametrize("seed", range(3))
def test_shapes_tell_light_exponential_and_heavy_tails_apart(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60_000
    light = _learnt_shape(np.abs(rng.normal(0.0, 1.0, n)))  # Gaussian: ξ → 0 from below
    exponential = _learnt_shape(rng.exponential(1.0, n))  # ξ = 0
    heavy = _learnt_shape(np.abs(rng.standard_t(3.0, n)))  # Student t(3): ξ = 1/3
    assert light < -0.04
    assert abs(exponential) < 0.1
    assert heavy > 0.2
    assert light < exponential < heavy


def _fitted_state(shape: float) -> np.ndarray:
    """A calibrator with a fitted tail (edge 3, log10 p −2, mean excess 0.5) and ``shape``."""
    st = np.zeros(ly.STATE_SIZE)
    cal.reset(st)
    fit = ly.I_FIT + ly.FIT_WIDTH * ly.S_POINT_UP
    st[fit], st[fit + 1], st[fit + 2] = math.log1p(3.0), -2.0, 0.5
    st[ly.I_SHAPE + POINT_UP] = shape
    return st


def _log10_p(shape: float, z: float) -> float:
    return cal.log10_tail(_fitted_state(shape), ly.S_POINT_UP, math.log1p(z), False)


def test_a_heavier_shape_makes_far_values_less_surprising() -> None:
    far = 8.0
    assert _log10_p(0.2, far) > _log10_p(0.0, far) > _log10_p(-0.2, far)
    # at the edge all shapes agree (the shape changes only how the tail falls beyond it)
    assert _log10_p(0.2, 3.0) == pytest.approx(_log10_p(-0.2, 3.0))
    # the exponential case is the mean-excess tail: 5 excess units of 0.5 = 10 e-folds
    assert _log10_p(0.0, far) == pytest.approx(-2.0 - 10.0 / math.log(10.0))


def test_beyond_the_end_of_a_bounded_tail_is_certainly_anomalous() -> None:
    # ξ = −0.3 with σ = 0.5 · 1.3: the tail ends 0.65 / 0.3 ≈ 2.2 above the edge
    assert _log10_p(-0.3, 3.0 + 2.5) <= -300.0


@pytest.mark.parametrize("shape", [-0.3, -0.1, 0.0, 0.15, 0.4])
def test_invert_undoes_the_tail(shape: float) -> None:
    st = _fitted_state(shape)
    for target in (-3.0, -4.5, -6.0):
        z = cal.invert(st, ly.S_POINT_UP, target, False)
        assert cal.log10_tail(st, ly.S_POINT_UP, math.log1p(z), False) == pytest.approx(target)


def _run(noise: np.ndarray, **knobs: float) -> tuple[StreamingDetector, ScoredSeries]:
    """The detector after ``noise`` around a level of 50 (5-minute steps), and its output."""
    ts = np.arange(noise.shape[0], dtype=np.int64) * 300 * 10**9
    detector = StreamingDetector(DetectorParams(seasonal=False, **knobs))  # type: ignore[arg-type]
    return detector, detector.score(ts, 50.0 + noise)


def _detector_shapes(noise: np.ndarray, **knobs: float) -> np.ndarray:
    detector, _ = _run(noise, **knobs)
    return detector.state[ly.I_SHAPE : ly.I_SHAPE + len(ly.SHAPE_STATS)].copy()


def test_the_detector_learns_each_series_tail() -> None:
    rng = np.random.default_rng(4)
    gaussian = _detector_shapes(rng.normal(0.0, 1.0, 20_000))
    heavy = _detector_shapes(rng.standard_t(3.0, 20_000))
    up, down = POINT_UP, ly.SHAPE_STATS.index(ly.S_POINT_DOWN)
    assert gaussian[up] < -0.05 and gaussian[down] < -0.05
    assert heavy[up] > 0.05 and heavy[down] > 0.05


def test_shape_rate_zero_keeps_exponential_tails() -> None:
    noise = np.random.default_rng(5).standard_t(3.0, 5_000)
    assert not _detector_shapes(noise, shape_rate=0.0).any()


def _scored(noise: np.ndarray, **knobs: float) -> tuple[np.ndarray, np.ndarray]:
    """(raw scores, upper band) of ``noise`` around a level of 50."""
    _, scored = _run(noise, **knobs)
    return scored.raw_scores, scored.upper


def test_a_heavy_tail_widens_the_novelty_gate() -> None:
    """The records of heavy-tailed noise overshoot the old record by more, so they need a
    wider margin before they alarm: fewer alarms and a wider band than a fixed margin."""
    settled = slice(5_000, None)
    fixed_alarms = gated_alarms = 0
    for seed in (6, 7, 8):
        noise = np.random.default_rng(seed).standard_t(3.0, 20_000)
        fixed_scores, fixed_upper = _scored(noise, shape_gate=0.0)
        gated_scores, gated_upper = _scored(noise, shape_gate=0.7)
        fixed_alarms += int((fixed_scores[settled] >= 0.3).sum())
        gated_alarms += int((gated_scores[settled] >= 0.3).sum())
        assert np.median(gated_upper[settled]) > np.median(fixed_upper[settled])
    assert gated_alarms < fixed_alarms


@pytest.mark.parametrize(
    ("up", "down", "point_up", "novelty"),
    [
        (-0.2, -0.1, 0.06, 0.06),  # light tails keep the fixed margin
        (0.3, -0.1, 0.21, 0.105),  # the value's novelty: the heavier side, at most 0.15
        (0.05, 0.1, 0.06, 0.07),
    ],
)
def test_the_gate_margin_follows_the_learnt_shape(
    up: float, down: float, point_up: float, novelty: float
) -> None:
    st = np.zeros(ly.STATE_SIZE)
    st[ly.I_SHAPE + POINT_UP] = up
    st[ly.I_SHAPE + ly.SHAPE_STATS.index(ly.S_POINT_DOWN)] = down
    pr = DetectorParams(shape_gate=0.7, novelty_excess=0.06).to_array()
    assert kernel._gate_excess(st, pr, ly.S_POINT_UP) == pytest.approx(point_up)
    assert kernel._gate_excess(st, pr, ly.S_NOVELTY) == pytest.approx(novelty)
    assert kernel._gate_excess(st, pr, ly.S_GAP) == pytest.approx(0.06)  # no shape learnt


def test_light_tails_keep_the_fixed_gate() -> None:
    noise = np.random.default_rng(7).normal(0.0, 1.0, 8_000)
    fixed_scores, _ = _scored(noise, shape_gate=0.0)
    gated_scores, _ = _scored(noise, shape_gate=0.7)
    np.testing.assert_array_equal(gated_scores, fixed_scores)


@pytest.mark.parametrize(
    "knobs",
    [
        {"shape_rate": -0.1},
        {"shape_rate": 1.5},
        {"shape_min": 0.1},
        {"shape_max": -0.1},
        {"shape_max": 1.0},
        {"shape_min": -1.0},
        {"shape_edge": 0.0},
        {"shape_gate": -0.1},
    ],
)
def test_bad_shape_knobs_are_refused(knobs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        DetectorParams(**knobs)  # type: ignore[arg-type]
