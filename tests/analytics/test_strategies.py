"""The aggregation arithmetic: each strategy's value and the shares it hands out."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics._strategies import (
    AggregationStrategy,
    check_weights,
    combine,
    contributions,
    parse_strategy,
)
from backend.errors import ValidationError


def test_strategy_enum_values_are_documented_strings() -> None:
    assert [s.value for s in AggregationStrategy] == ["max", "mean", "weighted", "p95"]


def test_parse_strategy_accepts_enum_and_string() -> None:
    assert parse_strategy("p95") is AggregationStrategy.P95
    assert parse_strategy(AggregationStrategy.MEAN) is AggregationStrategy.MEAN


def test_parse_strategy_rejects_unknown_naming_choices() -> None:
    with pytest.raises(ValidationError, match="max, mean, weighted, p95") as info:
        parse_strategy("median", "node_strategy")
    assert info.value.field == "node_strategy"


def test_combine_rejects_empty_scores() -> None:
    with pytest.raises(ValidationError) as info:
        combine(AggregationStrategy.MAX, np.array([]))
    assert info.value.field == "scores"


def test_combine_weighted_without_weights_is_the_mean() -> None:
    scores = np.array([0.2, 0.4, 0.9])
    weighted, w_shares = combine(AggregationStrategy.WEIGHTED, scores)
    mean, m_shares = combine(AggregationStrategy.MEAN, scores)
    assert weighted == pytest.approx(mean)
    np.testing.assert_allclose(w_shares, m_shares)


def test_combine_mean_shares_are_proportional_to_scores() -> None:
    _, shares = combine(AggregationStrategy.MEAN, np.array([0.6, 0.3, 0.1]))
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.1])


def test_combine_p95_on_many_scores_matches_numpy_and_blames_the_top_two() -> None:
    scores = np.linspace(0.0, 1.0, 21)
    rng = np.random.default_rng(7)
    rng.shuffle(scores)
    value, shares = combine(AggregationStrategy.P95, scores)
    assert value == pytest.approx(np.percentile(scores, 95))
    assert np.count_nonzero(shares) == 1
    assert scores[np.argmax(shares)] == pytest.approx(0.95)


def test_combine_p95_tied_order_statistics_split_evenly() -> None:
    _, shares = combine(AggregationStrategy.P95, np.array([0.9, 0.1, 0.9]))
    np.testing.assert_allclose(shares, [0.5, 0.0, 0.5])


def test_combine_clips_rounding_above_one() -> None:
    value, shares = combine(AggregationStrategy.WEIGHTED, np.ones(7), np.full(7, 0.1))
    assert value <= 1.0
    assert shares.sum() == pytest.approx(1.0)


def test_check_weights_names_the_bad_entry() -> None:
    assert check_weights({"cpu": 2}, "metric_weights") == {"cpu": 2.0}
    assert check_weights(None, "weights") == {}
    with pytest.raises(ValidationError) as info:
        check_weights({"disk": -0.5}, "metric_weights")
    assert info.value.field == "metric_weights['disk']"


def test_contributions_sorted_by_share_then_score_then_name() -> None:
    records = contributions(
        ["b", "a", "c"], np.array([0.5, 0.5, 0.9]), np.ones(3), np.array([0.25, 0.25, 0.5])
    )
    assert [r.component for r in records] == ["c", "a", "b"]
    assert sum(r.share for r in records) == pytest.approx(1.0)
