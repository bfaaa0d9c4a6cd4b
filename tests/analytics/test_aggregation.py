"""Aggregation: strategies per level, provenance shares, validation, the pipeline end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.analytics.aggregation import (
    DEFAULT_METRIC_WEIGHTS,
    AggregationConfig,
    AggregationOutcome,
    AggregationPipeline,
    AggregationStrategy,
    ClusterAnomalyAggregator,
    NodeAnomalyAggregator,
    TenantAnomalyAggregator,
)
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult
from backend.errors import ValidationError

T0 = datetime(2024, 3, 1, 12, 0)
ALL_STRATEGIES = list(AggregationStrategy)


def result(
    metric: str,
    score: float,
    node: str = "n1",
    cluster: str = "c1",
    tenant: str = "t1",
    label: str | None = None,
    end_minutes: int = 10,
) -> AnomalyResult:
    label = label or ("spike" if score >= 0.5 else "normal")
    end = T0 + timedelta(minutes=end_minutes)
    return AnomalyResult(tenant, cluster, node, metric, T0, end, score, label)


def node_score(
    node: str, score: float, cluster: str = "c1", tenant: str = "t1", anomalies: int = 0
) -> AggregatedAnomalyScore:
    return AggregatedAnomalyScore(
        tenant,
        score,
        cluster,
        node,
        num_metrics_analyzed=2,
        num_anomalies_detected=anomalies,
        timestamp=T0,
    )


def shares_of(score: AggregatedAnomalyScore) -> dict[str, float]:
    return {c.component: c.share for c in score.contributors}


# --- NodeAnomalyAggregator ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("max", 0.9), ("mean", 0.5), ("p95", float(np.percentile([0.9, 0.1], 95)))],
)
def test_node_aggregate_spec_example(strategy: str, expected: float) -> None:
    score = NodeAnomalyAggregator(AggregationStrategy(strategy)).aggregate(
        [result("cpu", 0.9), result("memory", 0.1)]
    )
    assert score.aggregate_score == pytest.approx(expected)
    assert score.aggregation_strategy == strategy


def test_node_aggregate_p95_shares_follow_interpolation() -> None:
    score = NodeAnomalyAggregator(AggregationStrategy.P95).aggregate(
        [result("cpu", 0.9), result("memory", 0.1)]
    )
    shares = shares_of(score)
    assert shares["cpu"] == pytest.approx(0.95 * 0.9 / score.aggregate_score)
    assert shares["memory"] == pytest.approx(0.05 * 0.1 / score.aggregate_score)


def test_node_aggregate_weighted_uses_given_weights_and_one_for_unknown() -> None:
    aggregator = NodeAnomalyAggregator(AggregationStrategy.WEIGHTED, {"cpu": 3.0})
    score = aggregator.aggregate([result("cpu", 0.8), result("custom", 0.2)])
    assert score.aggregate_score == pytest.approx((3 * 0.8 + 1 * 0.2) / 4)
    assert shares_of(score) == pytest.approx({"cpu": 2.4 / 2.6, "custom": 0.2 / 2.6})
    assert {c.component: c.weight for c in score.contributors} == {"cpu": 3.0, "custom": 1.0}


def test_node_aggregate_weighted_defaults_rank_cpu_above_disk_io() -> None:
    assert DEFAULT_METRIC_WEIGHTS["cpu_usage"] > DEFAULT_METRIC_WEIGHTS["disk_io"]
    score = NodeAnomalyAggregator(AggregationStrategy.WEIGHTED).aggregate(
        [result("cpu_usage", 0.6), result("disk_io", 0.6)]
    )
    shares = shares_of(score)
    assert shares["cpu_usage"] > shares["disk_io"]
    assert score.aggregate_score == pytest.approx(0.6)


def test_node_aggregate_weighted_cpu_outweighs_disk_io_with_defaults() -> None:
    high_cpu = [result("cpu_usage", 0.9), result("disk_io", 0.1)]
    high_disk = [result("cpu_usage", 0.1), result("disk_io", 0.9)]
    aggregator = NodeAnomalyAggregator(AggregationStrategy.WEIGHTED)
    assert (
        aggregator.aggregate(high_cpu).aggregate_score
        > aggregator.aggregate(high_disk).aggregate_score
    )


def test_node_aggregate_weighted_all_zero_weights_is_neutral() -> None:
    aggregator = NodeAnomalyAggregator(AggregationStrategy.WEIGHTED, {"cpu": 0.0})
    score = aggregator.aggregate([result("cpu", 0.9)])
    assert score.aggregate_score == 0.0
    assert [c.share for c in score.contributors] == [0.0]


def test_node_aggregate_weighted_tiny_weight_stays_within_the_scores() -> None:
    # found by the property test below: 0.75 * 2.2e-313 loses precision (subnormal), and
    # the weighted mean of one score came out as 0.7500000000111
    aggregator = NodeAnomalyAggregator(AggregationStrategy.WEIGHTED, {"cpu": 2.2250738585e-313})
    score = aggregator.aggregate([result("cpu", 0.75)])
    assert score.aggregate_score == 0.75


def test_node_aggregate_max_ties_share_equally() -> None:
    score = NodeAnomalyAggregator().aggregate(
        [result("cpu", 0.7), result("latency", 0.7), result("memory", 0.2)]
    )
    assert shares_of(score) == {"cpu": 0.5, "latency": 0.5, "memory": 0.0}
    assert [c.component for c in score.contributors] == ["cpu", "latency", "memory"]


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_node_aggregate_single_metric_is_that_metric(strategy: AggregationStrategy) -> None:
    score = NodeAnomalyAggregator(strategy).aggregate([result("cpu", 0.42)])
    assert score.aggregate_score == pytest.approx(0.42)
    assert shares_of(score) == {"cpu": 1.0}
    assert score.num_metrics_analyzed == 1


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_node_aggregate_all_zero_scores_have_no_shares(strategy: AggregationStrategy) -> None:
    score = NodeAnomalyAggregator(strategy).aggregate([result("cpu", 0.0), result("disk", 0.0)])
    assert score.aggregate_score == 0.0
    assert all(c.share == 0.0 for c in score.contributors)


def test_node_aggregate_collapses_windows_of_a_metric_to_its_max() -> None:
    results = [
        result("cpu", 0.2, end_minutes=10),
        result("cpu", 0.8, end_minutes=20),
        result("cpu", 0.6, end_minutes=30),
        result("memory", 0.4),
    ]
    score = NodeAnomalyAggregator(AggregationStrategy.MEAN).aggregate(results)
    assert score.aggregate_score == pytest.approx((0.8 + 0.4) / 2)
    assert score.num_metrics_analyzed == 2
    assert score.num_anomalies_detected == 2
    assert {c.component: c.score for c in score.contributors} == {"cpu": 0.8, "memory": 0.4}


def test_node_aggregate_counts_anomalies_by_label_not_score() -> None:
    results = [result("cpu", 0.3, label="trend"), result("memory", 0.9, label="normal")]
    assert NodeAnomalyAggregator().aggregate(results).num_anomalies_detected == 1


def test_node_aggregate_timestamp_defaults_to_latest_window_end() -> None:
    results = [result("cpu", 0.2, end_minutes=30), result("memory", 0.4, end_minutes=5)]
    assert NodeAnomalyAggregator().aggregate(results).timestamp == T0 + timedelta(minutes=30)
    explicit = datetime(2025, 1, 1, tzinfo=UTC)
    assert NodeAnomalyAggregator().aggregate(results, timestamp=explicit).timestamp == explicit


def test_node_aggregate_is_node_level_with_ids() -> None:
    score = NodeAnomalyAggregator().aggregate([result("cpu", 0.5, node="n9", cluster="c4")])
    ids = (score.level, score.tenant_id, score.cluster_id, score.node_id)
    assert ids == ("node", "t1", "c4", "n9")


def test_node_aggregate_rejects_results_of_several_nodes() -> None:
    with pytest.raises(ValidationError) as info:
        NodeAnomalyAggregator().aggregate([result("cpu", 0.5), result("cpu", 0.5, node="n2")])
    assert info.value.field == "anomaly_results[1]"


def test_node_aggregate_rejects_results_of_several_tenants() -> None:
    with pytest.raises(ValidationError):
        NodeAnomalyAggregator().aggregate([result("cpu", 0.5), result("cpu", 0.5, tenant="t2")])


def test_node_aggregate_rejects_empty_input() -> None:
    with pytest.raises(ValidationError) as info:
        NodeAnomalyAggregator().aggregate([])
    assert info.value.field == "anomaly_results"


def test_node_aggregator_rejects_unknown_strategy() -> None:
    with pytest.raises(ValidationError) as info:
        NodeAnomalyAggregator("median")  # type: ignore[arg-type]
    assert info.value.field == "strategy"


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), "heavy"])
def test_node_aggregator_rejects_bad_weight(weight: object) -> None:
    with pytest.raises(ValidationError) as info:
        NodeAnomalyAggregator(AggregationStrategy.WEIGHTED, {"cpu": weight})  # type: ignore[dict-item]
    assert info.value.field == "metric_weights['cpu']"


def test_node_aggregator_default_strategy_is_max() -> None:
    assert NodeAnomalyAggregator().strategy is AggregationStrategy.MAX
    assert NodeAnomalyAggregator().metric_weights == dict(DEFAULT_METRIC_WEIGHTS)


# --- ClusterAnomalyAggregator ------------------------------------------------------------


def test_cluster_aggregate_contributors_are_nodes_and_counts_sum() -> None:
    nodes = [node_score("n1", 0.9, anomalies=3), node_score("n2", 0.3, anomalies=1)]
    score = ClusterAnomalyAggregator(AggregationStrategy.MEAN).aggregate(nodes)
    assert score.level == "cluster" and score.cluster_id == "c1" and score.node_id is None
    assert score.aggregate_score == pytest.approx(0.6)
    assert shares_of(score) == pytest.approx({"n1": 0.75, "n2": 0.25})
    assert (score.num_metrics_analyzed, score.num_anomalies_detected) == (4, 4)


def test_cluster_aggregate_duplicate_node_keeps_its_worst_score() -> None:
    nodes = [node_score("n1", 0.2, anomalies=5), node_score("n1", 0.7, anomalies=1)]
    score = ClusterAnomalyAggregator().aggregate(nodes)
    assert score.aggregate_score == 0.7
    assert score.num_anomalies_detected == 1
    assert len(score.contributors) == 1


def test_cluster_aggregate_weighted_uses_node_weights() -> None:
    nodes = [node_score("n1", 1.0), node_score("n2", 0.0)]
    aggregator = ClusterAnomalyAggregator(AggregationStrategy.WEIGHTED, weights={"n1": 3.0})
    assert aggregator.aggregate(nodes).aggregate_score == pytest.approx(0.75)


def test_cluster_aggregate_rejects_cluster_level_input() -> None:
    cluster_level = AggregatedAnomalyScore("t1", 0.5, "c1")
    with pytest.raises(ValidationError) as info:
        ClusterAnomalyAggregator().aggregate([node_score("n1", 0.2), cluster_level])
    assert info.value.field == "node_scores[1]"


def test_cluster_aggregate_rejects_nodes_of_several_clusters() -> None:
    with pytest.raises(ValidationError):
        ClusterAnomalyAggregator().aggregate([node_score("n1", 0.2), node_score("n2", 0.2, "c2")])


def test_cluster_aggregate_rejects_empty_input() -> None:
    with pytest.raises(ValidationError):
        ClusterAnomalyAggregator().aggregate([])


def test_cluster_rank_nodes_worst_first_with_tie_breaks() -> None:
    nodes = [
        node_score("n-b", 0.5, anomalies=1),
        node_score("n-a", 0.5, anomalies=1),
        node_score("n-c", 0.5, anomalies=4),
        node_score("n-d", 0.95),
        node_score("n-e", 0.1),
    ]
    ranked = ClusterAnomalyAggregator().rank_nodes(nodes)
    assert [s.node_id for s in ranked] == ["n-d", "n-c", "n-a", "n-b", "n-e"]
    top_two = ClusterAnomalyAggregator().rank_nodes(nodes, top_n=2)
    assert [s.node_id for s in top_two] == ["n-d", "n-c"]


def test_cluster_rank_nodes_is_independent_of_input_order() -> None:
    nodes = [node_score(f"n{i}", (i * 7 % 5) / 5, anomalies=i % 3) for i in range(20)]
    forward = ClusterAnomalyAggregator().rank_nodes(nodes)
    backward = ClusterAnomalyAggregator().rank_nodes(list(reversed(nodes)))
    assert forward == backward


@pytest.mark.parametrize("top_n", [0, -2, 1.5])
def test_cluster_rank_nodes_rejects_bad_top_n(top_n: object) -> None:
    with pytest.raises(ValidationError) as info:
        ClusterAnomalyAggregator().rank_nodes([node_score("n1", 0.2)], top_n=top_n)  # type: ignore[arg-type]
    assert info.value.field == "top_n"


def test_cluster_rank_nodes_rejects_non_node_scores() -> None:
    with pytest.raises(ValidationError):
        ClusterAnomalyAggregator().rank_nodes([AggregatedAnomalyScore("t1", 0.5, "c1")])


# --- TenantAnomalyAggregator -------------------------------------------------------------


def test_tenant_aggregate_contributors_are_clusters() -> None:
    clusters = [
        AggregatedAnomalyScore("t1", 0.8, "c1", num_anomalies_detected=2, timestamp=T0),
        AggregatedAnomalyScore("t1", 0.4, "c2", num_anomalies_detected=1, timestamp=T0),
    ]
    score = TenantAnomalyAggregator().aggregate(clusters)
    assert score.level == "tenant" and score.cluster_id is None
    assert score.aggregate_score == 0.8
    assert shares_of(score) == {"c1": 1.0, "c2": 0.0}
    assert score.num_anomalies_detected == 3


def test_tenant_aggregate_rejects_node_level_input() -> None:
    with pytest.raises(ValidationError) as info:
        TenantAnomalyAggregator().aggregate([node_score("n1", 0.5)])
    assert info.value.field == "cluster_scores[0]"


def test_tenant_aggregate_rejects_clusters_of_several_tenants() -> None:
    clusters = [AggregatedAnomalyScore("t1", 0.8, "c1"), AggregatedAnomalyScore("t2", 0.4, "c1")]
    with pytest.raises(ValidationError):
        TenantAnomalyAggregator().aggregate(clusters)


# --- properties over every strategy --------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    scores=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
    weights=st.lists(st.floats(0.0, 5.0), min_size=12, max_size=12),
    strategy=st.sampled_from(ALL_STRATEGIES),
)
def test_node_aggregate_bounded_and_shares_sum_to_one(
    scores: list[float], weights: list[float], strategy: AggregationStrategy
) -> None:
    names = [f"m{i:02d}" for i in range(len(scores))]
    aggregator = NodeAnomalyAggregator(strategy, dict(zip(names, weights, strict=False)))
    score = aggregator.aggregate([result(n, s) for n, s in zip(names, scores, strict=True)])
    assert 0.0 <= score.aggregate_score <= 1.0
    total_weight = sum(weights[: len(scores)])
    if strategy is not AggregationStrategy.WEIGHTED or total_weight > 0:
        assert min(scores) - 1e-12 <= score.aggregate_score <= max(scores) + 1e-12
    shares = [c.share for c in score.contributors]
    if score.aggregate_score > 0:
        assert sum(shares) == pytest.approx(1.0)
    else:
        assert sum(shares) == 0.0
    if strategy is AggregationStrategy.P95:
        assert score.aggregate_score == pytest.approx(np.percentile(scores, 95))


# --- AggregationConfig and AggregationPipeline -------------------------------------------


def test_aggregation_config_defaults_match_documented_signature() -> None:
    config = AggregationConfig()
    assert (config.node_strategy, config.cluster_strategy, config.tenant_strategy) == (
        AggregationStrategy.MAX,
    ) * 3
    assert config.metric_weights == {}


def test_aggregation_config_accepts_strategy_strings_and_rejects_unknown() -> None:
    assert AggregationConfig(node_strategy="p95").node_strategy is AggregationStrategy.P95  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        AggregationConfig(cluster_strategy="sum")  # type: ignore[arg-type]
    assert info.value.field == "cluster_strategy"


def multi_cluster_results() -> list[AnomalyResult]:
    return [
        result("cpu_usage", 0.9, node="n1", cluster="c1"),
        result("memory_usage", 0.3, node="n1", cluster="c1"),
        result("cpu_usage", 0.2, node="n2", cluster="c1"),
        result("latency", 0.7, node="n3", cluster="c2"),
        result("cpu_usage", 0.1, node="n4", cluster="c2"),
    ]


def test_pipeline_aggregate_nodes_groups_by_cluster_sorted() -> None:
    by_cluster = AggregationPipeline().aggregate_nodes(reversed(multi_cluster_results()))
    assert list(by_cluster) == ["c1", "c2"]
    assert [s.node_id for s in by_cluster["c1"]] == ["n1", "n2"]
    assert [s.aggregate_score for s in by_cluster["c2"]] == [0.7, 0.1]


def test_pipeline_aggregate_nodes_empty_is_empty_mapping() -> None:
    assert AggregationPipeline().aggregate_nodes([]) == {}


def test_pipeline_aggregate_nodes_rejects_several_tenants() -> None:
    with pytest.raises(ValidationError):
        AggregationPipeline().aggregate_nodes([result("cpu", 0.5), result("cpu", 0.5, tenant="t2")])


def test_pipeline_rolls_up_clusters_and_tenant() -> None:
    pipeline = AggregationPipeline(AggregationConfig(cluster_strategy=AggregationStrategy.MEAN))
    clusters = pipeline.aggregate_clusters(pipeline.aggregate_nodes(multi_cluster_results()))
    assert [c.cluster_id for c in clusters] == ["c1", "c2"]
    assert [c.aggregate_score for c in clusters] == pytest.approx([0.55, 0.4])
    tenant = pipeline.aggregate_tenant(clusters)
    assert tenant.aggregate_score == pytest.approx(0.55)
    assert tenant.num_metrics_analyzed == 5


def test_pipeline_rank_nodes_accepts_mapping() -> None:
    pipeline = AggregationPipeline()
    ranked = pipeline.rank_nodes(pipeline.aggregate_nodes(multi_cluster_results()), top_n=2)
    assert [s.node_id for s in ranked] == ["n1", "n3"]


def test_pipeline_weighted_config_applies_metric_weights() -> None:
    config = AggregationConfig(
        node_strategy=AggregationStrategy.WEIGHTED, metric_weights={"cpu_usage": 4.0}
    )
    outcome = AggregationPipeline(config).run(multi_cluster_results())
    n1 = next(s for s in outcome.nodes if s.node_id == "n1")
    assert n1.aggregate_score == pytest.approx((4 * 0.9 + 0.3) / 5)


def test_pipeline_run_produces_every_level_for_every_tenant() -> None:
    results = [*multi_cluster_results(), result("cpu_usage", 0.95, node="x1", tenant="t2")]
    outcome = AggregationPipeline().run(results)
    assert [s.tenant_id for s in outcome.tenants] == ["t1", "t2"]
    assert len(outcome.nodes) == 5 and len(outcome.clusters) == 3
    assert outcome.ranked_nodes[0].node_id == "x1"
    assert len(outcome.all_scores()) == 10
    t1 = outcome.tenant_score("t1")
    assert t1 is not None and t1.aggregate_score == 0.9
    assert outcome.tenant_score("missing") is None


def test_pipeline_run_top_n_cuts_the_ranking() -> None:
    outcome = AggregationPipeline().run(multi_cluster_results(), top_n=1)
    assert [s.node_id for s in outcome.ranked_nodes] == ["n1"]
    assert len(outcome.nodes) == 4


def test_pipeline_run_empty_input_is_an_empty_outcome() -> None:
    assert AggregationPipeline().run([]) == AggregationOutcome()


def test_pipeline_outcome_explains_the_leading_node() -> None:
    outcome = AggregationPipeline().run(multi_cluster_results())
    first = outcome.explain(top_n=1)[0]
    assert first.startswith("node n1 ranks first with 0.90 (max): cpu_usage 0.90 (100 %)")


def test_pipeline_run_is_deterministic() -> None:
    results = multi_cluster_results()
    assert AggregationPipeline().run(results) == AggregationPipeline().run(list(reversed(results)))
