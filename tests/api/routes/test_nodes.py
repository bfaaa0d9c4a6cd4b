"""GET /nodes/top: worst nodes first, with the metrics that drove them."""

from __future__ import annotations

from typing import Any


def test_top_nodes_ranked_worst_first(client: Any, auth: Any, world: Any) -> None:
    nodes = client.get("/nodes/top", headers=auth()).json()["nodes"]
    assert len(nodes) == 6
    scores = [n["aggregate_score"] for n in nodes]
    assert scores == sorted(scores, reverse=True)
    assert (nodes[0]["cluster_id"], nodes[0]["node_id"]) == ("eu-1", "node-1")


def test_top_nodes_contributors_sum_to_one(client: Any, auth: Any, world: Any) -> None:
    for node in client.get("/nodes/top", headers=auth()).json()["nodes"]:
        shares = [c["share"] for c in node["contributors"]]
        assert {c["component"] for c in node["contributors"]} <= {"cpu_usage", "memory_used"}
        assert abs(sum(shares) - 1.0) < 1e-6


def test_top_nodes_n_and_cluster(client: Any, auth: Any, world: Any) -> None:
    body = client.get("/nodes/top", params={"cluster_id": "us-1", "n": 2}, headers=auth()).json()
    assert body["cluster_id"] == "us-1"
    assert len(body["nodes"]) == 2
    assert {n["cluster_id"] for n in body["nodes"]} == {"us-1"}


def test_top_nodes_known_cluster_without_scores_is_empty(
    client: Any, auth: Any, storage: Any, world: Any
) -> None:
    from datetime import datetime

    from backend.analytics.types import MetricSeries

    storage.store_metric(MetricSeries("acme", "new-1", "n", "cpu_usage", [datetime(2024, 1, 1)],
                                      [1.0]))  # fmt: skip
    body = client.get("/nodes/top", params={"cluster_id": "new-1"}, headers=auth()).json()
    assert body["nodes"] == []


def test_top_nodes_unknown_cluster_404(client: Any, auth: Any, world: Any) -> None:
    assert (
        client.get("/nodes/top", params={"cluster_id": "nope"}, headers=auth()).status_code == 404
    )
