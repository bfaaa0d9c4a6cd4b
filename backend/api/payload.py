"""The ingestion payload, read straight from JSON into numpy columns.

``POST /metrics`` is the hot path (hundreds of thousands of points per second), so the body is
parsed with orjson and each series' ``timestamps`` / ``values`` lists become numpy arrays in
one C-level pass, without a pydantic object per point. Structure problems are reported per
series with JSON paths (``series[3].values[17]``); the content checks (order, finiteness,
bounds, gaps) are the :class:`~backend.ingestion.MetricValidator`'s, shared with every other
source. Timestamps are ISO-8601 strings (no zone means UTC) or epoch seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from backend.analytics._timeconv import NS_PER_SECOND
from backend.api.problems import BatchValidationError, FieldError
from backend.errors import PayloadTooLargeError, TenantIsolationError

__all__ = ["ParsedBatch", "ParsedSeries", "RejectedSeries", "parse_ingest_body"]

# Epoch seconds that still fit int64 nanoseconds (until 2262-04-11).
_MAX_EPOCH_SECONDS = 9_223_372_036
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<time>[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_NUMBER_TYPES = (int, float)
_ID_FIELDS = ("cluster_id", "node_id", "metric_name")


@dataclass(frozen=True)
class ParsedSeries:
    """One well-formed series of the payload, as columns (content not yet validated)."""

    index: int
    ids: tuple[Any, Any, Any]
    timestamps_ns: np.ndarray
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RejectedSeries:
    """A series refused before or during validation, with every reason found."""

    index: int
    ids: tuple[Any, Any, Any]
    errors: list[FieldError]


@dataclass(frozen=True)
class ParsedBatch:
    """The whole request: well-formed series and those rejected while parsing."""

    series: list[ParsedSeries]
    rejected: list[RejectedSeries]


def parse_ingest_body(body: bytes, tenant_id: str, max_series: int, max_points: int) -> ParsedBatch:
    """Parse and structurally check an ingestion body for the caller's ``tenant_id``.

    Raises :class:`BatchValidationError` when the body is not a batch at all,
    :class:`TenantIsolationError` when it names another tenant and
    :class:`PayloadTooLargeError` above the series / point limits.

    >>> batch = parse_ingest_body(
    ...     b'{"series": [{"cluster_id": "c", "node_id": "n", "metric_name": "cpu",'
    ...     b' "timestamps": [0, 60], "values": [1, 2.5]}]}', "t1", 10, 100)
    >>> batch.series[0].timestamps_ns.tolist(), batch.rejected
    ([0, 60000000000], [])
    """
    document = _load(body)
    _check_tenant(document.get("tenant_id"), tenant_id)
    items = document.get("series")
    if not isinstance(items, list):
        raise BatchValidationError(
            [FieldError("series", "must be a list of series")], "the body needs a 'series' list"
        )
    _check_limits(items, max_series, max_points)
    parsed: list[ParsedSeries] = []
    rejected: list[RejectedSeries] = []
    for index, item in enumerate(items):
        outcome = _parse_series(index, item, tenant_id)
        (parsed if isinstance(outcome, ParsedSeries) else rejected).append(outcome)  # type: ignore[arg-type]
    return ParsedBatch(parsed, rejected)


def _load(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BatchValidationError(
            [FieldError("body", f"not valid JSON: {exc}")], "the body is not valid JSON"
        ) from None
    if not isinstance(document, dict):
        raise BatchValidationError(
            [FieldError("body", "must be a JSON object")], "the body must be a JSON object"
        )
    return document


def _check_tenant(value: Any, tenant_id: str) -> None:
    if value is not None and value != tenant_id:
        raise TenantIsolationError(tenant_id, str(value)[:64] if isinstance(value, str) else "?")


def _check_limits(items: list[Any], max_series: int, max_points: int) -> None:
    if len(items) > max_series:
        raise PayloadTooLargeError("series per request", max_series, len(items))
    points = sum(
        len(item.get("values") or ())
        for item in items
        if isinstance(item, dict) and isinstance(item.get("values"), list)
    )
    if points > max_points:
        raise PayloadTooLargeError("points per request", max_points, points)


def _parse_series(index: int, item: Any, tenant_id: str) -> ParsedSeries | RejectedSeries:
    prefix = f"series[{index}]"
    if not isinstance(item, dict):
        return RejectedSeries(index, (None, None, None), [FieldError(prefix, "must be an object")])
    _check_tenant(item.get("tenant_id"), tenant_id)
    ids = (item.get("cluster_id"), item.get("node_id"), item.get("metric_name"))
    errors = [
        FieldError(f"{prefix}.{name}", "must be a string")
        for name, value in zip(_ID_FIELDS, ids, strict=True)
        if not isinstance(value, str)
    ]
    timestamps = _column(item, "timestamps", prefix, errors, _timestamps_ns)
    values = _column(item, "values", prefix, errors, _values)
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        errors.append(FieldError(f"{prefix}.metadata", "must be an object"))
    if timestamps is not None and values is not None and timestamps.shape != values.shape:
        errors.append(
            FieldError(
                f"{prefix}.values",
                f"has {values.shape[0]} items but timestamps has {timestamps.shape[0]}",
            )
        )
    if errors or timestamps is None or values is None:
        return RejectedSeries(index, ids, errors)
    return ParsedSeries(index, ids, timestamps, values, metadata)


def _column(
    item: dict[str, Any], name: str, prefix: str, errors: list[FieldError], convert: Any
) -> np.ndarray | None:
    raw = item.get(name)
    if not isinstance(raw, list):
        errors.append(FieldError(f"{prefix}.{name}", "must be a list"))
        return None
    result = convert(raw)
    if isinstance(result, tuple):
        position, reason = result
        errors.append(FieldError(f"{prefix}.{name}[{position}]", reason))
        return None
    return result


def _values(raw: list[Any]) -> np.ndarray | tuple[int, str]:
    """Floats from JSON numbers; the first non-number is reported by position."""
    if not set(map(type, raw)) <= {int, float}:
        return _first_not_number(raw), "must be a number"
    try:
        return np.array(raw, dtype=np.float64)
    except OverflowError:
        return _first_overflow(raw), "number out of range"


def _timestamps_ns(raw: list[Any]) -> np.ndarray | tuple[int, str]:
    """Epoch ns from epoch seconds (ints or floats) or ISO-8601 strings."""
    kinds = set(map(type, raw))
    if not raw:
        return np.empty(0, dtype=np.int64)
    if kinds <= {int, float}:
        return _epoch_seconds(raw, kinds == {int})
    if kinds == {str}:
        return _iso_strings(raw)
    return _first_odd(raw), "must be ISO-8601 text or epoch seconds, all of one kind"


def _epoch_seconds(raw: list[Any], all_ints: bool) -> np.ndarray | tuple[int, str]:
    try:
        seconds = np.array(raw, dtype=np.float64)
    except OverflowError:
        return _first_overflow(raw), "epoch seconds out of range (year 1677 to 2262)"
    outside = np.abs(seconds) > _MAX_EPOCH_SECONDS
    if outside.any():
        return int(outside.argmax()), "epoch seconds out of range (year 1677 to 2262)"
    if all_ints:
        return np.array(raw, dtype=np.int64) * NS_PER_SECOND
    return np.round(seconds * NS_PER_SECOND).astype(np.int64)


def _iso_strings(raw: list[str]) -> np.ndarray | tuple[int, str]:
    """Zone-less stamps are made explicit UTC first: pandas would otherwise give them the
    offset of a neighbouring zoned stamp."""
    zoned: list[str] = []
    for position, text in enumerate(raw):
        match = _ISO.match(text)
        if match is None:
            return position, "must be ISO-8601 (YYYY-MM-DD[THH:MM[:SS[.f]]][Z|±HH:MM])"
        if match.group("time") is None:
            text += "T00:00:00Z"
        elif match.group("zone") is None:
            text += "Z"
        zoned.append(text)
    try:
        index = pd.to_datetime(zoned, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        return _first_bad_iso(zoned), "not a valid ISO-8601 timestamp in 1677-2262"
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


def _first_bad_iso(raw: list[str]) -> int:
    for position, text in enumerate(raw):
        try:
            pd.to_datetime([text], utc=True, format="ISO8601")
        except (ValueError, OverflowError):
            return position
    return 0


def _first_not_number(raw: list[Any]) -> int:
    for position, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
            return position
    return 0


def _first_odd(raw: list[Any]) -> int:
    """Position of the first timestamp that is neither text nor a number, or that switches
    between the two kinds."""
    first_is_text = isinstance(raw[0], str)
    for position, value in enumerate(raw):
        is_number = isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)
        if not (isinstance(value, str) or is_number) or isinstance(value, str) != first_is_text:
            return position
    return 0


def _first_overflow(raw: list[Any]) -> int:
    for position, value in enumerate(raw):
        try:
            float(value)
        except OverflowError:
            return position
    return 0
