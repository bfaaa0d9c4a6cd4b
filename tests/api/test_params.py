"""Time bounds in query strings and ISO-8601 output."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from backend.api.params import parse_time, to_utc_iso, utc_iso_array
from backend.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01", datetime(2024, 1, 1)),
        ("2024-01-01T10:00:00Z", datetime(2024, 1, 1, 10)),
        ("2024-01-01T10:00:00+02:00", datetime(2024, 1, 1, 8)),
        ("2024-01-01T10:00:00.250", datetime(2024, 1, 1, 10, 0, 0, 250_000)),
        ("1704067200", datetime(2024, 1, 1)),
        ("1704067200.5", datetime(2024, 1, 1, 0, 0, 0, 500_000)),
    ],
)
def test_parse_time_accepts_iso_and_epoch(text: str, expected: datetime) -> None:
    assert parse_time("start", text) == expected


@pytest.mark.parametrize("text", ["now", "yesterday", "2024-13-45", "1e99", "99999999999999"])
def test_parse_time_rejects_with_parameter_name(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^end="):
        parse_time("end", text)


def test_to_utc_iso_converts_aware() -> None:
    from datetime import timedelta, timezone

    local = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc_iso(local) == "2024-01-01T10:00:00Z"
    assert to_utc_iso(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00Z"


def test_utc_iso_array_uses_finest_needed_unit() -> None:
    ns = np.array([0, 1_000], dtype=np.int64)
    assert utc_iso_array(ns) == ["1970-01-01T00:00:00.000000Z", "1970-01-01T00:00:00.000001Z"]
