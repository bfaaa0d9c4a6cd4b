"""Request and response bodies of the HTTP API (pydantic v2, the edge only).

Inside, the platform speaks frozen dataclasses and numpy arrays; these models exist to document
the wire format in OpenAPI and to shape responses. Datetimes go out as ISO-8601 UTC with ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from backend.api.auth import Role

__all__ = [
    "AnomalyOut",
    "AnomalyPage",
    "ClusterHealthOut",
    "ContributorOut",
    "FieldErrorOut",
    "HealthResponse",
    "IngestRequest",
    "IngestResponse",
    "KeyCreateRequest",
    "KeyCreatedOut",
    "KeyListResponse",
    "KeyOut",
    "LivenessResponse",
    "MetricsResponse",
    "NodeScoreOut",
    "Problem",
    "RejectedSeriesOut",
    "ScoresResponse",
    "SeriesIn",
    "SeriesKeyOut",
    "SeriesListResponse",
    "SeriesOut",
    "TopNodesResponse",
]


class _Out(BaseModel):
    """Response models: datetimes serialise as UTC ``...Z`` whatever their awareness."""

    model_config = ConfigDict(frozen=True)

    @field_serializer("*", when_used="json", check_fields=False)
    def _utc(self, value: Any) -> Any:
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value


# --- ingestion --------------------------------------------------------------------------
class SeriesIn(BaseModel):
    """One series to ingest. Timestamps strictly increase; values are finite numbers."""

    cluster_id: str = Field(min_length=1, max_length=256, examples=["prod-eu"])
    node_id: str = Field(min_length=1, max_length=256, examples=["node-1"])
    metric_name: str = Field(min_length=1, max_length=256, examples=["cpu_usage"])
    timestamps: list[datetime | float] = Field(
        description="ISO-8601 (no zone means UTC) or epoch seconds, one kind per series",
        examples=[["2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z"]],
    )
    values: list[float] = Field(examples=[[41.5, 43.0]])
    metadata: dict[str, Any] | None = None
    tenant_id: str | None = Field(default=None, description="If given, must be the caller's")


class IngestRequest(BaseModel):
    """A batch of series for the caller's tenant."""

    tenant_id: str | None = Field(default=None, description="If given, must be the caller's")
    series: list[SeriesIn]


class FieldErrorOut(_Out):
    """A rejected field (JSON path) and why."""

    field: str
    reason: str


class RejectedSeriesOut(_Out):
    """One series of the batch that was not stored, with every reason found."""

    index: int
    cluster_id: str | None = None
    node_id: str | None = None
    metric_name: str | None = None
    errors: list[FieldErrorOut]


class IngestResponse(_Out):
    """What a batch did: accepted series/points, and each rejected series with reasons."""

    tenant_id: str
    accepted_series: int
    accepted_points: int
    rejected_series: int
    rejected: list[RejectedSeriesOut]
    warnings: list[FieldErrorOut] = []


# --- metrics ----------------------------------------------------------------------------
class SeriesKeyOut(_Out):
    """Identity of a stored series."""

    cluster_id: str
    node_id: str
    metric_name: str


class SeriesListResponse(_Out):
    """Keys of the tenant's series, sorted."""

    tenant_id: str
    series: list[SeriesKeyOut]


class SeriesOut(SeriesKeyOut):
    """Stored points of one series (the same shape ``POST /metrics`` accepts)."""

    timestamps: list[str]
    values: list[float]


class MetricsResponse(_Out):
    """Series matching a query."""

    tenant_id: str
    series: list[SeriesOut]


class LimitOut(_Out):
    """A metric's static limit (``metric_limits`` in the detection configuration)."""

    above: float | None = Field(default=None, description="Values above this breach it")
    below: float | None = Field(default=None, description="Values below this breach it")
    for_points: int = Field(description="Consecutive breaching points before the alarm")
    for_seconds: float = Field(description="How long a breach lasts before the alarm")
    severity: str = Field(description="warning or critical")
    keep_firing_seconds: float = Field(
        default=0.0,
        description="How long values must stay back inside before a breach ends (one alarm "
        "for a metric flapping around its limit)",
    )


