"""The app behind a real uvicorn server on 127.0.0.1: real sockets, real chunked bodies."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from backend.api import create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_url(settings: Any, storage: Any, engine: Any, world: Any) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"max_body_bytes": 50_000}), storage, engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_live_server_ingest_and_read_back(live_url: str, auth: Any) -> None:
    series = {"cluster_id": "live", "node_id": "n1", "metric_name": "latency",
              "timestamps": [1_704_067_200 + 60 * i for i in range(100)],
              "values": [float(i % 10) for i in range(100)]}  # fmt: skip
    with httpx.Client(base_url=live_url) as client:
        posted = client.post("/metrics", json={"series": [series]}, headers=auth("acme", "writer"))
        assert posted.status_code == 200
        assert posted.json()["accepted_points"] == 100
        read = client.get("/metrics", params={"cluster_id": "live"}, headers=auth())
        assert read.json()["series"][0]["values"] == series["values"]
        assert read.headers["x-request-id"]


def test_live_server_chunked_body_over_limit_413(live_url: str, auth: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"series": ['
        for _ in range(1000):
            yield b'{"cluster_id": "c", "node_id": "n", "metric_name": "m", ' + b" " * 100
        yield b"]}"

    with httpx.Client(base_url=live_url) as client:
        response = client.post("/metrics", content=chunks(), headers=auth("acme", "writer"))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_live_server_healthz_and_docs(live_url: str) -> None:
    with httpx.Client(base_url=live_url) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/openapi.json").json()["info"]["title"] == "AboutCloud API"
