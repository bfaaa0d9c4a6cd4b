"""The three aggregators: metric results → node score → cluster score → tenant score.

Public through :mod:`backend.analytics.aggregation`; see its docstring for the semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from backend.analytics._strategies import (
    DEFAULT_METRIC_WEIGHTS,
    AggregationStrategy,
    check_weights,
    combine,
    contributions,
    parse_strategy,
)
from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.ranking import rank_scores
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult
from backend.errors import ValidationError

__all__ = [
    "ClusterAnomalyAggregator",
    "NodeAnomalyAggregator",
    "TenantAnomalyAggregator",
    "same_owner",
]


class NodeAnomalyAggregator:
    """One node's metric results → one node score.

    ``metric_weights`` (WEIGHTED only): None or empty means :data:`DEFAULT_METRIC_WEIGHTS`;
    a mapping replaces them, and metrics it does not name weigh 1.0. A weight of 0 ignores
    the metric. ``num_anomalies_detected`` counts the results whose label is not normal.

    >>> from datetime import datetime
    >>> t0, t1 = datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 1, 0)
    >>> agg = NodeAnomalyAggregator("weighted", {"cpu": 3.0, "disk": 1.0})
    >>> score = agg.aggregate([AnomalyResult("t", "c", "n", "cpu", t0, t1, 0.8, "spike"),
    ...                        AnomalyResult("t", "c", "n", "disk", t0, t1, 0.4, "normal")])
    >>> round(score.aggregate_score, 2), score.num_anomalies_detected
    (0.7, 1)
    >>> [(c.component, round(c.share, 2)) for c in score.contributors]
    [('cpu', 0.86), ('disk', 0.14)]
    """

    def __init__(
        self,
        strategy: AggregationStrategy | str = AggregationStrategy.MAX,
        metric_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.strategy = parse_strategy(strategy)
        self.metric_weights = check_weights(
            metric_weights or DEFAULT_METRIC_WEIGHTS, "metric_weights"
        )

    def weight_of(self, metric_name: str) -> float:
        """The weight WEIGHTED gives ``metric_name``."""
        return self.metric_weights.get(metric_name, 1.0)

    def aggregate(
        self, anomaly_results: Iterable[AnomalyResult], timestamp: datetime | None = None
    ) -> AggregatedAnomalyScore:
        """Score one node from its results (all must share tenant, cluster and node)."""
        results = _non_empty(anomaly_results, "anomaly_results")
        owner = same_owner(
            results, lambda r: (r.tenant_id, r.cluster_id, r.node_id), "anomaly_results"
        )
        all_scores = np.array([r.anomaly_score for r in results], dtype=np.float64)
        names, picked = _worst_per_component([r.metric_name for r in results], all_scores)
        weights = np.array([self.weight_of(name) for name in names], dtype=np.float64)
        when = timestamp if timestamp is not None else _latest(r.window_end for r in results)
        counts = (len(names), sum(r.is_anomaly for r in results))
        return _build(self.strategy, names, all_scores[picked], weights, owner, when, counts)


class _RollUp:
    """Shared body of the cluster and tenant aggregators: scores of one level → one above.

    ``weights`` (an addition to the documented API, WEIGHTED only) maps component ids (node
    ids for a cluster, cluster ids for a tenant) to weights; unnamed components weigh 1.0.
    """

    _input_level = ""

    def __init__(
        self,
        strategy: AggregationStrategy | str = AggregationStrategy.MAX,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        self.strategy = parse_strategy(strategy)
        self.weights = check_weights(weights, "weights")

    def _roll_up(
        self,
        inputs: Iterable[AggregatedAnomalyScore],
        field_name: str,
        timestamp: datetime | None,
    ) -> AggregatedAnomalyScore:
        scores_in = _non_empty(inputs, field_name)
        _check_level(scores_in, self._input_level, field_name)
        node_level = self._input_level == "node"
        tenant, cluster = same_owner(
            scores_in, lambda s: (s.tenant_id, s.cluster_id if node_level else None), field_name
        )
        all_scores = np.array([s.aggregate_score for s in scores_in], dtype=np.float64)
        components = [str(s.node_id if node_level else s.cluster_id) for s in scores_in]
        names, picked = _worst_per_component(components, all_scores)
        chosen = [scores_in[i] for i in picked]
        weights = np.array([self.weights.get(name, 1.0) for name in names], dtype=np.float64)
        when = timestamp if timestamp is not None else _latest(s.timestamp for s in chosen)
        counts = (
            sum(s.num_metrics_analyzed for s in chosen),
            sum(s.num_anomalies_detected for s in chosen),
        )
        owner = (tenant, cluster, None)
        return _build(self.strategy, names, all_scores[picked], weights, owner, when, counts)


class ClusterAnomalyAggregator(_RollUp):
    """Node scores of one cluster → one cluster score (contributors are node ids)."""

    _input_level = "node"

    def aggregate(
        self, node_scores: Iterable[AggregatedAnomalyScore], timestamp: datetime | None = None
    ) -> AggregatedAnomalyScore:
        """Score the cluster; counts are summed over its nodes."""
        return self._roll_up(node_scores, "node_scores", timestamp)

    def rank_nodes(
        self, node_scores: Iterable[AggregatedAnomalyScore], top_n: int | None = None
    ) -> list[AggregatedAnomalyScore]:
        """Node scores worst first (ties: more anomalies first, then ids), cut to ``top_n``."""
        scores = list(node_scores)
        _check_level(scores, "node", "node_scores")
        return rank_scores(scores, top_n)


class TenantAnomalyAggregator(_RollUp):
    """Cluster scores of one tenant → the tenant score (contributors are cluster ids)."""

    _input_level = "cluster"

    def aggregate(
        self, cluster_scores: Iterable[AggregatedAnomalyScore], timestamp: datetime | None = None
    ) -> AggregatedAnomalyScore:
        """Score the tenant; counts are summed over its clusters."""
        return self._roll_up(cluster_scores, "cluster_scores", timestamp)


def _non_empty(items: Iterable[Any], field_name: str) -> list[Any]:
    listed = list(items)
    if not listed:
        raise ValidationError(field_name, listed, "nothing to aggregate: pass at least one")
    return listed


def same_owner(
    items: Sequence[Any], owner: Callable[[Any], tuple[Any, ...]], field_name: str
) -> tuple[Any, ...]:
    """The owner ids every item shares; items of several owners are rejected."""
    first = owner(items[0])
    for index, item in enumerate(items):
        if owner(item) != first:
            found = "/".join(str(part) for part in owner(item) if part is not None)
            expected = "/".join(str(part) for part in first if part is not None)
            raise ValidationError(
                f"{field_name}[{index}]", found, f"mixes owners: the first is {expected}"
            )
    return first


def _check_level(scores: Sequence[AggregatedAnomalyScore], level: str, field_name: str) -> None:
    for index, score in enumerate(scores):
        if score.level != level:
            raise ValidationError(
                f"{field_name}[{index}]", score.level, f"is not a {level}-level score"
            )


def _worst_per_component(names: Sequence[str], scores: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted unique names and, for each, the index of its highest score (first on ties)."""
    unique, group = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    order = np.lexsort((-scores, group))
    firsts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
    return [str(n) for n in unique], order[firsts]


def _latest(times: Iterable[datetime]) -> datetime:
    return max(times, key=to_epoch_ns)


def _build(
    strategy: AggregationStrategy,
    names: list[str],
    scores: np.ndarray,
    weights: np.ndarray,
    owner: tuple[str, str | None, str | None],
    when: datetime,
    counts: tuple[int, int],
) -> AggregatedAnomalyScore:
    """The score of ``owner`` (tenant, cluster, node) with its provenance."""
    aggregate, shares = combine(strategy, scores, weights)
    applied = weights if strategy is AggregationStrategy.WEIGHTED else np.ones_like(scores)
    tenant, cluster, node = owner
    return AggregatedAnomalyScore(
        tenant_id=tenant,
        aggregate_score=aggregate,
        cluster_id=cluster,
        node_id=node,
        aggregation_strategy=strategy.value,
        num_metrics_analyzed=int(counts[0]),
        num_anomalies_detected=int(counts[1]),
        timestamp=when,
        contributors=contributions(names, scores, applied, shares),
    )
