"""The calibrators' fitted tail: its scale must follow the data, not the width of the bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.detection.streaming import calibration as cal
from backend.detection.streaming import layout as ly

TAIL_MASS = 0.01
MIN_EXCESS = 0.05


def _fitted(values: np.ndarray) -> tuple[float, float]:
    """(linear edge, scale) of the tail fitted to ``values`` counted into one calibrator."""
    st = np.zeros(ly.STATE_SIZE)
    cal.reset(st)
    stats = np.zeros(ly.N_STATS)
    for value in values:
        stats[ly.S_POINT_UP] = math.log1p(value)
        cal.count(st, stats, 1e-9, 0, 1.0)  # no fading: every value weighs the same
    cal.refit(st, TAIL_MASS, MIN_EXCESS, 0)
    fit = ly.I_FIT + ly.FIT_WIDTH * ly.S_POINT_UP
    return math.expm1(float(st[fit])), float(st[fit + 2])


def _true_excess(values: np.ndarray, edge: float) -> float:
    return float(np.mean(values[values > edge] - edge))


@pytest.mark.parametrize("seed", range(3))
def test_a_light_tail_is_not_made_heavy_by_wide_bins(seed: int) -> None:
    values = np.abs(np.random.default_rng(seed).normal(0.0, 1.0, 100_000))
    edge, scale = _fitted(values)
    true = _true_excess(values, edge)
    # Bin centres alone put every tail point ~0.7 above a 3.5 edge (bins are 35 % wide);
    # the true mean excess of a normal tail there is ~0.27. With every tail point in the
    # first tail bin the fit stays a little cautious (one more point assumed beyond it).
    assert true < 0.3
    assert true <= scale < 0.45


@pytest.mark.parametrize("seed", range(3))
def test_a_heavy_tail_keeps_its_weight(seed: int) -> None:
    values = np.abs(np.random.default_rng(seed).standard_t(2.5, 100_000))
    edge, scale = _fitted(values)
    true = _true_excess(values, edge)
    assert true > 1.5
    assert abs(scale - true) < 0.1 * true


def _counted(values: np.ndarray, fade: float, statistic: int) -> np.ndarray:
    """A state whose calibrator ``statistic`` has counted ``values`` (then refitted)."""
    st = np.zeros(ly.STATE_SIZE)
    cal.reset(st)
    stats = np.zeros(ly.N_STATS)
    for value in values:
        stats[statistic] = math.log1p(value)
        cal.count(st, stats, fade, 0, 1.0)
    cal.refit(st, TAIL_MASS, MIN_EXCESS, 0)
    return st


def _record_edge(st: np.ndarray, statistic: int) -> float:
    return float(st[ly.I_FIT + ly.FIT_WIDTH * statistic + 3])


def test_a_residual_record_is_its_exact_value_not_its_bins_edge() -> None:
    """The novelty gate starts at the largest residual seen (5.94 scales), not at the top of
    its 35 %-wide bin (7.17): a spike 40 % beyond the record is then news."""
    values = np.r_[np.abs(np.random.default_rng(0).normal(0.0, 1.0, 2_000)), 5.94]
    up = _counted(values, 1e-9, ly.S_POINT_UP)
    assert _record_edge(up, ly.S_POINT_UP) == pytest.approx(math.log1p(5.94))
    pair = _counted(values, 1e-9, ly.S_PAIR)  # the other statistics keep the bin's edge
    width = ly.CAL_BIN_WIDTH
    assert _record_edge(pair, ly.S_PAIR) == pytest.approx(
        math.ceil(math.log1p(5.94) / width) * width
    )
    # just past the exact record the gate already falls below the record's probability
    beyond = math.log1p(5.94 * 1.05)
    edge = _record_edge(up, ly.S_POINT_UP)
    assert cal.novelty_cap(up, beyond, 0.065, edge) < up[ly.I_REC_LP] - 0.1


def test_a_forgotten_record_falls_back_to_the_highest_remembered_bin() -> None:
    """Once the record's bin has faded from memory, the gate starts at the upper edge of the
    highest bin still remembered, as it did before exact records."""
    quiet = np.full(3_000, 1.0)  # 1 scale: the bin [0.6, 0.9) of log1p
    st = _counted(np.r_[20.0, quiet], 0.002, ly.S_POINT_UP)
    width = ly.CAL_BIN_WIDTH
    top = math.ceil(math.log1p(1.0) / width) * width
    assert _record_edge(st, ly.S_POINT_UP) == pytest.approx(top)
    recent = _counted(np.r_[quiet, 20.0], 0.002, ly.S_POINT_UP)
    assert _record_edge(recent, ly.S_POINT_UP) == pytest.approx(math.log1p(20.0))


@pytest.mark.parametrize(("statistic", "bin_index"), [(math.inf, ly.CAL_BINS - 1), (math.nan, 0)])
def test_an_overflowed_statistic_is_counted_inside_the_histogram(
    statistic: float, bin_index: int
) -> None:
    # Compiled code has no bounds checks and int(inf) is the most negative integer, which
    # once wrote past the end of the state; the state here is a view with guard cells behind.
    guarded = np.zeros(2 * ly.STATE_SIZE)
    st = guarded[: ly.STATE_SIZE]
    cal.reset(st)
    after_reset = guarded[ly.STATE_SIZE :].copy()
    stats = np.zeros(ly.N_STATS)
    stats[ly.S_POINT_UP] = statistic
    cal.count(st, stats, 1.0, 0, 1.0)
    np.testing.assert_array_equal(guarded[ly.STATE_SIZE :], after_reset)
    base = ly.I_CAL + ly.S_POINT_UP * ly.CAL_BINS
    assert st[base + bin_index] > 0.0
    assert math.isfinite(cal.log10_tail(st, ly.S_POINT_UP, statistic, True))
