"""One table maps the exception tree to HTTP statuses; every error is problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from backend.api import ApiKeyService
from backend.api.problems import PROBLEM_TABLE, problem_for
from backend.errors import (
    AboutCloudError,
    AuthenticationError,
    CSVReplayError,
    DetectionError,
    EngineNotFoundError,
    EngineUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    SeriesNotFoundError,
    SeriesValidationError,
    StorageConfigError,
    StorageError,
    TenantIsolationError,
    ValidationError,
)
from backend.storage import SQLiteStorage

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationError("f", 1, "bad"), 422),
        (SeriesValidationError("t/c/n/m", "values[1]", 1.0, "bad"), 422),
        (TenantIsolationError("a", "b"), 403),
        (NotFoundError("x"), 404),
        (SeriesNotFoundError("t", "c", "n", "m"), 404),
        (EngineNotFoundError("x", ["default"]), 404),
        (AuthenticationError("x"), 401),
        (PermissionDeniedError("x"), 403),
        (RateLimitedError(2.0), 429),
        (PayloadTooLargeError("body", 1, 2), 413),
        (CSVReplayError("x"), 422),
        (StorageError("x"), 503),
        (StorageConfigError("x"), 503),
        (EngineUnavailableError("x"), 503),
        (DetectionError("x"), 500),
        (AboutCloudError("x"), 500),
        (KeyError("x"), 500),
    ],
)
def test_problem_for_maps_most_specific_class(error: Exception, status: int) -> None:
    assert problem_for(error).status == status


def test_problem_table_covers_every_error_class() -> None:
    import backend.errors as errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert any(issubclass(cls, mapped) for mapped in PROBLEM_TABLE), name


def test_slugs_are_unique_per_status() -> None:
    slugs = [problem.slug for problem in PROBLEM_TABLE.values()]
    assert len(slugs) == len(set(slugs))


def test_query_validation_error_lists_fields(client: Any, auth: Any) -> None:
    response = client.get("/anomalies", params={"limit": 0, "min_score": 2}, headers=auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert {e["field"] for e in body["errors"]} == {"limit", "min_score"}
    assert body["type"] == "urn:aboutcloud:problem:validation-error"
    assert body["instance"] == "/anomalies"


def test_domain_validation_error_names_field(client: Any, auth: Any) -> None:
    response = client.get("/anomalies", params={"start": "yesterday"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "start", "reason": "must be ISO-8601 or epoch seconds"}
    ]


def test_problem_request_id_matches_header(client: Any) -> None:
    response = client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert response.status_code == 401
    assert response.json()["request_id"] == "trace-123"
    assert response.headers["x-request-id"] == "trace-123"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_method_not_allowed_is_problem(client: Any, auth: Any) -> None:
    response = client.put("/health", headers=auth())
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert "GET" in response.headers["allow"]


def test_storage_failure_is_503_without_internal_detail(make_client: Any, tmp_path: Any) -> None:
    broken = SQLiteStorage(tmp_path / "closed.db")
    key = ApiKeyService(broken).create("acme", "viewer").key
    client = make_client(backend=broken)
    broken.close()  # the real backend now refuses every call: a genuine storage failure
    response = client.get("/health", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "urn:aboutcloud:problem:storage-unavailable"
    assert str(tmp_path) not in response.text
    assert body["request_id"] in body["detail"]
