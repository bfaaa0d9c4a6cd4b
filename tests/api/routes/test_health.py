"""GET /health (tenant and cluster health with worst nodes) and GET /healthz."""

from __future__ import annotations

from typing import Any

import pytest

from backend.analytics.aggregation import AggregationPipeline


def test_health_is_one_minus_tenant_score(client: Any, auth: Any, world: Any) -> None:
    body = client.get("/health", headers=auth()).json()
    tenant = AggregationPipeline().run(world.results["acme"]).tenants[0]
    assert body["aggregate_score"] == pytest.approx(tenant.aggregate_score)
    assert body["health_score"] == pytest.approx(1 - tenant.aggregate_score)
    assert body["status"] == "critical"  # the 0.97 spike
    assert body["timestamp"] == "2024-01-01T04:00:00Z"


def test_health_lists_clusters_worst_first_with_top_nodes(
    client: Any, auth: Any, world: Any
) -> None:
    body = client.get("/health", params={"top_n": 2}, headers=auth()).json()
    clusters = body["clusters"]
    assert next(c["cluster_id"] for c in clusters) == "eu-1"
    assert {c["cluster_id"] for c in clusters} == {"eu-1", "us-1"}
    scores = [c["aggregate_score"] for c in clusters]
    assert scores == sorted(scores, reverse=True)
    eu = clusters[0]
    assert len(eu["top_nodes"]) == 2
    worst = eu["top_nodes"][0]
    assert (worst["node_id"], worst["aggregate_score"]) == ("node-1", 0.97)
    assert worst["contributors"][0]["component"] == "cpu_usage"
    assert worst["health_score"] == pytest.approx(0.03)


def test_health_without_scores_is_no_data(client: Any, auth: Any) -> None:
    body = client.get("/health", headers=auth()).json()
    assert body == {"tenant_id": "acme", "health_score": None, "aggregate_score": None,
                    "status": "no_data", "timestamp": None, "clusters": []}  # fmt: skip


def test_healthz_needs_no_key(client: Any) -> None:
    assert client.get("/healthz").status_code == 200


def test_health_score_cache_serves_recent_read(
    make_client: Any, auth: Any, storage: Any, world: Any
) -> None:
    from datetime import datetime

    from backend.analytics.types import AggregatedAnomalyScore

    client = make_client(score_cache_seconds=60)
    before = client.get("/health", headers=auth()).json()
    newer = AggregatedAnomalyScore("acme", 0.1, timestamp=datetime(2030, 1, 1))
    storage.store_aggregated_score(newer)
    assert client.get("/health", headers=auth()).json() == before  # within the TTL
    fresh = make_client(score_cache_seconds=0).get("/health", headers=auth()).json()
    assert fresh["aggregate_score"] == 0.1
