"""GET /anomalies: every field, filters, and keyset pages that stay stable as data arrives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.detection.runner import IncrementalDetector

FIELDS = {"id", "tenant_id", "cluster_id", "node_id", "metric_name", "window_start",
          "window_end", "anomaly_score", "anomaly_label", "anomaly_kind", "magnitude",
          "explanation", "timestamp_detected", "engine_metadata", "ongoing"}  # fmt: skip


def _all_pages(client: Any, headers: dict[str, str], **params: Any) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/anomalies", params=query, headers=headers).json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_anomalies_carry_every_result_field(client: Any, auth: Any, world: Any) -> None:
    params = {"node_id": "node-1", "metric_name": "cpu_usage", "cluster_id": "eu-1",
              "min_score": 0.95}  # fmt: skip
    (item,) = client.get("/anomalies", params=params, headers=auth()).json()["items"]
    assert set(item) == FIELDS
    assert (item["anomaly_label"], item["anomaly_kind"], item["anomaly_score"]) == (
        "spike",
        "spike",
        0.97,
    )
    assert item["window_start"] == "2024-01-01T03:00:00Z"
    assert item["magnitude"] == 0.8 and item["engine_metadata"] == {"window": 6}
    assert item["explanation"] == "spike in cpu_usage on node-1"
    assert item["ongoing"] is None  # no detection run has scored this series


def test_anomalies_say_which_are_still_going_on(
    client: Any, auth: Any, world: Any, storage: Any
) -> None:
    key = SeriesKey("acme", "eu-1", "node-9", "error_rate")
    values = 2.0 + np.random.default_rng(12).normal(0.0, 0.2, 3000)
    values[2000:2030] = 9.0  # a breach that ended
    values[2990:] = 9.0  # one still going on when detection last ran
    minute = np.timedelta64(1, "m")
    ts = np.datetime64("2024-01-01T00:00") + np.arange(3005) * minute
    storage.store_metrics([MetricSeries.from_arrays(key, ts[:3000], values)])
    limited = DetectionConfig(metric_limits={"error_rate": {"above": 5.0}})
    IncrementalDetector(storage, config=limited, fleet_calibration=False).run("acme")
    params = {"node_id": "node-9", "min_score": 0, "order": "asc"}

    def ongoing() -> list[tuple[str, bool | None]]:
        items = client.get("/anomalies", params=params, headers=auth()).json()["items"]
        return [(i["window_start"][11:16], i["ongoing"]) for i in items if i["anomaly_kind"]]

    # the breach of 2 January 09:20 (and the jump back after it) ended; the last goes on
    assert ongoing() == [("09:20", False), ("01:50", True)]
    back = np.full(5, 2.0)  # back to normal: the next run ends it
    storage.store_metrics([MetricSeries.from_arrays(key, ts[3000:], back)])
    IncrementalDetector(storage, config=limited, fleet_calibration=False).run("acme")
    assert ongoing() == [("09:20", False), ("01:50", False)]


def test_anomalies_default_min_score_half(client: Any, auth: Any, world: Any) -> None:
    items = client.get("/anomalies", params={"limit": 1000}, headers=auth()).json()["items"]
    expected = [r for r in world.results["acme"] if r.anomaly_score >= 0.5]
    assert len(items) == len(expected)
    assert all(item["anomaly_score"] >= 0.5 for item in items)


def test_anomalies_newest_first_by_default(client: Any, auth: Any, world: Any) -> None:
    items = client.get("/anomalies", params={"min_score": 0}, headers=auth()).json()["items"]
    keys = [(i["window_start"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True)


def test_anomalies_time_range_overlap(client: Any, auth: Any, world: Any) -> None:
    params = {"min_score": 0, "start": "2024-01-01T01:00:00Z", "end": "2024-01-01T01:10:00Z",
              "limit": 1000}  # fmt: skip
    items = client.get("/anomalies", params=params, headers=auth()).json()["items"]
    assert {i["window_start"] for i in items} == {"2024-01-01T01:00:00Z"}
    assert len(items) == 12


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_anomalies_pages_cover_everything_once(
    client: Any, auth: Any, world: Any, order: str
) -> None:
    pages = _all_pages(client, auth(), min_score=0, limit=7, order=order)
    ids = [item["id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)) == len(world.results["acme"])
    assert all(len(page) == 7 for page in pages[:-1])


def test_anomalies_pages_stable_while_results_arrive(
    client: Any, auth: Any, world: Any, storage: Any
) -> None:
    headers = auth()
    first = client.get("/anomalies", params={"min_score": 0, "limit": 10}, headers=headers).json()
    seen = [item["id"] for item in first["items"]]
    _store_more(storage, datetime(2024, 1, 2), "newer")  # lands before the cursor
    _store_more(storage, datetime(2023, 12, 31), "older")  # lands after it
    cursor = first["next_cursor"]
    while cursor:
        body = client.get("/anomalies", params={"min_score": 0, "limit": 10, "cursor": cursor},
                          headers=headers).json()  # fmt: skip
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen))
    assert len(seen) == len(world.results["acme"]) + 3  # the 3 older ones, none skipped


def test_anomalies_many_ties_at_cursor(client: Any, auth: Any, world: Any) -> None:
    """48 results share each window_start; pages of 5 must still walk through all of them."""
    pages = _all_pages(client, auth(), min_score=0, limit=5, cluster_id="eu-1")
    ids = [item["id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)) == 48


def test_anomalies_bad_cursor_422(client: Any, auth: Any, world: Any) -> None:
    response = client.get("/anomalies", params={"cursor": "garbage"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def test_anomalies_cursor_of_other_order_422(client: Any, auth: Any, world: Any) -> None:
    cursor = client.get("/anomalies", params={"limit": 1}, headers=auth()).json()["next_cursor"]
    response = client.get("/anomalies", params={"cursor": cursor, "order": "asc"}, headers=auth())
    assert response.status_code == 422


def test_anomalies_unknown_filter_404(client: Any, auth: Any, world: Any) -> None:
    assert client.get("/anomalies", params={"node_id": "ghost"}, headers=auth()).status_code == 404


def _store_more(storage: Any, start: datetime, tag: str) -> None:
    results = [
        AnomalyResult("acme", "eu-1", f"node-{i}", "cpu_usage", start,
                      start + timedelta(minutes=5), 0.9, "spike", explanation=tag)
        for i in (1, 2, 3)
    ]  # fmt: skip
    storage.store_anomaly_results("acme", results)
