"""Parsing ingestion bodies into columns, with JSON paths for every structural problem."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from backend.api.payload import ParsedSeries, RejectedSeries, parse_ingest_body
from backend.api.problems import BatchValidationError
from backend.errors import PayloadTooLargeError, TenantIsolationError


def _body(*series: dict[str, Any], **top: Any) -> bytes:
    return orjson.dumps({"series": list(series), **top})


def _series(**fields: Any) -> dict[str, Any]:
    base = {"cluster_id": "c", "node_id": "n", "metric_name": "latency",
            "timestamps": [0, 60, 120], "values": [1, 2.5, 3]}  # fmt: skip
    return {**base, **fields}


def _parse(body: bytes, max_series: int = 100, max_points: int = 10_000) -> Any:
    return parse_ingest_body(body, "acme", max_series, max_points)


def _only(batch: Any) -> ParsedSeries | RejectedSeries:
    (item,) = batch.series + batch.rejected
    return item


def test_parse_epoch_seconds_ints_exact() -> None:
    item = _only(_parse(_body(_series(timestamps=[1_700_000_000, 1_700_000_060, 1_700_000_120]))))
    assert isinstance(item, ParsedSeries)
    assert item.timestamps_ns.tolist() == [
        t * 10**9 for t in (1_700_000_000, 1_700_000_060, 1_700_000_120)
    ]
    assert item.values.dtype == np.float64


def test_parse_epoch_seconds_floats_keep_fraction() -> None:
    item = _only(_parse(_body(_series(timestamps=[0.5, 60, 120.25]))))
    assert isinstance(item, ParsedSeries)
    assert item.timestamps_ns.tolist() == [500_000_000, 60 * 10**9, 120_250_000_000]


def test_parse_iso_strings_with_offsets_and_naive_utc() -> None:
    stamps = ["2024-01-01T00:00:00Z", "2024-01-01T01:01:00+01:00", "2024-01-01T00:02:00"]
    item = _only(_parse(_body(_series(timestamps=stamps))))
    assert isinstance(item, ParsedSeries)
    assert np.diff(item.timestamps_ns).tolist() == [60 * 10**9, 60 * 10**9]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"values": [1, None, 3]}, "series[0].values[1]"),
        ({"values": [1, True, 3]}, "series[0].values[1]"),
        ({"values": [1, "2", 3]}, "series[0].values[1]"),
        ({"values": "123"}, "series[0].values"),
        ({"timestamps": [0, "2024-01-01", 2]}, "series[0].timestamps[1]"),
        ({"timestamps": [0, False, 2]}, "series[0].timestamps[1]"),
        ({"timestamps": ["2024-01-01", "now", "2024-01-03"]}, "series[0].timestamps[1]"),
        ({"timestamps": ["2024-01-01", "2024-13-01", "2024-01-03"]}, "series[0].timestamps[1]"),
        ({"timestamps": [0, 60, 1e12]}, "series[0].timestamps[2]"),
        ({"timestamps": [0, 60, -1e12]}, "series[0].timestamps[2]"),
        ({"timestamps": [0, 60]}, "series[0].values"),
        ({"cluster_id": 5}, "series[0].cluster_id"),
        ({"node_id": None}, "series[0].node_id"),
        ({"metadata": [1]}, "series[0].metadata"),
    ],
)
def test_parse_bad_series_rejected_with_path(fields: dict[str, Any], path: str) -> None:
    item = _only(_parse(_body(_series(**fields))))
    assert isinstance(item, RejectedSeries)
    assert path in [error.field for error in item.errors]


def test_parse_keeps_good_series_beside_bad_ones() -> None:
    batch = _parse(_body(_series(), _series(values=[1, None, 2]), _series(node_id="m")))
    assert [s.index for s in batch.series] == [0, 2]
    assert [r.index for r in batch.rejected] == [1]


def test_parse_non_object_series_rejected() -> None:
    batch = _parse(_body(_series(), 42))
    assert batch.rejected[0].errors[0].field == "series[1]"


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b'{"series": {}}', b"{}", b"NaN"])
def test_parse_not_a_batch_raises(body: bytes) -> None:
    with pytest.raises(BatchValidationError):
        _parse(body)


@pytest.mark.parametrize(
    "body",
    [_body(_series(), tenant_id="globex"), _body(_series(tenant_id="globex"))],
    ids=["batch", "series"],
)
def test_parse_other_tenant_raises(body: bytes) -> None:
    with pytest.raises(TenantIsolationError):
        _parse(body)


def test_parse_own_tenant_accepted() -> None:
    batch = _parse(_body(_series(tenant_id="acme"), tenant_id="acme"))
    assert len(batch.series) == 1


def test_parse_series_limit() -> None:
    with pytest.raises(PayloadTooLargeError, match="series per request"):
        _parse(_body(*[_series() for _ in range(3)]), max_series=2)


def test_parse_points_limit() -> None:
    with pytest.raises(PayloadTooLargeError, match="points per request"):
        _parse(_body(_series(), _series()), max_points=5)
