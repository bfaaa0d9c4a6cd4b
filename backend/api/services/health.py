"""Health of a tenant and its clusters, and node rankings, from stored aggregated scores.

Health is the complement of the aggregated anomaly score: ``health = 1 - score`` in [0, 1],
1 meaning nothing anomalous. Only the latest score per (cluster, node) counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from backend.analytics.ranking import rank_scores
from backend.analytics.types import AggregatedAnomalyScore
from backend.api.params import SeriesFilter
from backend.api.services.cache import TtlCache
from backend.api.services.scope import require_known
from backend.storage.interface import StorageBackend

__all__ = ["ClusterHealth", "HealthService", "TenantHealth", "health_status"]

DEGRADED_AT = 0.5
CRITICAL_AT = 0.8


def health_status(aggregate_score: float | None) -> str:
    """``healthy`` / ``degraded`` / ``critical`` by the aggregate score (``no_data`` if None).

    >>> health_status(0.2), health_status(0.6), health_status(0.9), health_status(None)
    ('healthy', 'degraded', 'critical', 'no_data')
    """
    if aggregate_score is None:
        return "no_data"
    if aggregate_score >= CRITICAL_AT:
        return "critical"
    return "degraded" if aggregate_score >= DEGRADED_AT else "healthy"


@dataclass(frozen=True)
class ClusterHealth:
    """A cluster's latest score and its worst nodes."""

    score: AggregatedAnomalyScore
    top_nodes: list[AggregatedAnomalyScore]


@dataclass(frozen=True)
class TenantHealth:
    """The tenant's latest score (None before any detection) and its clusters, worst first."""

    tenant_id: str
    score: AggregatedAnomalyScore | None
    clusters: list[ClusterHealth]


class HealthService:
    """Reads the latest aggregated scores of a tenant.

    ``cache_seconds`` keeps a tenant's latest scores that long (0: always read storage); they
    change only when detection runs, while dashboards ask for them constantly.
    """

    def __init__(self, storage: StorageBackend, cache_seconds: float = 0.0) -> None:
        self.storage = storage
        self.cache_seconds = cache_seconds
        self._latest: TtlCache[list[AggregatedAnomalyScore]] = TtlCache(cache_seconds)

    def latest_scores(self, tenant_id: str) -> list[AggregatedAnomalyScore]:
        """The newest score per (cluster, node) of every level, possibly cached."""
        return self._latest.get_or_load(
            tenant_id, lambda: self.storage.query_aggregated_scores(tenant_id, latest_only=True)
        )

    def tenant_health(self, tenant_id: str, top_n: int = 3) -> TenantHealth:
        """Tenant score, every scored cluster and its ``top_n`` worst nodes."""
        latest = self.latest_scores(tenant_id)
        by_level: dict[str, list[AggregatedAnomalyScore]] = defaultdict(list)
        for score in latest:
            by_level[score.level].append(score)
        nodes_by_cluster: dict[str, list[AggregatedAnomalyScore]] = defaultdict(list)
        for node in by_level["node"]:
            nodes_by_cluster[str(node.cluster_id)].append(node)
        cluster_scores = {str(s.cluster_id): s for s in by_level["cluster"]}
        for cluster_id, nodes in nodes_by_cluster.items():
            cluster_scores.setdefault(cluster_id, _worst_of(tenant_id, cluster_id, nodes))
        clusters = [
            ClusterHealth(score, rank_scores(nodes_by_cluster.get(cid, []), top_n=top_n))
            for cid, score in cluster_scores.items()
        ]
        clusters.sort(key=lambda c: (-c.score.aggregate_score, c.score.cluster_id or ""))
        tenant = _latest(by_level["tenant"]) or _tenant_from(tenant_id, clusters)
        return TenantHealth(tenant_id, tenant, clusters)

    def top_nodes(
        self, tenant_id: str, cluster_id: str | None = None, n: int = 10
    ) -> list[AggregatedAnomalyScore]:
        """The ``n`` worst nodes of a cluster (or of the whole tenant), worst first."""
        require_known(self.storage, tenant_id, SeriesFilter(cluster_id=cluster_id))
        nodes = [
            score
            for score in self.latest_scores(tenant_id)
            if score.level == "node" and (cluster_id is None or score.cluster_id == cluster_id)
        ]
        return rank_scores(nodes, top_n=n)


def _latest(scores: list[AggregatedAnomalyScore]) -> AggregatedAnomalyScore | None:
    return max(scores, key=lambda s: s.timestamp) if scores else None


def _worst_of(
    tenant_id: str, cluster_id: str, nodes: list[AggregatedAnomalyScore]
) -> AggregatedAnomalyScore:
    """A cluster score when only node scores are stored: the worst node (MAX strategy)."""
    worst = rank_scores(nodes, top_n=1)[0]
    return AggregatedAnomalyScore(
        tenant_id,
        worst.aggregate_score,
        cluster_id,
        None,
        "max",
        sum(n.num_metrics_analyzed for n in nodes),
        sum(n.num_anomalies_detected for n in nodes),
        max(n.timestamp for n in nodes),
    )


def _tenant_from(tenant_id: str, clusters: list[ClusterHealth]) -> AggregatedAnomalyScore | None:
    if not clusters:
        return None
    worst = clusters[0].score
    return AggregatedAnomalyScore(
        tenant_id,
        worst.aggregate_score,
        None,
        None,
        "max",
        timestamp=max(c.score.timestamp for c in clusters),
    )
