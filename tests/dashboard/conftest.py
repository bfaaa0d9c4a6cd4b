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
from backend.analytics.types import MetricSeries, SeriesKey
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
    #: a node that joined four hours before the fleet's last point (still learning)
    young: SeriesKey


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _young(fleet_end_ns: int, cluster: SeriesKey) -> MetricSeries:
    """CPU of a node that joined four hours before ``fleet_end_ns`` (one-minute points)."""
    ts = fleet_end_ns - np.arange(240, dtype=np.int64)[::-1] * 60 * 10**9
    values = 30 + np.random.default_rng(3).normal(0, 2, ts.size)
    key = SeriesKey(cluster.tenant_id, cluster.cluster_id, "node-new", "cpu_usage")
    return MetricSeries.from_arrays(key, ts, values)


def _fill(
    storage: SQLiteStorage,
) -> tuple[str, DetectionConfig, SeriesKey, SeriesKey, SeriesKey]:
    fleet = simulate_fleet(FleetSpec(
        clusters_per_tenant=2, nodes_per_cluster=4, metrics=("cpu_usage", "latency"),
        num_points=720, freq="5min", anomaly_ratio=0.5, seed=11,  # 60 h: past the learning
    ))  # fmt: skip
    tenant = fleet.series[0].tenant_id
    latency = [s for s in fleet.series if s.metric_name == "latency"]
    limit = float(np.percentile(np.concatenate([s.values_array for s in latency]), 99.7))
    config = DetectionConfig(metric_limits={"latency": {"above": limit}})
    shown = 24 * 12  # the chart's default range: the last day of five-minute points
    breached = next(s.key for s in latency if s.values_array[-shown:].max() > limit)
    last = next(s for s in latency if s.values_array.max() <= limit)
    hot = last.values_array.copy()
    hot[-6:] = 1.5 * limit  # over the limit for the last six points: not over yet
    series = [last.with_arrays(last.timestamps_ns, hot) if s is last else s for s in fleet.series]
    young = _young(int(last.timestamps_ns[-1]), last.key)
    storage.store_metrics([*series, young])
    # the same incremental detection `serve`/`demo` run: every series gets a standing score
    IncrementalDetector(storage, config=config).run(tenant)
    return tenant, config, breached, last.key, young.key


@pytest.fixture
def live_dashboard(tmp_path: Path) -> Iterator[LiveDashboard]:
    storage = SQLiteStorage(tmp_path / "dashboard.db")
    tenant, config, breached, ongoing, young = _fill(storage)
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
    url = f"http://127.0.0.1:{port}"
    yield LiveDashboard(url, key, tenant, limit, breached, ongoing, young)
    server.should_exit = True
    thread.join(timeout=10)
    storage.close()
