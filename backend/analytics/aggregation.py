"""Roll per-metric anomaly results up to node, cluster and tenant scores, with provenance.

Levels: metric results → :class:`NodeAnomalyAggregator` → node score →
:class:`ClusterAnomalyAggregator` → cluster score → :class:`TenantAnomalyAggregator` → tenant
score. At each level several inputs for the same component (a metric's many windows, a node
scored twice) first collapse to that component's worst score, so a long series does not
outweigh a short one. The strategies (MAX, MEAN, WEIGHTED, P95) and the share each component
gets are defined in :func:`backend.analytics._strategies.combine`; every score carries them as
``contributors`` so a ranking can be explained (:func:`backend.analytics.ranking.explain_rank`).

An aggregated score's ``timestamp`` defaults to the time of the data it summarises (the latest
``window_end`` at node level, the latest input timestamp above), so re-running is repeatable.

>>> from datetime import datetime
>>> t0, t1 = datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 1, 0)
>>> results = [AnomalyResult("t", "c", "n", "cpu", t0, t1, 0.9, "spike"),
...            AnomalyResult("t", "c", "n", "memory", t0, t1, 0.1, "normal")]
>>> [round(NodeAnomalyAggregator(s).aggregate(results).aggregate_score, 2)
...  for s in ("max", "mean", "p95")]
[0.9, 0.5, 0.86]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.analytics._aggregators import (
    ClusterAnomalyAggregator,
    NodeAnomalyAggregator,
    TenantAnomalyAggregator,
    same_owner,
)
from backend.analytics._strategies import (
    DEFAULT_METRIC_WEIGHTS,
    AggregationStrategy,
    check_weights,
    parse_strategy,
)
from backend.analytics.ranking import explain_rank, rank_scores
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult

__all__ = [
    "DEFAULT_METRIC_WEIGHTS",
    "AggregationConfig",
    "AggregationOutcome",
    "AggregationPipeline",
    "AggregationStrategy",
    "ClusterAnomalyAggregator",
    "NodeAnomalyAggregator",
    "TenantAnomalyAggregator",
]


@dataclass(frozen=True)
class AggregationConfig:
    """Strategy per level and the metric weights (empty = :data:`DEFAULT_METRIC_WEIGHTS`)."""

    node_strategy: AggregationStrategy = AggregationStrategy.MAX
    cluster_strategy: AggregationStrategy = AggregationStrategy.MAX
    tenant_strategy: AggregationStrategy = AggregationStrategy.MAX
    metric_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("node_strategy", "cluster_strategy", "tenant_strategy"):
            object.__setattr__(self, name, parse_strategy(getattr(self, name), name))
        object.__setattr__(
            self, "metric_weights", check_weights(self.metric_weights, "metric_weights")
        )


@dataclass(frozen=True)
class AggregationOutcome:
    """Everything one :meth:`AggregationPipeline.run` produced.

    ``nodes``, ``clusters`` and ``tenants`` are sorted by id; ``ranked_nodes`` is worst first.
    """

    nodes: tuple[AggregatedAnomalyScore, ...] = ()
    clusters: tuple[AggregatedAnomalyScore, ...] = ()
    tenants: tuple[AggregatedAnomalyScore, ...] = ()
    ranked_nodes: tuple[AggregatedAnomalyScore, ...] = ()

    def all_scores(self) -> list[AggregatedAnomalyScore]:
        """Node, cluster and tenant scores together (what storage keeps)."""
        return [*self.nodes, *self.clusters, *self.tenants]

    def tenant_score(self, tenant_id: str) -> AggregatedAnomalyScore | None:
        """The tenant-level score of ``tenant_id``, if it had results."""
        return next((s for s in self.tenants if s.tenant_id == tenant_id), None)

    def explain(self, top_n: int = 3) -> list[str]:
        """One sentence per leading node: why it ranks where it does."""
        return [explain_rank(s, rank) for rank, s in enumerate(self.ranked_nodes[:top_n], 1)]


class AggregationPipeline:
    """Metric results → node, cluster and tenant scores and a node ranking, in one place.

    >>> from datetime import datetime
    >>> t0, t1 = datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 1, 0)
    >>> out = AggregationPipeline().run([
    ...     AnomalyResult("t", "c1", "n1", "cpu_usage", t0, t1, 0.9, "spike"),
    ...     AnomalyResult("t", "c1", "n2", "cpu_usage", t0, t1, 0.2, "normal"),
    ...     AnomalyResult("t", "c2", "n3", "latency", t0, t1, 0.6, "trend")])
    >>> [(s.node_id, s.aggregate_score) for s in out.ranked_nodes]
    [('n1', 0.9), ('n3', 0.6), ('n2', 0.2)]
    >>> out.tenants[0].aggregate_score, out.tenants[0].num_anomalies_detected
    (0.9, 2)
    """

    def __init__(self, config: AggregationConfig | None = None) -> None:
        self.config = config or AggregationConfig()
        self._node = NodeAnomalyAggregator(
            self.config.node_strategy, self.config.metric_weights or None
        )
        self._cluster = ClusterAnomalyAggregator(self.config.cluster_strategy)
        self._tenant = TenantAnomalyAggregator(self.config.tenant_strategy)

    def aggregate_nodes(
        self, anomaly_results: Iterable[AnomalyResult], timestamp: datetime | None = None
    ) -> dict[str, list[AggregatedAnomalyScore]]:
        """Node scores of one tenant by cluster id (clusters and nodes sorted; {} if none)."""
        results = list(anomaly_results)
        if not results:
            return {}
        same_owner(results, lambda r: (r.tenant_id,), "anomaly_results")
        by_node = _group(results, lambda r: (r.cluster_id, r.node_id))
        out: dict[str, list[AggregatedAnomalyScore]] = {}
        for (cluster, _node), group in sorted(by_node.items()):
            out.setdefault(cluster, []).append(self._node.aggregate(group, timestamp))
        return out

    def aggregate_clusters(
        self,
        node_scores_by_cluster: Mapping[str, Sequence[AggregatedAnomalyScore]],
        timestamp: datetime | None = None,
    ) -> list[AggregatedAnomalyScore]:
        """One score per cluster with node scores, sorted by cluster id."""
        return [
            self._cluster.aggregate(scores, timestamp)
            for _cluster, scores in sorted(node_scores_by_cluster.items())
            if scores
        ]

    def aggregate_tenant(
        self, cluster_scores: Iterable[AggregatedAnomalyScore], timestamp: datetime | None = None
    ) -> AggregatedAnomalyScore:
        """The tenant score from its cluster scores."""
        return self._tenant.aggregate(cluster_scores, timestamp)

    def rank_nodes(
        self,
        node_scores: Mapping[str, Sequence[AggregatedAnomalyScore]]
        | Iterable[AggregatedAnomalyScore],
        top_n: int | None = None,
    ) -> list[AggregatedAnomalyScore]:
        """Top-N node ranking, from a list or from :meth:`aggregate_nodes`' mapping."""
        if isinstance(node_scores, Mapping):
            node_scores = [s for scores in node_scores.values() for s in scores]
        return self._cluster.rank_nodes(node_scores, top_n)

    def run(
        self,
        anomaly_results: Iterable[AnomalyResult],
        timestamp: datetime | None = None,
        top_n: int | None = None,
    ) -> AggregationOutcome:
        """All levels for every tenant in ``anomaly_results`` (an empty outcome if none)."""
        nodes: list[AggregatedAnomalyScore] = []
        clusters: list[AggregatedAnomalyScore] = []
        tenants: list[AggregatedAnomalyScore] = []
        for _tenant, results in sorted(_group(anomaly_results, lambda r: r.tenant_id).items()):
            by_cluster = self.aggregate_nodes(results, timestamp)
            tenant_clusters = self.aggregate_clusters(by_cluster, timestamp)
            nodes.extend(s for scores in by_cluster.values() for s in scores)
            clusters.extend(tenant_clusters)
            tenants.append(self.aggregate_tenant(tenant_clusters, timestamp))
        ranked = rank_scores(nodes, top_n)
        return AggregationOutcome(tuple(nodes), tuple(clusters), tuple(tenants), tuple(ranked))


def _group(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups
