"""Request ids and the body limit, enforced while the body streams in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest


def test_request_id_generated_when_absent(client: Any) -> None:
    response = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["x-content-type-options"] == "nosniff"


def test_request_id_echoed(client: Any) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-1.2"}).headers["x-request-id"]
        == "abc-1.2"
    )


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "semi;colon"])
def test_request_id_unsafe_value_replaced(client: Any, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad


def test_body_limit_by_content_length_413(make_client: Any, auth: Any) -> None:
    client = make_client(max_body_bytes=100)
    response = client.post("/metrics", content=b"x" * 101, headers=auth("acme", "writer"))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:aboutcloud:problem:payload-too-large"


def test_body_limit_enforced_on_chunked_body(make_client: Any, auth: Any) -> None:
    client = make_client(max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    response = client.post("/metrics", content=chunks(), headers=auth("acme", "writer"))
    assert response.status_code == 413
    assert "body bytes" in response.json()["detail"]


def test_body_under_limit_accepted(make_client: Any, auth: Any) -> None:
    client = make_client(max_body_bytes=10_000)
    body = {"series": [{"cluster_id": "c", "node_id": "n", "metric_name": "latency",
                        "timestamps": [0, 60], "values": [1.0, 2.0]}]}  # fmt: skip
    response = client.post("/metrics", json=body, headers=auth("acme", "writer"))
    assert response.status_code == 200


def test_access_log_carries_request_and_tenant(
    make_client: Any, auth: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(access_log=True)
    client.get("/nodes/top", headers={**auth("globex"), "X-Request-ID": "log-me"})
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "log-me" in line)
    assert "globex" in line and "/nodes/top" in line and "200" in line


def test_body_limit_stops_reading_mid_stream() -> None:
    """Without Content-Length, the limit trips at the first chunk that crosses it."""
    import asyncio

    from backend.api.middleware import RequestContextMiddleware
    from backend.errors import PayloadTooLargeError

    received: list[int] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(len(message["body"]))
            if not message.get("more_body"):
                return

    messages = iter([{"type": "http.request", "body": b"z" * 100, "more_body": True}] * 50)

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/metrics", "headers": []}
    middleware = RequestContextMiddleware(inner, max_body_bytes=1000, access_log=False)
    with pytest.raises(PayloadTooLargeError) as caught:
        asyncio.run(middleware(scope, receive, send))
    assert caught.value.actual == 1100
    assert len(received) == 10


def test_cors_off_by_default(client: Any) -> None:
    response = client.options(
        "/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_configured_origin_only(make_client: Any, auth: Any) -> None:
    client = make_client(cors_origins=["https://dash.example"])
    allowed = client.get("/nodes/top", headers={**auth(), "Origin": "https://dash.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    other = client.get("/nodes/top", headers={**auth(), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
