"""Input checks every backend applies the same way, so they all reject the same bad input.

Backends receive objects that were validated on construction; these checks guard the seams
(wrong types, another tenant's data, malformed bounds) and name the field, value and reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyResult,
    MetricSeries,
    SeriesKey,
    check_id,
)
from backend.errors import TenantIsolationError, ValidationError
from backend.storage._chunks import merge_points
from backend.storage.interface import ApiKeyRecord

__all__ = [
    "LEVELS",
    "TimeBounds",
    "check_api_key",
    "check_filter",
    "check_level",
    "check_limit",
    "check_min_score",
    "check_results",
    "check_scores",
    "check_series_key",
    "check_series_list",
    "check_state",
    "check_tenant_keys",
    "coalesce_series",
    "decode_json",
    "encode_json",
    "time_bounds",
]

LEVELS = ("node", "cluster", "tenant")
_NOT_A_BATCH = (str, bytes, dict, MetricSeries)


def check_series_list(series_list: Any) -> list[MetricSeries]:
    """The batch as a list, or ValidationError naming the first item that is not a series."""
    if isinstance(series_list, _NOT_A_BATCH) or not isinstance(series_list, Iterable):
        raise ValidationError(
            "series_list", series_list, "must be a sequence of MetricSeries objects"
        )
    items = list(series_list)
    for i, item in enumerate(items):
        if not isinstance(item, MetricSeries):
            raise ValidationError(f"series_list[{i}]", item, "is not a MetricSeries")
    return items


def coalesce_series(items: list[MetricSeries]) -> list[MetricSeries]:
    """One series per key: repeats of a key in a batch merge in order (later points win).

    Backends can then write each key once per transaction without reading their own writes.
    """
    if len({series.key for series in items}) == len(items):
        return items
    merged: dict[SeriesKey, MetricSeries] = {}
    for series in items:
        before = merged.get(series.key)
        if before is None:
            merged[series.key] = series
            continue
        ts, values = merge_points(
            before.timestamps_ns, before.values_array, series.timestamps_ns, series.values_array
        )
        metadata = {**before.metadata, **series.metadata}
        merged[series.key] = MetricSeries.from_arrays(series.key, ts, values, metadata)
    return list(merged.values())


def check_results(tenant_id: str, results: Any) -> list[AnomalyResult]:
    """Results as a list; every one must be an AnomalyResult of ``tenant_id``."""
    check_id("tenant_id", tenant_id)
    items = _as_list("results", results)
    for i, item in enumerate(items):
        if not isinstance(item, AnomalyResult):
            raise ValidationError(f"results[{i}]", item, "is not an AnomalyResult")
        if item.tenant_id != tenant_id:
            raise TenantIsolationError(tenant_id, item.tenant_id)
    return items


def check_scores(scores: Any) -> list[AggregatedAnomalyScore]:
    """Scores as a list of AggregatedAnomalyScore."""
    items = _as_list("scores", scores)
    for i, item in enumerate(items):
        if not isinstance(item, AggregatedAnomalyScore):
            raise ValidationError(f"scores[{i}]", item, "is not an AggregatedAnomalyScore")
    return items


def _as_list(field: str, items: Any) -> list[Any]:
    if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
        raise ValidationError(field, items, "must be an iterable of records")
    return list(items)


def check_series_key(key: Any) -> SeriesKey:
    """A SeriesKey (or a 4-tuple of ids) with valid ids."""
    if not isinstance(key, tuple) or len(key) != 4:
        raise ValidationError("key", key, "must be a SeriesKey (tenant, cluster, node, metric)")
    ids = zip(SeriesKey._fields, key, strict=True)
    return SeriesKey(*(check_id(name, value) for name, value in ids))


def check_tenant_keys(tenant_id: str, keys: Any) -> list[SeriesKey]:
    """Series keys as a list; every one must be a valid key of ``tenant_id``."""
    check_id("tenant_id", tenant_id)
    checked = [check_series_key(key) for key in _as_list("keys", keys)]
    for key in checked:
        if key.tenant_id != tenant_id:
            raise TenantIsolationError(tenant_id, key.tenant_id)
    return checked


def check_state(state: Any) -> bytes:
    """Detector state as bytes."""
    if not isinstance(state, bytes | bytearray | memoryview):
        raise ValidationError("state", state, "must be bytes")
    return bytes(state)


def check_api_key(record: Any) -> ApiKeyRecord:
    """An ApiKeyRecord whose ids are valid."""
    if not isinstance(record, ApiKeyRecord):
        raise ValidationError("record", record, "is not an ApiKeyRecord")
    check_id("key_id", record.key_id)
    check_id("tenant_id", record.tenant_id)
    check_id("key_hash", record.key_hash)
    return record


def check_filter(field: str, value: Any) -> str | None:
    """An optional id filter: None or a valid id."""
    return None if value is None else check_id(field, value)


def check_min_score(min_score: Any) -> float:
    """A finite number."""
    if isinstance(min_score, bool):
        raise ValidationError("min_score", min_score, "must be a number")
    try:
        number = float(min_score)
    except (TypeError, ValueError):
        raise ValidationError("min_score", min_score, "must be a number") from None
    if math.isnan(number):
        raise ValidationError("min_score", min_score, "must not be NaN")
    return number


def check_limit(limit: Any) -> int | None:
    """None (no limit) or a non-negative integer."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError("limit", limit, "must be a non-negative integer or None")
    return limit


