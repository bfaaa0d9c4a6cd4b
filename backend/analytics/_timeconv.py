"""Conversions between the many ways callers write time and our int64 epoch nanoseconds.

Naive datetimes mean UTC; aware ones are converted. Bare numbers are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_AWARE = datetime(1970, 1, 1, tzinfo=UTC)
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND


def to_epoch_ns(value: Any) -> int:
    """One timestamp (datetime, numpy/pandas time, ISO string, epoch seconds) as epoch ns.

    >>> to_epoch_ns(datetime(1970, 1, 1, 0, 0, 1))
    1000000000
    >>> to_epoch_ns("1970-01-01T00:00:02Z")
    2000000000
    >>> to_epoch_ns(3)
    3000000000
    """
    if isinstance(value, bool):
        raise TypeError(f"a timestamp cannot be a bool: {value!r}")
    if isinstance(value, pd.Timestamp):
        stamp = value if value.tzinfo is None else value.tz_convert("UTC").tz_localize(None)
        return int(stamp.value)
    if isinstance(value, datetime):
        delta = value - _EPOCH_NAIVE if value.tzinfo is None else value - _EPOCH_AWARE
        return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, int | np.integer):
        return int(value) * NS_PER_SECOND
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            raise ValueError(f"timestamp is not finite: {value!r}")
        return round(float(value) * NS_PER_SECOND)
    if isinstance(value, str):
        return to_epoch_ns(pd.Timestamp(value))
    raise TypeError(f"cannot read a timestamp from {type(value).__name__}: {value!r}")


def to_epoch_ns_array(values: Any) -> np.ndarray:
    """Many timestamps as a new int64 epoch-ns array (the columnar fast paths first)."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            return values.astype("datetime64[ns]").astype(np.int64)
        if values.dtype.kind in "iu":
            return values.astype(np.int64) * NS_PER_SECOND
        if values.dtype.kind == "f":
            if values.size and not np.all(np.isfinite(values)):
                raise ValueError("timestamps contain a non-finite number")
            return np.round(values * NS_PER_SECOND).astype(np.int64)
    if isinstance(values, pd.DatetimeIndex | pd.Series) and values.dtype.kind == "M":
        index = pd.DatetimeIndex(values)
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        return index.asi8.astype(np.int64, copy=True) * _unit_factor(index)
    items = list(values) if not isinstance(values, Sequence) else values
    out = np.empty(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        out[i] = to_epoch_ns(item)
    return out


def _unit_factor(index: pd.DatetimeIndex) -> int:
    unit = getattr(index, "unit", "ns")
    return {"s": NS_PER_SECOND, "ms": 1_000_000, "us": 1000, "ns": 1}[unit]


def is_aware(values: Any) -> bool:
    """Whether the caller wrote timezone-aware timestamps (so we echo aware ones back)."""
    if isinstance(values, datetime):
        return values.tzinfo is not None
    if isinstance(values, pd.DatetimeIndex | pd.Series) and values.dtype.kind == "M":
        return getattr(values.dtype, "tz", None) is not None
    if isinstance(values, (np.ndarray, str)):
        return False
    if isinstance(values, Iterable):
        for item in values:
            return isinstance(item, datetime) and item.tzinfo is not None
    return False


def from_epoch_ns(ns: int, aware: bool = False) -> datetime:
    """Epoch ns back to a datetime (naive UTC unless ``aware``); microsecond precision."""
    base = _EPOCH_AWARE if aware else _EPOCH_NAIVE
    return base + timedelta(microseconds=int(ns) // 1000)


def datetime_or_none(value: Any, aware: bool = False) -> datetime | None:
    """Normalise an optional bound to a datetime of the requested awareness."""
    if value is None:
        return None
    return from_epoch_ns(to_epoch_ns(value), aware)


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)
