"""Domain objects to JSON-ready shapes, in one place (handlers stay thin).

Large series go out through :class:`OrjsonResponse` straight from numpy arrays; small objects
become the pydantic models of :mod:`backend.api.schemas`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from starlette.responses import JSONResponse

from backend.analytics.types import AggregatedAnomalyScore, MetricSeries
from backend.api.params import utc_iso_array
from backend.api.schemas import (
    AnomalyOut,
    ContributorOut,
    KeyCreatedOut,
    KeyOut,
    NodeScoreOut,
)
from backend.storage.interface import ApiKeyRecord

__all__ = [
    "OrjsonResponse",
    "anomaly_out",
    "float_list",
    "key_out",
    "node_score_out",
    "series_dict",
]


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson (numpy arrays serialised natively)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def series_dict(series: MetricSeries) -> dict[str, Any]:
    """A stored series in the shape ``POST /metrics`` accepts."""
    return {
        "cluster_id": series.cluster_id,
        "node_id": series.node_id,
        "metric_name": series.metric_name,
        "timestamps": utc_iso_array(series.timestamps_ns),
        "values": series.values_array,
    }


def float_list(values: np.ndarray | None) -> list[float | None] | None:
    """Floats with NaN / inf as ``null`` (JSON has no NaN)."""
    if values is None:
        return None
    return [v if math.isfinite(v) else None for v in values.tolist()]


def anomaly_out(row: dict[str, Any]) -> AnomalyOut:
    """A storage result row as the API shows it."""
    return AnomalyOut(
        id=int(row["id"]),
        tenant_id=row["tenant_id"],
        cluster_id=row["cluster_id"],
        node_id=row["node_id"],
        metric_name=row["metric_name"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        anomaly_score=float(row["anomaly_score"]),
        anomaly_label=str(row["anomaly_label"]),
        anomaly_kind=row.get("anomaly_kind"),
        magnitude=row.get("magnitude"),
        explanation=row.get("explanation"),
        timestamp_detected=row.get("timestamp_detected"),
        engine_metadata=_jsonable(row.get("engine_metadata") or {}),
        ongoing=row.get("ongoing"),
    )


def node_score_out(score: AggregatedAnomalyScore) -> NodeScoreOut:
    """A node-level aggregated score with its contributing metrics."""
    return NodeScoreOut(
        cluster_id=str(score.cluster_id),
        node_id=str(score.node_id),
        aggregate_score=score.aggregate_score,
        health_score=round(1.0 - score.aggregate_score, 6),
        num_metrics_analyzed=int(score.num_metrics_analyzed),
        num_anomalies_detected=int(score.num_anomalies_detected),
        timestamp=score.timestamp,
        contributors=[
            ContributorOut(component=c.component, score=c.score, weight=c.weight, share=c.share)
            for c in score.top_contributors(len(score.contributors))
        ],
    )


def key_out(record: ApiKeyRecord) -> KeyOut:
    """A key record without its hash."""
    return KeyOut(
        key_id=record.key_id, tenant_id=record.tenant_id, role=record.role, label=record.label,
        created_at=record.created_at, revoked_at=record.revoked_at, active=record.is_active,
    )  # fmt: skip


def key_created_out(record: ApiKeyRecord, key: str) -> KeyCreatedOut:
    """A new key with its plain text (shown once)."""
    return KeyCreatedOut(**key_out(record).model_dump(), key=key)


def _jsonable(value: Any) -> Any:
    """Engine metadata made safe for JSON (numpy scalars, tuples, non-finite floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
