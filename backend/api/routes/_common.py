"""Query parameters shared by several routes, declared once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from backend.errors import ValidationError

__all__ = [
    "ClusterQuery",
    "EndQuery",
    "MetricQuery",
    "NodeQuery",
    "StartQuery",
    "check_range",
]

_ID = {"min_length": 1, "max_length": 256}
_TIME = "ISO-8601 (no zone means UTC) or epoch seconds; inclusive"

ClusterQuery = Annotated[str | None, Query(description="Only this cluster", **_ID)]
NodeQuery = Annotated[str | None, Query(description="Only this node", **_ID)]
MetricQuery = Annotated[str | None, Query(description="Only this metric", **_ID)]
StartQuery = Annotated[str | None, Query(description=f"Range start: {_TIME}", max_length=64)]
EndQuery = Annotated[str | None, Query(description=f"Range end: {_TIME}", max_length=64)]


def check_range(
    start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` unchanged, or a 422 naming ``end`` when it is before ``start``."""
    if start is not None and end is not None and end < start:
        raise ValidationError("end", end.isoformat(), f"is before start {start.isoformat()}")
    return start, end
