"""The pooled residual tail: counted exactly, read empirically, extrapolated beyond."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.detection.fleet_tail import (
    Z_LEVELS,
    ResidualTally,
    pooled_log10p,
    pooled_scores,
)


def _gaussian_tally(n: int, seed: int = 0) -> tuple[ResidualTally, np.ndarray]:
    z = np.random.default_rng(seed).standard_normal(n)
    tally = ResidualTally()
    for part in np.array_split(z, 7):  # counted in pieces, as chunks of a backfill are
        tally.add(part, series=25)
    return tally, z


def test_the_tally_counts_each_side_exactly() -> None:
    tally, z = _gaussian_tally(50_000)
    assert tally.points == z.size
    assert tally.series == 25
    np.testing.assert_array_equal(tally.up, [(z >= level).sum() for level in Z_LEVELS])
    np.testing.assert_array_equal(tally.down, [(z <= -level).sum() for level in Z_LEVELS])


def test_where_many_points_reach_a_residual_the_counts_are_the_answer() -> None:
    tally, z = _gaussian_tally(500_000)
    for level in (1.5, 2.5, 3.0):
        expected = math.log10((z >= level).mean())
        assert pooled_log10p(tally, np.array([level]), 1e-3)[0] == pytest.approx(expected, abs=0.05)
        below = math.log10((z <= -level).mean())
        assert pooled_log10p(tally, np.array([-level]), 1e-3)[0] == pytest.approx(below, abs=0.05)


def test_beyond_the_counted_tail_a_light_tail_falls_fast_and_steadily() -> None:
    tally, _ = _gaussian_tally(500_000)
    z = np.array([4.0, 5.0, 6.0, 7.0, 8.0])
    lp = pooled_log10p(tally, z, 1e-3)
    assert (np.diff(lp) < 0).all()
    # a Gaussian tail is lighter than any exponential one: at 6 the truth is 10^-9;
    # the exponential tail from the 10^-3 edge says at most ~10^-6.5
    assert lp[2] < -6.0
    assert pooled_scores(tally, np.array([6.0]), 1e-3, 8.1)[0] > 0.55


def test_a_light_tail_is_not_widened_by_the_fleets_few_faults() -> None:
    """Gaussian noise plus a few hundred fault points of 6-40 scales (level shifts before
    adoption, spikes): the faults sit beyond the 0.1 % edge, and priced from the integral
    above it they would make each other look usual. The body sets the tail instead."""
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(480_000)
    faults = rng.uniform(6.0, 40.0, 300)
    tally = ResidualTally()
    tally.add(np.concatenate([noise, faults]), series=120)
    z = np.array([7.0])
    # a 7-scale spike stays far rarer than the 1-in-10⁴ budget (the integral above the
    # edge, 300 faults in it, says 10^-3.0: score 0.21)
    assert pooled_log10p(tally, z, 1e-3)[0] < -6.5
    assert pooled_scores(tally, z, 1e-3, 8.1)[0] > 0.6


def test_where_the_body_widens_the_counts_above_the_edge_stand() -> None:
    rng = np.random.default_rng(4)
    bursty = rng.lognormal(0.0, 1.0, 480_000)  # the body widens decade by decade
    tally = ResidualTally()
    tally.add(bursty, series=120)
    level = float(np.quantile(bursty, 1 - 1e-5))
    assert pooled_log10p(tally, np.array([level]), 1e-3)[0] > -5.6  # not priced rarer


def test_a_heavy_tail_is_read_as_heavy() -> None:
    rng = np.random.default_rng(1)
    heavy = rng.standard_t(3, 500_000)
    tally = ResidualTally()
    tally.add(heavy, series=25)
    light, _ = _gaussian_tally(500_000)
    z = np.array([6.0])
    assert pooled_log10p(tally, z, 1e-3)[0] > pooled_log10p(light, z, 1e-3)[0] + 2.0
    # and where the counts reach, they are the answer
    assert pooled_log10p(tally, z, 1e-3)[0] == pytest.approx(
        math.log10((heavy >= 6.0).mean()), abs=0.1
    )


def test_an_empty_tally_and_a_zero_residual_say_nothing() -> None:
    assert (pooled_log10p(ResidualTally(), np.array([5.0, -5.0]), 1e-3) == 0.0).all()
    tally, _ = _gaussian_tally(10_000)
    assert pooled_log10p(tally, np.array([0.0]), 1e-3)[0] == 0.0


def test_the_tally_round_trips_through_json() -> None:
    tally, _ = _gaussian_tally(20_000)
    restored = ResidualTally.from_json(tally.to_json())
    assert restored.points == tally.points and restored.series == tally.series
    np.testing.assert_array_equal(restored.up, tally.up)
    np.testing.assert_array_equal(restored.down, tally.down)
    body = tally.to_json()
    body["up"] = body["up"][:-1]
    with pytest.raises(ValueError, match="levels"):
        ResidualTally.from_json(body)
