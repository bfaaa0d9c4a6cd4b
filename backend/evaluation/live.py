"""Evaluating a simulated fleet as the platform scores it live: in many short runs.

:func:`backend.evaluation.fleet.evaluate_fleet` scores each series in one pass, so every
anomaly is explained knowing the points after it. A live deployment runs ``aboutcloud
detect`` on a schedule: each run scores the points that arrived since the previous one and
stores what it found (:class:`~backend.detection.runner.IncrementalDetector`); an anomaly
is first told from its first minutes, then continued and told again as later runs see more
(:mod:`backend.detection.continuation`). :func:`evaluate_fleet_live` replays a fleet that
way, into an in-memory store, and matches the stored results to the labels exactly as the
one-pass evaluation does, so the two sets of figures compare directly.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from backend.analytics.config import DetectionConfig
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.detection.continuation import as_result
from backend.detection.runner import IncrementalDetector
from backend.errors import ValidationError
from backend.evaluation.fleet import FleetEvaluation, summarise_fleet
from backend.evaluation.scoring import engine_threshold
from backend.storage.memory_storage import InMemoryStorage

__all__ = ["evaluate_fleet_live"]

Progress = Callable[[int, int], None]


def evaluate_fleet_live(
    engine: AnomalyDetectionEngine,
    fleet: Any,
    run_points: int,
    tolerance_points: int = 10,
    progress: Progress | None = None,
    history_fraction: float = 0.5,
) -> FleetEvaluation:
    """The fleet scored as a live deployment would: its first ``history_fraction`` in one
    run (the backfill), then a run every ``run_points`` sampling steps; figures as
    :func:`~backend.evaluation.fleet.evaluate_fleet` gives them.

    The engine's own threshold is every metric's alarm level (as in the one-pass
    evaluation), and the fleet calibration is on, as ``aboutcloud detect`` runs it.
    """
    if isinstance(run_points, bool) or not isinstance(run_points, int) or run_points < 1:
        raise ValidationError("run_points", run_points, "must be an integer >= 1")
    if not 0.0 < history_fraction < 1.0:
        raise ValidationError("history_fraction", history_fraction, "must be in (0, 1)")
    started = time.perf_counter()
    threshold = engine_threshold(engine)
    config = DetectionConfig(
        anomaly_score_threshold=threshold,
        critical_threshold=max(threshold, 0.8),
        use_metric_defaults=False,
    )
    storage = InMemoryStorage()
    detector = IncrementalDetector(storage, engine=engine, config=config)
    grid = _grid(fleet.series)
    first = int(grid.shape[0] * history_fraction)
    cuts = [0, *range(first, grid.shape[0], run_points), grid.shape[0]]
    tenants = sorted({series.tenant_id for series in fleet.series})
    for done, (a, b) in enumerate(itertools.pairwise(cuts), start=1):
        low, high = int(grid[a]), int(grid[b - 1])
        storage.store_metrics([_between(series, low, high) for series in fleet.series])
        for tenant in tenants:
            detector.run(tenant)
        if progress is not None:
            progress(done, len(cuts) - 1)
    found = [_stored(storage, series) for series in fleet.series]
    seconds = time.perf_counter() - started
    return summarise_fleet(engine, fleet, found, tolerance_points, seconds, threshold)


def _grid(series_list: Any) -> np.ndarray:
    """Every sampling time of the fleet, ascending (series may miss some: gaps)."""
    return np.unique(np.concatenate([series.timestamps_ns for series in series_list]))


def _between(series: MetricSeries, low_ns: int, high_ns: int) -> MetricSeries:
    ts = series.timestamps_ns
    a, b = np.searchsorted(ts, low_ns, "left"), np.searchsorted(ts, high_ns, "right")
    return series.with_arrays(ts[a:b], series.values_array[a:b])


def _stored(storage: InMemoryStorage, series: MetricSeries) -> list[AnomalyResult]:
    rows = storage.query_anomalies(
        series.tenant_id,
        cluster_id=series.cluster_id,
        node_id=series.node_id,
        metric_name=series.metric_name,
        min_score=0.0,
    )
    return [as_result(row) for row in rows]
