"""A fresh world per test: real storage (in-memory and SQLite), real engine, real app.

Two tenants, ``acme`` (clusters eu-1, us-1) and ``globex`` (cluster gx-1), each with stored
series, anomaly results and aggregated scores computed by the real aggregation pipeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.aggregation import AggregationPipeline
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.api import ApiKeyService, ApiSettings, create_app
from backend.storage import InMemoryStorage, SQLiteStorage
from backend.storage.interface import StorageBackend

with warnings.catch_warnings():
    # Starlette nudges towards httpx2 when only httpx is installed; both work.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

T0 = datetime(2024, 1, 1)
POINTS = 240
WINDOW = timedelta(minutes=30)
ROLES = ("viewer", "writer", "admin")
CLUSTERS = {"acme": ("eu-1", "us-1"), "globex": ("gx-1",)}
NODES = ("node-1", "node-2", "node-3")
METRICS = ("cpu_usage", "memory_used")
SPIKE_KEY = SeriesKey("acme", "eu-1", "node-1", "cpu_usage")


@dataclass(frozen=True)
class World:
    """What the fixture stored, for assertions."""

    results: dict[str, list[AnomalyResult]]
    series: dict[str, list[SeriesKey]]


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageBackend]:
    backend: StorageBackend = (
        InMemoryStorage() if request.param == "memory" else SQLiteStorage(tmp_path / "api.db")
    )
    yield backend
    backend.close()


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings(
        access_log=False,
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
        score_cache_seconds=0,
    )


@pytest.fixture
def engine() -> AnomalyDetectionEngine:
    return EngineRegistry.get("default")


@pytest.fixture
def make_client(
    settings: ApiSettings, storage: StorageBackend, engine: AnomalyDetectionEngine
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(rate_limit_burst=2)``: a client of an app with settings overridden
    (``backend=`` serves another storage backend)."""
    opened: list[TestClient] = []

    def make(backend: StorageBackend | None = None, **overrides: object) -> TestClient:
        merged = ApiSettings(**{**settings.model_dump(), **overrides})
        app = create_app(merged, backend or storage, engine)
        test_client = TestClient(app)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def keys(storage: StorageBackend) -> dict[tuple[str, str], str]:
    """A key per (tenant, role)."""
    service = ApiKeyService(storage)
    return {
        (tenant, role): service.create(tenant, role, f"{tenant} {role}").key
        for tenant in CLUSTERS
        for role in ROLES
    }


@pytest.fixture
def auth(keys: dict[tuple[str, str], str]) -> Callable[..., dict[str, str]]:
    """``auth("acme", "viewer")`` -> the Authorization header of that key."""

    def header(tenant: str = "acme", role: str = "viewer") -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[(tenant, role)]}"}

    return header


@pytest.fixture
def world(storage: StorageBackend) -> World:
    rng = np.random.default_rng(7)
    results: dict[str, list[AnomalyResult]] = {}
    series: dict[str, list[SeriesKey]] = {}
    for tenant, clusters in CLUSTERS.items():
        keys = [SeriesKey(tenant, c, n, m) for c in clusters for n in NODES for m in METRICS]
        storage.store_metrics([_series(key, rng) for key in keys])
        results[tenant] = [r for key in keys for r in _results(key, rng)]
        storage.store_anomaly_results(tenant, results[tenant])
        storage.store_aggregated_scores(
            AggregationPipeline().run(results[tenant], timestamp=T0 + timedelta(hours=4))
            .all_scores()
        )  # fmt: skip
        series[tenant] = keys
    return World(results, series)


def _series(key: SeriesKey, rng: np.random.Generator) -> MetricSeries:
    ts = (np.datetime64(T0, "ns") + np.arange(POINTS) * np.timedelta64(60, "s")).astype(np.int64)
    values = 40 + 10 * np.sin(np.arange(POINTS) / 30) + rng.normal(0, 1, POINTS)
    if key == SPIKE_KEY:
        values[200:203] = 97.0
    return MetricSeries.from_arrays(key, ts, values)


def _results(key: SeriesKey, rng: np.random.Generator) -> list[AnomalyResult]:
    out = []
    for i in range(POINTS // 30):
        start = T0 + i * WINDOW
        spike = key == SPIKE_KEY and i == 6
        score = 0.97 if spike else float(np.round(rng.uniform(0.0, 0.9), 3))
        label = "spike" if spike else ("trend" if score >= 0.5 else "normal")
        out.append(AnomalyResult(
            *key, start, start + WINDOW - timedelta(minutes=1), score, label,
            magnitude=0.8 if spike else None,
            explanation=f"{label} in {key.metric_name} on {key.node_id}",
            anomaly_kind="spike" if spike else ("level_shift" if label == "trend" else None),
            engine_metadata={"window": i},
        ))  # fmt: skip
    return out
