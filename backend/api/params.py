"""Reading query parameters the API shares: time bounds and id filters.

Time bounds are ISO-8601 (no zone means UTC) or epoch seconds; anything else is a 422 that
names the parameter. Bounds become naive UTC datetimes, the storage interface's currency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from backend.analytics._timeconv import from_epoch_ns
from backend.errors import ValidationError

__all__ = ["SeriesFilter", "parse_time", "to_utc_iso", "utc_iso_array"]

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}(:?\d{2})?)?$")
_MAX_EPOCH_SECONDS = 9_223_372_036
_UNITS = (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1000))


@dataclass(frozen=True)
class SeriesFilter:
    """Optional cluster / node / metric filters of a query."""

    cluster_id: str | None = None
    node_id: str | None = None
    metric_name: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return self.cluster_id is None and self.node_id is None and self.metric_name is None


def parse_time(name: str, value: str | None) -> datetime | None:
    """A query bound as a naive UTC datetime (None stays None).

    >>> parse_time("start", "2024-01-01T01:00:00+01:00")
    datetime.datetime(2024, 1, 1, 0, 0)
    >>> parse_time("end", "60")
    datetime.datetime(1970, 1, 1, 0, 1)
    """
    if value is None:
        return None
    text = value.strip()
    if _NUMBER.match(text):
        seconds = float(text)
        if abs(seconds) > _MAX_EPOCH_SECONDS:
            raise ValidationError(name, value, "epoch seconds out of range")
        return from_epoch_ns(round(seconds * 1_000_000) * 1000)
    if not _ISO.match(text):
        raise ValidationError(name, value, "must be ISO-8601 or epoch seconds")
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(name, value, f"not a valid timestamp ({exc})") from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime(warn=False)


def to_utc_iso(value: datetime) -> str:
    """ISO-8601 with a ``Z``; naive datetimes are UTC already.

    >>> to_utc_iso(datetime(2024, 1, 1, 12, 30))
    '2024-01-01T12:30:00Z'
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def utc_iso_array(timestamps_ns: np.ndarray) -> list[str]:
    """Epoch-ns timestamps as ISO-8601 UTC strings, vectorised.

    >>> utc_iso_array(np.array([0, 1_500_000_000], dtype=np.int64))
    ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:01.500Z']
    >>> utc_iso_array(np.array([0, 60_000_000_000], dtype=np.int64))
    ['1970-01-01T00:00:00Z', '1970-01-01T00:01:00Z']
    """
    ns = np.asarray(timestamps_ns, dtype=np.int64)
    unit: Any = next((name for name, step in _UNITS if not np.any(ns % step)), "ns")
    text = np.datetime_as_string(ns.astype("datetime64[ns]"), unit=unit, timezone="UTC")
    return [str(item) for item in text.tolist()]
