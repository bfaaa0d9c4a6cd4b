"""``GET /nodes/top``: nodes ranked worst first, with the metrics that drove each score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Context, ViewerPrincipal
from backend.api.encoding import node_score_out
from backend.api.routes._common import ClusterQuery
from backend.api.schemas import TopNodesResponse

router = APIRouter(tags=["nodes"])


@router.get("/nodes/top", response_model=TopNodesResponse, summary="Most anomalous nodes")
def top_nodes(
    principal: ViewerPrincipal,
    context: Context,
    cluster_id: ClusterQuery = None,
    n: Annotated[int, Query(ge=1, le=1000, description="How many nodes")] = 10,
) -> TopNodesResponse:
    """The ``n`` nodes with the highest latest aggregated score, of one cluster or of all."""
    ranked = context.health.top_nodes(principal.tenant_id, cluster_id, n)
    return TopNodesResponse(
        tenant_id=principal.tenant_id,
        cluster_id=cluster_id,
        nodes=[node_score_out(score) for score in ranked],
    )
