"""The usual range charts draw: causal, anomaly-free, and holding about its coverage."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.usual_range import usual_range

FIVE_MIN_NS = 300 * 10**9


def _noise(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(n, dtype=np.int64) * FIVE_MIN_NS
    expected = 100.0 + 20.0 * np.sin(np.arange(n) * 2 * np.pi / 288)
    return ts, expected + rng.normal(0.0, 3.0, n), expected


def test_the_range_holds_about_its_coverage_of_later_points() -> None:
    ts, observed, expected = _noise(4032)
    lower, upper = usual_range(ts, observed, expected)
    shown = slice(288, None)
    inside = (observed[shown] >= lower[shown]) & (observed[shown] <= upper[shown])
    assert 0.96 <= inside.mean() <= 0.995
    width = (upper - lower)[shown]
    assert np.all((width > 4 * 3.0) & (width < 6 * 3.0))  # about ±2.33 σ


def test_the_range_follows_the_forecast() -> None:
    ts, observed, expected = _noise(1000)
    lower, upper = usual_range(ts, observed, expected)
    middle = (lower + upper)[500:] / 2
    assert np.max(np.abs(middle - expected[500:])) < 1.5


def test_a_point_range_uses_no_later_points() -> None:
    ts, observed, expected = _noise(800)
    changed = observed.copy()
    changed[500:] += 1000.0
    before = usual_range(ts, observed, expected)
    after = usual_range(ts, changed, expected)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old[:501], new[:501])  # 500's own value is not used
        assert np.nanmax(new[502:]) > np.nanmax(old[502:])


def test_excluded_points_widen_nothing() -> None:
    ts, observed, expected = _noise(800)
    spiked = observed.copy()
    spiked[400:405] += 500.0
    excluded = np.zeros(800, dtype=bool)
    excluded[400:405] = True
    clean = usual_range(ts, observed, expected, excluded)
    kept_out = usual_range(ts, spiked, expected, excluded)
    counted = usual_range(ts, spiked, expected)
    np.testing.assert_array_equal(clean[1], kept_out[1])
    assert np.nanmax(counted[1][405:] - clean[1][405:]) > 5.0


def test_too_few_earlier_points_give_no_range() -> None:
    ts, observed, expected = _noise(100)
    lower, upper = usual_range(ts, observed, expected, min_points=30)
    assert np.isnan(lower[:30]).all() and np.isnan(upper[:30]).all()
    assert np.isfinite(lower[30:]).all() and np.isfinite(upper[30:]).all()


def test_a_day_back_is_measured_in_time_not_points() -> None:
    # one-minute points: a day holds 1,440 residuals; the quiet first day is forgotten
    n = 3 * 1440
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9
    rng = np.random.default_rng(3)
    observed = np.where(np.arange(n) < 1440, rng.normal(0, 1, n), rng.normal(0, 10, n))
    _, upper = usual_range(ts, observed, np.zeros(n))
    assert (upper[2 * 1440 + 1 :] > 15).all()
    assert (upper[1200:1440] < 4).all()


@pytest.mark.parametrize("coverage", [0.0, 1.0, 1.5])
def test_coverage_must_be_a_share(coverage: float) -> None:
    ts, observed, expected = _noise(50)
    with pytest.raises(ValueError, match="coverage"):
        usual_range(ts, observed, expected, coverage=coverage)
