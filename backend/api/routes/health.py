"""``GET /health`` (tenant health summary) and ``GET /healthz`` (liveness, no auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Context, ViewerPrincipal
from backend.api.encoding import node_score_out
from backend.api.schemas import ClusterHealthOut, HealthResponse, LivenessResponse
from backend.api.services.health import health_status

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Tenant and cluster health")
def tenant_health(
    principal: ViewerPrincipal,
    context: Context,
    top_n: Annotated[int, Query(ge=1, le=100, description="Worst nodes listed per cluster")] = 3,
) -> HealthResponse:
    """Health of the tenant and each cluster (``1 - aggregate anomaly score``, in [0, 1]),
    with each cluster's worst nodes and the metrics that drove them."""
    health = context.health.tenant_health(principal.tenant_id, top_n)
    score = health.score.aggregate_score if health.score else None
    clusters = [
        ClusterHealthOut(
            cluster_id=str(c.score.cluster_id),
            health_score=round(1.0 - c.score.aggregate_score, 6),
            aggregate_score=c.score.aggregate_score,
            status=health_status(c.score.aggregate_score),
            timestamp=c.score.timestamp,
            top_nodes=[node_score_out(node) for node in c.top_nodes],
        )
        for c in health.clusters
    ]
    return HealthResponse(
        tenant_id=principal.tenant_id,
        health_score=None if score is None else round(1.0 - score, 6),
        aggregate_score=score,
        status=health_status(score),
        timestamp=health.score.timestamp if health.score else None,
        clusters=clusters,
    )


@router.get("/healthz", response_model=LivenessResponse, summary="Liveness probe")
def liveness() -> LivenessResponse:
    """Answers 200 while the process serves requests (no credential needed)."""
    return LivenessResponse()
