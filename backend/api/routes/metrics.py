"""``/metrics``: ingest batches, read stored series, list series keys, score a series."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from backend.analytics.types import SeriesKey
from backend.api.deps import Context, ViewerPrincipal, WriterPrincipal
from backend.api.encoding import OrjsonResponse, float_list, series_dict
from backend.api.params import SeriesFilter, parse_time, utc_iso_array
from backend.api.problems import BatchValidationError
from backend.api.routes._common import (
    ClusterQuery,
    EndQuery,
    MetricQuery,
    NodeQuery,
    StartQuery,
    check_range,
)
from backend.api.schemas import (
    FieldErrorOut,
    IngestResponse,
    MetricsResponse,
    RejectedSeriesOut,
    ScoresResponse,
    SeriesKeyOut,
    SeriesListResponse,
)

router = APIRouter(tags=["metrics"])

INGEST_BODY_SCHEMA_REF = "#/components/schemas/IngestRequest"


@router.post(
    "/metrics",
    response_model=IngestResponse,
    summary="Ingest a batch of series",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": INGEST_BODY_SCHEMA_REF}}},
        }
    },
)
async def ingest_metrics(
    request: Request,
    principal: WriterPrincipal,
    context: Context,
    atomic: Annotated[
        bool, Query(description="Reject the whole batch if any series is invalid")
    ] = False,
) -> IngestResponse:
    """Validate and store series for the caller's tenant.

    Each series is accepted or rejected whole; rejected ones are listed with every reason
    (``series[3].values[17]``). If every series is rejected, or ``atomic=true`` and any is,
    the answer is a 422 problem and nothing is stored.
    """
    body = await request.body()
    outcome = await run_in_threadpool(context.ingest.ingest, principal.tenant_id, body, atomic)
    rejected = [
        RejectedSeriesOut(
            index=r.index,
            cluster_id=_text(r.ids[0]),
            node_id=_text(r.ids[1]),
            metric_name=_text(r.ids[2]),
            errors=[FieldErrorOut(field=e.field, reason=e.reason) for e in r.errors],
        )
        for r in outcome.rejected
    ]
    if outcome.accepted_series == 0 and rejected:
        errors = [error for r in outcome.rejected for error in r.errors]
        raise BatchValidationError(errors, f"all {len(rejected)} series were rejected")
    return IngestResponse(
        tenant_id=outcome.tenant_id,
        accepted_series=outcome.accepted_series,
        accepted_points=outcome.accepted_points,
        rejected_series=len(rejected),
        rejected=rejected,
        warnings=[FieldErrorOut(field=w.field, reason=w.reason) for w in outcome.warnings],
    )


@router.get(
    "/metrics",
    response_model=MetricsResponse,
    response_class=OrjsonResponse,
    summary="Read stored series",
)
def read_metrics(
    principal: ViewerPrincipal,
    context: Context,
    cluster_id: ClusterQuery = None,
    node_id: NodeQuery = None,
    metric_name: MetricQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """Points of the matching series in ``[start, end]`` (inclusive), timestamps ISO-8601 UTC.

    The answer has the shape ``POST /metrics`` accepts. A filter that matches nothing is 404.
    """
    start_at, end_at = check_range(parse_time("start", start), parse_time("end", end))
    found = context.metrics.series(
        principal.tenant_id, SeriesFilter(cluster_id, node_id, metric_name), start_at, end_at
    )
    return OrjsonResponse(
        {"tenant_id": principal.tenant_id, "series": [series_dict(s) for s in found]}
    )


@router.get("/metrics/series", response_model=SeriesListResponse, summary="List series keys")
def list_series(
    principal: ViewerPrincipal,
    context: Context,
    cluster_id: ClusterQuery = None,
    node_id: NodeQuery = None,
    metric_name: MetricQuery = None,
) -> SeriesListResponse:
    """The tenant's series keys (cluster, node, metric), sorted; for drill-down menus."""
    keys = context.metrics.list_keys(
        principal.tenant_id, SeriesFilter(cluster_id, node_id, metric_name)
    )
    return SeriesListResponse(
        tenant_id=principal.tenant_id,
        series=[
            SeriesKeyOut(cluster_id=k.cluster_id, node_id=k.node_id, metric_name=k.metric_name)
            for k in keys
        ],
    )


@router.get(
    "/metrics/scores",
    response_model=ScoresResponse,
    response_class=OrjsonResponse,
    summary="Per-point scores, expected value and usual range of one series",
)
def series_scores(
    principal: ViewerPrincipal,
    context: Context,
    cluster_id: Annotated[str, Query(min_length=1, max_length=256)],
    node_id: Annotated[str, Query(min_length=1, max_length=256)],
    metric_name: Annotated[str, Query(min_length=1, max_length=256)],
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    """The series with the engine's per-point anomaly score, forecast and usual range, for charts.

    Without ``start``/``end`` the last ``scores_window_hours`` (default 24) of data are scored.
    """
    start_at, end_at = check_range(parse_time("start", start), parse_time("end", end))
    key = SeriesKey(principal.tenant_id, cluster_id, node_id, metric_name)
    scored = context.metrics.scores(principal.tenant_id, key, start_at, end_at)
    body = series_dict(scored.series)
    body.update(
        scores=float_list(scored.scores),
        expected=float_list(scored.expected),
        lower=float_list(scored.lower),
        upper=float_list(scored.upper),
        modelled=float_list(scored.modelled),
        usual_lower=float_list(scored.usual_lower),
        usual_upper=float_list(scored.usual_upper),
        engine=scored.engine,
        limit=None if scored.limit is None else scored.limit.as_dict(),
        learning_until=(
            None
            if scored.learning_until_ns is None
            else utc_iso_array(np.array([scored.learning_until_ns], dtype=np.int64))[0]
        ),
    )
    return OrjsonResponse(body)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
