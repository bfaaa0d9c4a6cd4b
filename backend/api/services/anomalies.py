"""Anomaly results of one tenant, a page at a time with keyset cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import SeriesKey
from backend.api.cursor import Cursor
from backend.api.params import SeriesFilter
from backend.api.services.scope import require_known
from backend.errors import ValidationError
from backend.storage.interface import StorageBackend

__all__ = ["AnomalyPageResult", "AnomalyQuery", "AnomalyService"]

_MAX_FETCH = 1_000_000


@dataclass(frozen=True)
class AnomalyQuery:
    """Filters of ``GET /anomalies`` (bounds are naive UTC datetimes)."""

    filter: SeriesFilter
    min_score: float
    start: datetime | None = None
    end: datetime | None = None
    order: str = "desc"


@dataclass(frozen=True)
class AnomalyPageResult:
    """Rows of one page (storage dicts) and the cursor of the next page, if any."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class AnomalyService:
    """Reads anomaly results through the storage interface and pages them by keyset; with
    the detection ``engine``, says which anomalies are still going on."""

    def __init__(self, storage: StorageBackend, engine: AnomalyDetectionEngine | None = None
                 ) -> None:  # fmt: skip
        self.storage = storage
        self.engine = engine

    def page(
        self, tenant_id: str, query: AnomalyQuery, limit: int, cursor: str | None = None
    ) -> AnomalyPageResult:
        """Up to ``limit`` results after ``cursor`` (newest first unless ``order='asc'``)."""
        require_known(self.storage, tenant_id, query.filter)
        position = Cursor.decode(cursor) if cursor else None
        if position is not None and position.order != query.order:
            raise ValidationError("cursor", cursor, f"was made for order={position.order}")
        rows = self._after(tenant_id, query, position, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _cursor_of(rows[-1], query.order).encode() if has_more and rows else None
        return AnomalyPageResult(self._with_ongoing(rows), next_cursor)

    def _with_ongoing(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with ``ongoing``: an anomaly whose window reaches the last point detection
        scored of its series is still going on; None where that is unknown (a normal
        window, a series detection has not scored with this engine)."""
        if self.engine is None or not rows:
            return rows
        from backend.detection.runner import scored_until

        keys = sorted({SeriesKey(*(row[name] for name in SeriesKey._fields)) for row in rows})
        cursors = scored_until(self.storage, self.engine, keys)
        out = []
        for row in rows:
            cursor = cursors.get(SeriesKey(*(row[name] for name in SeriesKey._fields)))
            anomalous = row["anomaly_label"] != "normal"
            ongoing = None if cursor is None or not anomalous else (
                to_epoch_ns(row["window_end"]) >= cursor)  # fmt: skip
            out.append({**row, "ongoing": ongoing})
        return out

    def _after(
        self, tenant_id: str, query: AnomalyQuery, position: Cursor | None, wanted: int
    ) -> list[dict[str, Any]]:
        """Rows strictly after ``position``; fetches more when ties at the cursor's
        window_start fill the first fetch."""
        start, end = _bounds(query, position)
        fetch = wanted
        while True:
            rows = self.storage.query_anomalies(
                tenant_id,
                start,
                end,
                cluster_id=query.filter.cluster_id,
                min_score=query.min_score,
                node_id=query.filter.node_id,
                metric_name=query.filter.metric_name,
                limit=fetch,
                newest_first=query.order == "desc",
            )
            kept = rows if position is None else [r for r in rows if _is_after(position, r)]
            if len(kept) >= wanted or len(rows) < fetch or fetch >= _MAX_FETCH:
                return kept[:wanted]
            fetch *= 4


def _bounds(query: AnomalyQuery, position: Cursor | None) -> tuple[Any, Any]:
    """Narrow the overlap query to the cursor: storage filters ``window_start <= end`` and
    ``window_end >= start``, which keeps every row strictly after the cursor."""
    start, end = query.start, query.end
    if position is None:
        return start, end
    at = from_epoch_ns(position.window_start_ns)
    narrowed: tuple[datetime | None, datetime | None]
    if position.order == "desc":
        narrowed = (start, at if end is None else min(end, at))
    else:
        narrowed = (at if start is None else max(start, at), end)
    if narrowed[0] is not None and narrowed[1] is not None and narrowed[0] > narrowed[1]:
        return start, end  # cannot narrow without inverting the range; filter in Python
    return narrowed


def _is_after(position: Cursor, row: dict[str, Any]) -> bool:
    return position.is_after(to_epoch_ns(row["window_start"]), int(row["id"]))


def _cursor_of(row: dict[str, Any], order: str) -> Cursor:
    return Cursor(to_epoch_ns(row["window_start"]), int(row["id"]), order)
