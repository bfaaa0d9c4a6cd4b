"""Tenant isolation matrix: every protected route × no key, bad key, wrong role, other tenant.

The tenant always comes from the credential: another tenant's ids answer exactly like ids that
do not exist (404), and nothing of theirs appears in any answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

ACME_IDS = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}
SERIES = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage",
          "timestamps": [1_704_200_000, 1_704_200_060], "values": [1.0, 2.0]}  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    foreign: int | None = 404  # status when the ids belong to another tenant; None = scoped


ROUTES = [
    Route("GET", "/metrics", "viewer", {"cluster_id": "eu-1"}),
    Route("GET", "/metrics/series", "viewer", {"cluster_id": "eu-1"}),
    Route("GET", "/metrics/scores", "viewer", ACME_IDS),
    Route("GET", "/anomalies", "viewer", {"cluster_id": "eu-1", "min_score": 0}),
    Route("GET", "/nodes/top", "viewer", {"cluster_id": "eu-1"}),
    Route("GET", "/health", "viewer", foreign=None),
    Route("POST", "/metrics", "writer", body={"tenant_id": "acme", "series": [SERIES]},
          foreign=403),
    Route("GET", "/keys", "admin", foreign=None),
    Route("POST", "/keys", "admin", body={"role": "viewer"}, foreign=None),
    Route("DELETE", "/keys/{acme_key}", "admin"),
]  # fmt: skip
LOWER = {"viewer": None, "writer": "viewer", "admin": "writer"}


@pytest.fixture(autouse=True)
def _keys_exist(keys: dict[tuple[str, str], str]) -> None:
    """Every case runs with both tenants' keys stored (some routes address them)."""


def _call(client: Any, route: Route, headers: dict[str, str], storage: Any) -> Any:
    path = route.path
    if "{acme_key}" in path:
        path = path.replace("{acme_key}", storage.list_api_keys("acme")[0].key_id)
    return client.request(route.method, path, params=route.params, json=route.body,
                          headers=headers)  # fmt: skip


def _ids(routes: list[Route]) -> list[str]:
    return [f"{r.method} {r.path}" for r in routes]


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_isolation_no_credential_401(client: Any, world: Any, storage: Any, route: Route) -> None:
    response = _call(client, route, {}, storage)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
@pytest.mark.parametrize("token", ["ack_000000000000_forged", "not-a-key"])
def test_isolation_invalid_credential_401(
    client: Any, world: Any, storage: Any, route: Route, token: str
) -> None:
    response = _call(client, route, {"Authorization": f"Bearer {token}"}, storage)
    assert response.status_code == 401


WITH_LOWER = [r for r in ROUTES if LOWER[r.role]]


@pytest.mark.parametrize("route", WITH_LOWER, ids=_ids(WITH_LOWER))
def test_isolation_wrong_role_403(
    client: Any, world: Any, storage: Any, auth: Any, route: Route
) -> None:
    response = _call(client, route, auth("acme", LOWER[route.role]), storage)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:aboutcloud:problem:forbidden"


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_isolation_other_tenant_sees_nothing(
    client: Any, world: Any, storage: Any, auth: Any, route: Route
) -> None:
    before = storage.get_stats()
    response = _call(client, route, auth("globex", route.role), storage)
    if route.foreign is not None:
        assert response.status_code == route.foreign
    else:
        assert response.status_code in (200, 201)
    text = response.text
    assert "acme" not in text and "us-1" not in text
    assert not any(r.explanation and r.explanation in text for r in world.results["acme"])
    assert storage.list_series("acme") == world.series["acme"]
    assert storage.get_stats()["total_anomalies"] == before["total_anomalies"]
    assert all(k.is_active for k in storage.list_api_keys("acme"))


TARGETED = [r for r in ROUTES if r.foreign == 404]


@pytest.mark.parametrize("route", TARGETED, ids=_ids(TARGETED))
def test_isolation_foreign_ids_look_like_unknown_ids(
    client: Any, world: Any, storage: Any, auth: Any, route: Route
) -> None:
    foreign = _call(client, route, auth("globex", route.role), storage)
    ghost_params = {k: ("ghost" if k in ACME_IDS else v) for k, v in route.params.items()}
    ghost_route = Route(route.method, "/keys/ghostghost12" if "{" in route.path else route.path,
                        route.role, ghost_params)  # fmt: skip
    ghost = _call(client, ghost_route, auth("globex", route.role), storage)
    assert foreign.status_code == ghost.status_code == 404
    assert {
        k: v for k, v in foreign.json().items() if k not in ("detail", "request_id", "instance")
    } == {k: v for k, v in ghost.json().items() if k not in ("detail", "request_id", "instance")}
