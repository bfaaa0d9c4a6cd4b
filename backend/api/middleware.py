"""Request context as pure ASGI middleware: request id, body-size limit, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) keeps the hot ingestion path cheap and lets the body
limit be enforced while the body streams in: a client that lies in ``Content-Length`` or sends
a chunked body still meets the limit, because :class:`PayloadTooLargeError` is raised from
``receive`` as soon as the running byte count passes it.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.problems import PROBLEM_TABLE, problem_response
from backend.errors import PayloadTooLargeError

__all__ = ["REQUEST_ID_HEADER", "RequestContextMiddleware"]

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_log = structlog.get_logger("aboutcloud.api")


class RequestContextMiddleware:
    """Give every HTTP request an id, cap its body and log it with its tenant."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder: list[int] = [500]
        try:
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                response = problem_response(
                    PROBLEM_TABLE[PayloadTooLargeError],
                    str(PayloadTooLargeError("body bytes", self.max_body_bytes, declared)),
                    scope.get("path", ""),
                    request_id,
                )
                await response(scope, receive, _with_headers(send, request_id, status_holder))
                return
            await self.app(
                scope,
                _limited(receive, self.max_body_bytes),
                _with_headers(send, request_id, status_holder),
            )
        finally:
            if self.access_log:
                _log_access(scope, state, status_holder[0], started)
            structlog.contextvars.unbind_contextvars("request_id", "tenant_id")


def _request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLargeError("body bytes", limit, seen)
        return message

    return receive_limited


def _with_headers(send: Send, request_id: str, status_holder: list[int]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            status_holder[0] = int(message["status"])
            headers = list(message.get("headers", []))
            headers.append((b"x-request-id", request_id.encode("latin-1")))
            headers.append((b"x-content-type-options", b"nosniff"))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers


def _log_access(scope: Scope, state: dict[str, Any], status: int, started: float) -> None:
    principal = state.get("principal")
    _log.info(
        "request",
        method=scope.get("method"),
        path=scope.get("path"),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        tenant_id=getattr(principal, "tenant_id", None),
    )
