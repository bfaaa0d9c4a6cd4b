"""The default engine is calibrated per series: the pipeline and the incremental runner must
not add the per-family threshold margins on top of its scores (they would drop its alarms
just above the global threshold, such as the slow statistics' drift alarms)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from backend.analytics.config import DetectionConfig
from backend.analytics.detection_pipeline import AnomalyDetectionPipeline
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import IncrementalDetector
from backend.evaluation.fleet import evaluation_fleet_spec
from backend.simulator.fleet import simulate_fleet
from backend.storage import open_storage

FAMILY = DetectionConfig().get_threshold_for_metric("cpu_usage")  # 0.55 with the defaults


@cache
def _cpu_series_with_alarms_below_the_family_threshold() -> MetricSeries:
    """A simulated CPU series whose every alarm scores in [0.5, 0.55)."""
    series = simulate_fleet(evaluation_fleet_spec(24, seed=4, anomaly_ratio=0.5)).series[16]
    assert series.metric_name == "cpu_usage"
    return series


def _alarms(results: list[AnomalyResult]) -> list[float]:
    return sorted(round(r.anomaly_score, 6) for r in results if r.is_anomaly)


def test_the_series_has_alarms_that_a_family_margin_would_drop() -> None:
    series = _cpu_series_with_alarms_below_the_family_threshold()
    scores = _alarms(DefaultAnomalyEngine().detect(series))
    assert FAMILY > 0.5 and scores and all(0.5 <= s < FAMILY for s in scores)


def test_pipeline_keeps_the_default_engines_alarms_on_a_cpu_metric() -> None:
    series = _cpu_series_with_alarms_below_the_family_threshold()
    engine = DefaultAnomalyEngine()
    results, explanations, stats = AnomalyDetectionPipeline(engine).detect_metric(series)
    assert _alarms(results) == _alarms(engine.detect(series))
    assert stats.anomalies_detected == len(explanations) == len(_alarms(results))


def test_runner_keeps_the_default_engines_alarms_on_a_cpu_metric(tmp_path: Path) -> None:
    series = _cpu_series_with_alarms_below_the_family_threshold()
    storage = open_storage(f"sqlite:///{tmp_path / 'calibrated.db'}")
    storage.store_metrics([series])
    report = IncrementalDetector(storage).run(series.tenant_id)
    assert _alarms(report.anomalies) == _alarms(DefaultAnomalyEngine().detect(series))
