"""A live server with a simulated, really detected fleet, for the dashboard tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from backend.analytics.engine import EngineRegistry
from backend.api import ApiKeyService, ApiSettings, create_app
from backend.detection.runner import IncrementalDetector
from backend.simulator import FleetSpec, simulate_fleet
from backend.storage import SQLiteStorage


@dataclass(frozen=True)
class LiveDashboard:
    url: str
    key: str
    tenant: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(storage: SQLiteStorage) -> str:
    fleet = simulate_fleet(FleetSpec(
        clusters_per_tenant=2, nodes_per_cluster=4, metrics=("cpu_usage", "latency"),
        num_points=720, anomaly_ratio=0.5, seed=11,
    ))  # fmt: skip
    storage.store_metrics(fleet.series)
    tenant = fleet.series[0].tenant_id
    # the same incremental detection `serve`/`demo` run: every series gets a standing score
    IncrementalDetector(storage).run(tenant)
    return tenant


@pytest.fixture
def live_dashboard(tmp_path: Path) -> Iterator[LiveDashboard]:
    storage = SQLiteStorage(tmp_path / "dashboard.db")
    tenant = _fill(storage)
    key = ApiKeyService(storage).create(tenant, "viewer", "dashboard test").key
    settings = ApiSettings(access_log=False, rate_limit_burst=1000, dashboard_refresh_seconds=1)
    app = create_app(settings, storage, EngineRegistry.get("default"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveDashboard(f"http://127.0.0.1:{port}", key, tenant)
    server.should_exit = True
    thread.join(timeout=10)
    storage.close()
