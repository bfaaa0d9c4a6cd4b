"""``GET /anomalies``: stored anomaly results, paged with stable keyset cursors."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.api.deps import Context, ViewerPrincipal
from backend.api.encoding import anomaly_out
from backend.api.params import SeriesFilter, parse_time
from backend.api.routes._common import (
    ClusterQuery,
    EndQuery,
    MetricQuery,
    NodeQuery,
    StartQuery,
    check_range,
)
from backend.api.schemas import AnomalyPage
from backend.api.services.anomalies import AnomalyQuery
from backend.api.settings import MAX_PAGE_LIMIT
from backend.storage.interface import DEFAULT_MIN_SCORE

router = APIRouter(tags=["anomalies"])


@router.get("/anomalies", response_model=AnomalyPage, summary="Query anomaly results")
def list_anomalies(
    principal: ViewerPrincipal,
    context: Context,
    cluster_id: ClusterQuery = None,
    node_id: NodeQuery = None,
    metric_name: MetricQuery = None,
    min_score: Annotated[
        float, Query(ge=0.0, le=1.0, description="Only results scoring at least this")
    ] = DEFAULT_MIN_SCORE,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_LIMIT, description="Page size")] = None,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
    order: Annotated[
        Literal["desc", "asc"], Query(description="By window start: newest first or oldest")
    ] = "desc",
) -> AnomalyPage:
    """Results whose window overlaps ``[start, end]``, newest first by default.

    Pages are cut by keyset on ``(window_start, id)``: results stored while a client pages
    through never cause an item to be skipped or repeated.
    """
    start_at, end_at = check_range(parse_time("start", start), parse_time("end", end))
    query = AnomalyQuery(
        SeriesFilter(cluster_id, node_id, metric_name), min_score, start_at, end_at, order
    )
    page_size = limit or context.settings.default_page_limit
    page = context.anomalies.page(principal.tenant_id, query, page_size, cursor)
    return AnomalyPage(
        items=[anomaly_out(row) for row in page.items],
        next_cursor=page.next_cursor,
        limit=page_size,
    )