class ScoresResponse(SeriesOut):
    """Per-point anomaly score, forecast, usual range and alarm band of one series, for charts.

    Scores are in [0, 1]; ``expected``, ``lower``, ``upper`` and the usual range are in the
    units of ``modelled`` (equal to ``values`` except for counters, which are modelled as
    rates). ``lower``/``upper`` is the alarm band: where one point alone would alarm.
    """

    scores: list[float | None] | None = None
    expected: list[float | None] | None = None
    lower: list[float | None] | None = None
    upper: list[float | None] | None = None
    modelled: list[float | None] | None = Field(
        default=None, description="The series in the band's units (a counter's rate)"
    )
    usual_lower: list[float | None] | None = Field(
        default=None,
        description="Low edge of the usual range: the forecast plus the 1st percentile of the"
        " last day's residuals (alarming points left out); what charts draw as the band",
    )
    usual_upper: list[float | None] | None = Field(
        default=None, description="High edge of the usual range (the 99th percentile)"
    )
    engine: str
    limit: LimitOut | None = Field(
        default=None, description="The metric's static limit; its breaches are in the scores"
    )
    learning_until: datetime | None = Field(
        default=None,
        description="The engine is still learning this young series' normal behaviour until"
        " this time (its warm-up and learning period, docs/detection.md 'Cold start'): scores"
        " are 0 and nothing alarms before it. Null once every shown point is heard",
    )


# --- anomalies --------------------------------------------------------------------------
class AnomalyOut(_Out):
    """A stored anomaly result (every ``AnomalyResult`` field, ``anomaly_kind`` and ``id``)."""

    id: int
    tenant_id: str
    cluster_id: str
    node_id: str
    metric_name: str
    window_start: datetime
    window_end: datetime
    anomaly_score: float
    anomaly_label: str
    anomaly_kind: str | None = None
    magnitude: float | None = None
    explanation: str | None = None
    timestamp_detected: datetime | None = None
    engine_metadata: dict[str, Any] = {}
    ongoing: bool | None = Field(
        default=None,
        description="Still going on: its window reaches the last point detection scored of "
        "its series (a later run extends it); null when unknown or for a normal window",
    )


class AnomalyPage(_Out):
    """One page of results; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[AnomalyOut]
    next_cursor: str | None
    limit: int


# --- health and ranking -----------------------------------------------------------------
class ContributorOut(_Out):
    """A metric (or node, or cluster) that drove an aggregated score."""

    component: str
    score: float
    weight: float
    share: float


class NodeScoreOut(_Out):
    """A node's aggregated anomaly score; ``health_score`` is ``1 - aggregate_score``."""

    cluster_id: str
    node_id: str
    aggregate_score: float
    health_score: float
    num_metrics_analyzed: int
    num_anomalies_detected: int
    timestamp: datetime
    contributors: list[ContributorOut]


class TopNodesResponse(_Out):
    """Nodes ranked worst first."""

    tenant_id: str
    cluster_id: str | None
    nodes: list[NodeScoreOut]


class ClusterHealthOut(_Out):
    """A cluster's health and the nodes that pull it down."""

    cluster_id: str
    health_score: float
    aggregate_score: float
    status: str
    timestamp: datetime
    top_nodes: list[NodeScoreOut]


class HealthResponse(_Out):
    """Tenant health: ``health_score = 1 - aggregate anomaly score`` in [0, 1] (1 = healthy).

    ``status`` is ``healthy`` (aggregate < 0.5), ``degraded`` (< 0.8), ``critical`` or
    ``no_data`` when detection has not scored anything yet.
    """

    tenant_id: str
    health_score: float | None
    aggregate_score: float | None
    status: str
    timestamp: datetime | None
    clusters: list[ClusterHealthOut]


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer of the API has this body."""

    type: str = Field(examples=["urn:aboutcloud:problem:validation-error"])
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="Per-field reasons of a validation error"
    )


class LivenessResponse(_Out):
    """The process answers."""

    status: str = "ok"


# --- keys -------------------------------------------------------------------------------
class KeyCreateRequest(BaseModel):
    """A new key for the caller's tenant."""

    role: Role = Role.VIEWER
    label: str = Field(default="", max_length=200)


class KeyOut(_Out):
    """A stored key (never its secret or hash)."""

    key_id: str
    tenant_id: str
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class KeyCreatedOut(KeyOut):
    """A new key; ``key`` is shown this once and cannot be recovered."""

    key: str


class KeyListResponse(_Out):
    """The tenant's keys, oldest first."""

    keys: list[KeyOut]
