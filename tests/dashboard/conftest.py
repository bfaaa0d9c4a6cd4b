"""A live server with a simulated, really detected fleet, for the dashboard tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import uvicorn

from backend.analytics.config import DetectionConfig
from backend.analytics.engine import EngineRegistry
from backend.analytics.types import SeriesKey
from backend.api import ApiKeyService, ApiSettings, create_app
from backend.detection.runner import IncrementalDetector
from backend.simulator import FleetSpec, simulate_fleet
from backend.storage import SQLiteStorage


@dataclass(frozen=True)
class LiveDashboard:
    url: str
    key: str
    tenant: str
    #: latency's static limit, and a series that breaches it
    limit: float
    breached: SeriesKey
    #: a series whose breach still goes on at the last point detection scored
    ongoing: SeriesKey


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(storage: SQLiteStorage) -> tuple[str, DetectionConfig, SeriesKey, SeriesKey]:
    fleet = simulate_fleet(FleetSpec(
        clusters_per_tenant=2, nodes_per_cluster=4, metrics=("cpu_usage", "latency"),
        num_points=720, anomaly_ratio=0.5, seed=11,
    ))  # fmt: skip
    tenant = fleet.series[0].tenant_id
    latency = [s for s in fleet.series if s.metric_name == "latency"]
    limit = float(np.percentile(np.concatenate([s.values_array for s in latency]), 99.7))
    config = DetectionConfig(metric_limits={"latency": {"above": limit}})
    breached = next(s.key for s in latency if s.values_array.max() > limit)
    last = next(s for s in latency if s.values_array.max() <= limit)
    hot = last.values_array.copy()
    hot[-6:] = 1.5 * limit  # over the limit for the last six minutes: not over yet
    series = [last.with_arrays(last.timestamps_ns, hot) if s is last else s for s in fleet.series]
    storage.store_metrics(series)
    # the same incremental detection `serve`/`demo` run: every series gets a standing score
    IncrementalDetector(storage, config=config).run(tenant)
    return tenant, config, breached, last.key


@pytest.fixture
def live_dashboard(tmp_path: Path) -> Iterator[LiveDashboard]:
    storage = SQLiteStorage(tmp_path / "dashboard.db")
    tenant, config, breached, ongoing = _fill(storage)
    key = ApiKeyService(storage).create(tenant, "viewer", "dashboard test").key
    settings = ApiSettings(access_log=False, rate_limit_burst=1000, dashboard_refresh_seconds=1)
    app = create_app(settings, storage, EngineRegistry.get("default"), detection=config)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    limit = config.metric_limits["latency"].above
    assert limit is not None
    yield LiveDashboard(f"http://127.0.0.1:{port}", key, tenant, limit, breached, ongoing)
    server.should_exit = True
    thread.join(timeout=10)
    storage.close()