def check_level(level: Any) -> str | None:
    """None or one of node | cluster | tenant."""
    if level is not None and level not in LEVELS:
        raise ValidationError("level", level, f"must be one of {', '.join(LEVELS)}")
    return level


@dataclass(frozen=True)
class TimeBounds:
    """Inclusive epoch-ns bounds of a query and whether to echo aware datetimes."""

    start_ns: int | None
    end_ns: int | None
    aware: bool

    def contains(self, ns: int) -> bool:
        """Whether ``ns`` lies within the bounds."""
        return (self.start_ns is None or ns >= self.start_ns) and (
            self.end_ns is None or ns <= self.end_ns
        )

    def overlaps(self, start_ns: int, end_ns: int) -> bool:
        """Whether the window [start_ns, end_ns] overlaps the bounds."""
        return (self.start_ns is None or end_ns >= self.start_ns) and (
            self.end_ns is None or start_ns <= self.end_ns
        )


def time_bounds(start_time: Any, end_time: Any) -> TimeBounds:
    """Parse optional bounds (datetimes, ISO strings, epoch seconds); aware if either is.

    >>> from datetime import datetime, timezone
    >>> time_bounds(None, datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    TimeBounds(start_ns=None, end_ns=1000000000, aware=True)
    """
    start_ns = _bound_ns("start_time", start_time)
    end_ns = _bound_ns("end_time", end_time)
    if start_ns is not None and end_ns is not None and end_ns < start_ns:
        raise ValidationError("end_time", end_time, f"is before start_time {start_time}")
    return TimeBounds(start_ns, end_ns, _is_aware(start_time) or _is_aware(end_time))


def _bound_ns(field: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return to_epoch_ns(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(field, value, f"not a timestamp ({exc})") from None


def _is_aware(value: Any) -> bool:
    if isinstance(value, str):
        value = pd.Timestamp(value)
    return getattr(value, "tzinfo", None) is not None


def _json_default(value: Any) -> Any:
    """Datetimes as ISO-8601 and numpy scalars as Python numbers; anything else is refused."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_json(field: str, value: Any) -> str:
    """JSON text of a metadata-like value (datetimes as ISO-8601); ValidationError if it is not
    JSON-serialisable."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, value, f"must be JSON-serialisable ({exc})") from None


def decode_json(text: str | None) -> Any:
    """Inverse of :func:`encode_json` (empty means an empty dict)."""
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class AnomalyQuery:
    """Checked arguments of :meth:`StorageBackend.query_anomalies`, shared by every backend."""

    tenant_id: str
    bounds: TimeBounds
    min_score: float
    filters: dict[str, str | None]
    limit: int | None
    newest_first: bool


def anomaly_query(
    tenant_id: Any,
    start_time: Any,
    end_time: Any,
    cluster_id: Any,
    min_score: Any,
    node_id: Any,
    metric_name: Any,
    limit: Any,
    newest_first: Any,
) -> AnomalyQuery:
    """Validate a query_anomalies call once; errors name the offending argument."""
    return AnomalyQuery(
        tenant_id=check_id("tenant_id", tenant_id),
        bounds=time_bounds(start_time, end_time),
        min_score=check_min_score(min_score),
        filters={
            "cluster_id": check_filter("cluster_id", cluster_id),
            "node_id": check_filter("node_id", node_id),
            "metric_name": check_filter("metric_name", metric_name),
        },
        limit=check_limit(limit),
        newest_first=bool(newest_first),
    )
