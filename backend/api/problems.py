"""Every error as RFC 9457 ``application/problem+json``, mapped from the exception tree in one
table.

Services raise :mod:`backend.errors` exceptions and know nothing about HTTP; this module is the
only place that decides which status each kind of error becomes. A body looks like::

    {"type": "urn:aboutcloud:problem:validation-error", "title": "Invalid input",
     "status": 422, "detail": "...", "instance": "/metrics", "request_id": "...",
     "errors": [{"field": "series[3].values[17]", "reason": "must be finite"}]}

Server-side failures (5xx) never echo internal messages; the request id ties the answer to
the log line that has the details.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from backend.errors import (
    AboutCloudError,
    AuthenticationError,
    DetectionError,
    EngineUnavailableError,
    IngestionError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    StorageError,
    TenantIsolationError,
    ValidationError,
)

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TABLE",
    "BatchValidationError",
    "FieldError",
    "ProblemType",
    "install_problem_handlers",
    "problem_for",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:aboutcloud:problem:"
_log = structlog.get_logger("aboutcloud.api")


@dataclass(frozen=True)
class ProblemType:
    """How one kind of error is presented: HTTP status, a stable slug and a short title."""

    status: int
    slug: str
    title: str

    @property
    def type_uri(self) -> str:
        """The problem's ``type`` member (a URN, stable across releases)."""
        return _TYPE_PREFIX + self.slug


@dataclass(frozen=True)
class FieldError:
    """One rejected input field: a JSON path like ``series[3].values[17]`` and the reason."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"field": self.field, "reason": self.reason}


class BatchValidationError(ValidationError):
    """Several fields of one request are invalid at once (e.g. an atomic ingest batch)."""

    def __init__(self, errors: list[FieldError], reason: str) -> None:
        self.errors = errors
        first = errors[0].field if errors else "body"
        super().__init__(first, f"{len(errors)} invalid fields", reason)

    def __str__(self) -> str:
        return self.reason


# The one table: exception class -> problem. Lookup walks the exception's MRO, so the most
# specific entry wins (TenantIsolationError before ValidationError, and so on).
PROBLEM_TABLE: dict[type[BaseException], ProblemType] = {
    TenantIsolationError: ProblemType(403, "tenant-mismatch", "Not your tenant"),
    ValidationError: ProblemType(422, "validation-error", "Invalid input"),
    NotFoundError: ProblemType(404, "not-found", "Not found"),
    AuthenticationError: ProblemType(401, "unauthenticated", "Authentication required"),
    PermissionDeniedError: ProblemType(403, "forbidden", "Role not allowed"),
    RateLimitedError: ProblemType(429, "rate-limited", "Too many requests"),
    PayloadTooLargeError: ProblemType(413, "payload-too-large", "Payload too large"),
    IngestionError: ProblemType(422, "ingestion-error", "Data could not be read"),
    StorageError: ProblemType(503, "storage-unavailable", "Storage unavailable"),
    EngineUnavailableError: ProblemType(503, "engine-unavailable", "Engine unavailable"),
    DetectionError: ProblemType(500, "detection-failed", "Detection failed"),
    AboutCloudError: ProblemType(500, "internal-error", "Internal error"),
}
_UNEXPECTED = ProblemType(500, "internal-error", "Internal error")


def problem_for(exc: BaseException) -> ProblemType:
    """The table entry of the most specific class of ``exc`` (500 for anything unknown).

    >>> problem_for(TenantIsolationError("a", "b")).status
    403
    >>> problem_for(KeyError("x")).slug
    'internal-error'
    """
    for cls in type(exc).__mro__:
        if cls in PROBLEM_TABLE:
            return PROBLEM_TABLE[cls]
    return _UNEXPECTED


def problem_response(
    problem: ProblemType,
    detail: str,
    instance: str,
    request_id: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A ready ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": problem.type_uri,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "instance": instance,
    }
    if request_id:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = [error.as_dict() for error in errors]
    return JSONResponse(
        body, status_code=problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can meet through :func:`problem_response`."""
    app.add_exception_handler(AboutCloudError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _domain_error(request: Request, exc: Exception) -> Response:
    problem = problem_for(exc)
    if problem.status >= 500:
        _log.error("request_failed", error_type=type(exc).__name__, error=str(exc))
        detail = _server_detail(request)
    elif isinstance(exc, TenantIsolationError):
        detail = "the request names a tenant other than the credential's"
    else:
        detail = str(exc)
    return problem_response(
        problem,
        detail,
        request.url.path,
        _request_id(request),
        errors=_field_errors(exc),
        headers=_extra_headers(exc),
    )


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    raw = exc.errors() if isinstance(exc, RequestValidationError) else []
    errors = [FieldError(_loc_to_field(err.get("loc", ())), str(err.get("msg", ""))) for err in raw]
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5]) or "invalid request"
    return problem_response(
        PROBLEM_TABLE[ValidationError], detail, request.url.path, _request_id(request), errors
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    problem = ProblemType(status, phrase.lower().replace(" ", "-"), phrase)
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else phrase
    headers = getattr(exc, "headers", None)
    return problem_response(
        problem, str(detail), request.url.path, _request_id(request), headers=headers
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    _log.exception("request_crashed", error_type=type(exc).__name__)
    return problem_response(
        _UNEXPECTED, _server_detail(request), request.url.path, _request_id(request)
    )


def _server_detail(request: Request) -> str:
    request_id = _request_id(request) or "unknown"
    return f"the server could not complete the request; request id {request_id}"


def _field_errors(exc: Exception) -> list[FieldError] | None:
    if isinstance(exc, BatchValidationError):
        return exc.errors
    if isinstance(exc, ValidationError) and not isinstance(exc, TenantIsolationError):
        return [FieldError(exc.field, exc.reason)]
    return None


def _extra_headers(exc: Exception) -> dict[str, str] | None:
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": 'Bearer realm="aboutcloud"'}
    return None


def _loc_to_field(loc: Any) -> str:
    """``("body", "series", 3, "values", 17)`` -> ``series[3].values[17]``.

    >>> _loc_to_field(("body", "series", 3, "values", 17))
    'series[3].values[17]'
    >>> _loc_to_field(("query", "limit"))
    'limit'
    """
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"
