"""Ranking order, top-N cuts and the one-sentence explanations."""

from __future__ import annotations

import pytest

from backend.analytics.ranking import describe_contributors, explain_rank, rank_scores, score_label
from backend.analytics.types import AggregatedAnomalyScore, ScoreContribution
from backend.errors import ValidationError


def node(
    node_id: str, score: float, anomalies: int = 0, cluster: str = "c1", tenant: str = "t1"
) -> AggregatedAnomalyScore:
    return AggregatedAnomalyScore(tenant, score, cluster, node_id, num_anomalies_detected=anomalies)


def test_rank_scores_orders_by_score_then_anomalies_then_ids() -> None:
    scores = [
        node("b", 0.5, 2),
        node("a", 0.5, 2, cluster="c2"),
        node("a", 0.5, 2),
        node("z", 0.5, 9),
        node("top", 0.99),
    ]
    ranked = rank_scores(scores)
    assert [(s.node_id, s.cluster_id) for s in ranked] == [
        ("top", "c1"),
        ("z", "c1"),
        ("a", "c1"),
        ("b", "c1"),
        ("a", "c2"),
    ]


def test_rank_scores_top_n_keeps_the_worst() -> None:
    scores = [node(f"n{i}", i / 10) for i in range(10)]
    assert [s.node_id for s in rank_scores(scores, top_n=3)] == ["n9", "n8", "n7"]
    assert len(rank_scores(scores, top_n=50)) == 10


def test_rank_scores_accepts_a_generator_and_empty_input() -> None:
    assert rank_scores(node(f"n{i}", 0.1) for i in range(3))[0].node_id == "n0"
    assert rank_scores([]) == []


@pytest.mark.parametrize("top_n", [0, -1, True, 2.0])
def test_rank_scores_rejects_bad_top_n(top_n: object) -> None:
    with pytest.raises(ValidationError) as info:
        rank_scores([node("a", 0.1)], top_n=top_n)  # type: ignore[arg-type]
    assert info.value.field == "top_n"


def test_score_label_names_each_level() -> None:
    assert score_label(node("n1", 0.1)) == "node n1"
    assert score_label(AggregatedAnomalyScore("t1", 0.1, "c1")) == "cluster c1"
    assert score_label(AggregatedAnomalyScore("t1", 0.1)) == "tenant t1"


def test_describe_contributors_orders_by_share_and_drops_zero_scores() -> None:
    contributors = [
        ScoreContribution("disk", 0.0, share=0.0),
        ScoreContribution("memory", 0.1, share=0.0),
        ScoreContribution("latency", 0.55, share=0.38),
        ScoreContribution("cpu_usage", 0.93, share=0.62),
    ]
    assert describe_contributors(contributors) == (
        "cpu_usage 0.93 (62 %), latency 0.55 (38 %), memory 0.10 (0 %)"
    )
    assert describe_contributors(contributors, top=1) == "cpu_usage 0.93 (62 %)"
    assert "disk" not in describe_contributors(contributors, top=10)


def test_explain_rank_uses_ordinals_then_numbers() -> None:
    score = AggregatedAnomalyScore(
        "t1", 0.8, "c1", "node-7", contributors=(ScoreContribution("cpu", 0.8, share=1.0),)
    )
    assert (
        explain_rank(score, rank=2) == "node node-7 ranks second with 0.80 (max): cpu 0.80 (100 %)"
    )
    assert explain_rank(score, rank=12).startswith("node node-7 ranks #12 with 0.80")


def test_explain_rank_without_contributors_says_so() -> None:
    text = explain_rank(AggregatedAnomalyScore("t1", 0.0, "c1", aggregation_strategy="mean"))
    assert text == "cluster c1 ranks first with 0.00 (mean): no component scored above 0"


@pytest.mark.parametrize("rank", [0, -3, 1.0])
def test_explain_rank_rejects_bad_rank(rank: object) -> None:
    with pytest.raises(ValidationError) as info:
        explain_rank(node("a", 0.1), rank=rank)  # type: ignore[arg-type]
    assert info.value.field == "rank"
