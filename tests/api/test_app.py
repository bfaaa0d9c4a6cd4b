"""The app as a whole: routes, OpenAPI document, liveness, docs page."""

from __future__ import annotations

from typing import Any

import pytest

from backend.api import create_app

PROTECTED = ["/metrics", "/metrics/series", "/metrics/scores", "/anomalies", "/health",
             "/nodes/top", "/keys", "/keys/{key_id}"]  # fmt: skip


def test_healthz_answers_without_credential(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_lists_every_route_with_security(client: Any) -> None:
    document = client.get("/openapi.json").json()
    for path in PROTECTED:
        for operation in document["paths"][path].values():
            assert operation["security"] == [{"ApiKey": []}], path
            assert "application/problem+json" in operation["responses"]["401"]["content"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_openapi_documents_the_ingest_body(client: Any) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"]["/metrics"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/IngestRequest"
    series = document["components"]["schemas"]["SeriesIn"]
    assert {"cluster_id", "node_id", "metric_name", "timestamps", "values"} <= set(
        series["required"]
    )


def test_docs_page_served(client: Any) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_create_app_without_dashboard_has_no_root(make_client: Any) -> None:
    client = make_client(dashboard_enabled=False)
    assert client.get("/").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_create_app_creates_nothing_global(settings: Any, storage: Any, engine: Any) -> None:
    first = create_app(settings, storage, engine)
    second = create_app(settings, storage, engine)
    assert first.state.context is not second.state.context
    assert first.state.context.storage is storage


@pytest.mark.parametrize("path", ["/nope", "/metrics/nope"])
def test_unknown_route_is_problem_json(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
