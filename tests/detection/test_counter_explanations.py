"""A counter's alarms are told in its rate, the quantity the detector modelled, not in its
ever-growing total."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.detection_pipeline import AnomalyDetectionPipeline
from backend.analytics.engine import EngineRegistry
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import IncrementalDetector
from backend.storage import InMemoryStorage
from tests.detection._series import series


def _requests(n: int = 3000, burst: slice = slice(2500, 2510)) -> np.ndarray:
    """A request counter read every minute: about 15 requests/s, 200/s during ``burst``."""
    rate = 10.0 + np.random.default_rng(0).poisson(5, n).astype(float)
    rate[burst] = 200.0
    return np.cumsum(rate * 60.0)


@pytest.mark.parametrize(
    ("metric", "metadata", "unit"),
    [("http_requests_total", None, "per second"),  # declared by its name
     ("requests", None, "per second"),  # found a counter by the detector
     ("bytes_sent_total", {"unit": "bytes"}, "bytes/s")],
)  # fmt: skip
def test_a_counter_burst_is_a_spike_of_its_rate(
    metric: str, metadata: dict | None, unit: str
) -> None:
    [found] = [r for r in DefaultAnomalyEngine().detect(series(_requests(), metric=metric,
                                                               metadata=metadata))
               if r.is_anomaly]  # fmt: skip
    assert found.metric_name == metric and found.anomaly_kind == "spike"
    assert found.explanation is not None
    assert found.explanation.startswith(f"rate({metric}) on n1 rose to 200.0 {unit}")
    assert "15.0" in found.explanation  # the usual rate, not a total in the millions


def test_a_gauge_is_told_in_its_own_values() -> None:
    values = 50.0 + np.random.default_rng(1).normal(0.0, 1.0, 1500)
    values[1200] = 90.0
    [found] = [r for r in DefaultAnomalyEngine().detect(series(values)) if r.is_anomaly]
    assert found.explanation is not None
    assert found.explanation.startswith("cpu_usage on n1 rose to 90.0")


def test_the_pipeline_explains_a_counter_by_its_rate() -> None:
    pipeline = AnomalyDetectionPipeline(EngineRegistry.get("default"))
    results, explanations, _ = pipeline.detect_metric(
        series(_requests(), metric="http_requests_total")
    )
    assert [r.metric_name for r in results if r.is_anomaly] == ["http_requests_total"]
    [explained] = explanations
    assert explained.observed_value == pytest.approx(200.0)


@pytest.mark.merlion
def test_merlion_explains_a_declared_counter_by_its_rate() -> None:
    engine = EngineRegistry.get("merlion", {"emit_normal": False})
    flagged = engine.detect(series(_requests(), metric="http_requests_total"))
    assert any("rate(http_requests_total)" in (r.explanation or "") for r in flagged)
    assert all(r.metric_name == "http_requests_total" for r in flagged)


def test_an_incremental_run_tells_a_counter_burst_by_its_rate() -> None:
    storage = InMemoryStorage()
    counter = series(_requests(), metric="http_requests_total")
    storage.store_metrics([counter.slice(0, 2400)])
    detector = IncrementalDetector(storage, fleet_calibration=False)
    assert not detector.run("t1").anomalies
    storage.store_metrics([counter.slice(2400, counter.length)])
    [found] = detector.run("t1").anomalies  # scored: the new points, after a day of context
    assert found.metric_name == "http_requests_total"
    assert found.explanation is not None
    assert found.explanation.startswith("rate(http_requests_total) on n1 rose to 200.0 per second")
