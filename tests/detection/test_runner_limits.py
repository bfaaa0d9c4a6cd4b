"""Static limits in incremental detection: breaches alarm on any engine, across runs, and
never change what the default engine learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.detection_pipeline import AnomalyDetectionPipeline
from backend.analytics.limits import breach_mask
from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.multivariate_engine import MultivariateNodeEngine
from backend.detection.runner import IncrementalDetector
from backend.storage import StorageBackend, open_storage

MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9
KEY = SeriesKey("t1", "c1", "n1", "error_rate")
LIMITED = DetectionConfig(metric_limits={"error_rate": {"above": 5.0, "for_points": 3}})


@pytest.fixture
def storage(tmp_path: Path) -> StorageBackend:
    return open_storage(f"sqlite:///{tmp_path / 'limits.db'}")


def _hot_for_weeks(n: int = 4000, seed: int = 4) -> np.ndarray:
    """An error rate that has always run at 6-8 %: above the operators' 5 % limit, yet
    entirely normal to a detector that learns from the series' own history."""
    return 7.0 + np.random.default_rng(seed).normal(0.0, 0.3, n)


def _store(storage: StorageBackend, values: np.ndarray, offset: int = 0) -> None:
    ts = START_NS + (offset + np.arange(values.shape[0], dtype=np.int64)) * MINUTE_NS
    storage.store_metrics([MetricSeries.from_arrays(KEY, ts, values, metadata={"unit": "percent"})])


def _minutes(results: list) -> list[tuple[int, int]]:
    start = START_NS // 10**9
    return [
        (int(r.window_start.timestamp() - start) // 60, int(r.window_end.timestamp() - start) // 60)
        for r in results
        if r.is_anomaly
    ]


def test_runner_reports_a_breach_the_learnt_baseline_calls_normal(
    storage: StorageBackend,
) -> None:
    values = np.full(3000, 2.0) + np.random.default_rng(1).normal(0, 0.2, 3000)
    values[2000:] += np.linspace(0.0, 6.0, 1000)  # a slow climb through the limit
    _store(storage, values)
    first_alarm = int(np.argmax(breach_mask(values, LIMITED.metric_limits["error_rate"])))
    plain = IncrementalDetector(storage, config=DetectionConfig(), fleet_calibration=False)
    unlimited = plain.run("t1", reset=True)
    limited = IncrementalDetector(storage, config=LIMITED, fleet_calibration=False).run(
        "t1", reset=True
    )
    breaches = [r for r in limited.anomalies if "limit" in r.engine_metadata]
    assert breaches, "the climb through 5 % was not reported"
    assert any(a <= first_alarm <= b for a, b in _minutes(breaches))
    assert all(r.anomaly_score >= LIMITED.critical_threshold for r in breaches)
    assert len(limited.anomalies) >= len(unlimited.anomalies)


def test_runner_limit_alarms_on_a_series_that_always_ran_hot(storage: StorageBackend) -> None:
    _store(storage, _hot_for_weeks())
    report = IncrementalDetector(storage, config=LIMITED, fleet_calibration=False).run("t1")
    # alarmed at the third point over 5 %, reported from the first
    assert _minutes(report.anomalies)[0][0] == 0
    covered = sum(b - a + 1 for a, b in _minutes(report.anomalies))
    assert covered == 4000
    text = report.anomalies[-1].explanation or ""
    assert "limit (at most 5.0 %)" in text


def test_runner_limit_goes_on_from_the_last_run_without_repeating_it(
    storage: StorageBackend,
) -> None:
    values = np.full(3000, 2.0) + np.random.default_rng(2).normal(0, 0.1, 3000)
    values[2998:] = 9.0  # two points over the limit at the end of the first run
    _store(storage, values)
    runner = IncrementalDetector(storage, config=LIMITED, fleet_calibration=False)
    first = runner.run("t1")
    assert not [r for r in first.anomalies if "limit" in r.engine_metadata]
    _store(storage, np.array([9.0, 9.5, 2.0, 2.0]), offset=3000)
    second = runner.run("t1")
    breaches = [r for r in second.anomalies if "limit" in r.engine_metadata]
    # the breach began in the first run (2998) and first alarms at its third point (3000),
    # in this run, which reports it from its start
    assert _minutes(breaches) == [(2998, 3001)]
    _store(storage, np.array([9.0, 9.0]), offset=3004)
    third = runner.run("t1")  # a new breach, not yet 3 points long, alarms as a spike ...
    # ... two quiet points after the last: the same incident goes on (as one run would merge
    # it), and the breach is not reported again on its own
    assert [r for r in third.anomalies if r.engine_metadata.get("engine") == "limit"] == []
    assert _minutes(third.anomalies) == [(2998, 3005)]


def test_runner_limit_leaves_the_default_engines_state_alone(storage: StorageBackend) -> None:
    _store(storage, _hot_for_weeks(3000))
    name = "default@" + DefaultAnomalyEngine.version
    IncrementalDetector(storage, config=LIMITED, fleet_calibration=False).run("t1")
    with_limit = storage.load_detector_state(KEY, name)
    IncrementalDetector(storage, config=DetectionConfig(), fleet_calibration=False).run(
        "t1", reset=True
    )
    assert storage.load_detector_state(KEY, name) == with_limit


def test_runner_limit_applies_to_an_engine_without_streaming_state(
    storage: StorageBackend,
) -> None:
    _store(storage, _hot_for_weeks(600))
    engine = MultivariateNodeEngine()
    report = IncrementalDetector(storage, engine=engine, config=LIMITED).run("t1")
    assert _minutes([r for r in report.anomalies if "limit" in r.engine_metadata])
    stored = storage.query_anomalies("t1", min_score=LIMITED.critical_threshold)
    assert any("beyond its limit" in (r["explanation"] or "") for r in stored)


def test_pipeline_adds_breaches_and_keeps_a_warning_below_critical() -> None:
    values = np.full(1000, 2.0) + np.random.default_rng(5).normal(0, 0.1, 1000)
    values[700:720] = 5.5
    ts = START_NS + np.arange(1000, dtype=np.int64) * MINUTE_NS
    series = MetricSeries.from_arrays(KEY, ts, values)
    config = DetectionConfig(metric_limits={"error_*": {"above": 5.0, "severity": "warning"}})
    pipeline = AnomalyDetectionPipeline(DefaultAnomalyEngine(), config=config)
    results, explanations, stats = pipeline.detect_metric(series)
    breaches = [r for r in results if "limit" in r.engine_metadata]
    assert breaches and stats.anomalies_detected >= len(breaches)
    assert len(explanations) == stats.anomalies_detected
    assert any(a <= 700 <= b for a, b in _minutes(breaches))
    new = [r for r in breaches if r.engine_metadata.get("engine") == "limit"]
    assert all(r.anomaly_score == config.anomaly_score_threshold for r in new)
    assert stats.critical_anomalies <= stats.anomalies_detected - len(new)


def test_pipeline_limit_finds_the_spike_a_glitch_hid() -> None:
    """After a glitch to 500 the learnt baseline caps a later spike to 200 (the calibrators
    remember the glitch); a limit of 100 % on CPU still reports it."""
    rng = np.random.default_rng(8)
    values = 50 + rng.normal(0, 5, 2000)
    values[1000], values[1300] = 500.0, 200.0
    ts = START_NS + np.arange(2000, dtype=np.int64) * MINUTE_NS
    series = MetricSeries.from_arrays(SeriesKey("t1", "c1", "n1", "cpu_usage"), ts, values)
    engine = DefaultAnomalyEngine()
    plain, _, _ = AnomalyDetectionPipeline(engine, config=DetectionConfig()).detect_metric(series)
    limited_config = DetectionConfig(metric_limits={"cpu*": {"above": 100.0}})
    limited, _, _ = AnomalyDetectionPipeline(engine, config=limited_config).detect_metric(series)
    assert not any(a <= 1300 <= b for a, b in _minutes(plain))
    assert any(a <= 1300 <= b for a, b in _minutes(limited))
    assert any(a <= 1000 <= b for a, b in _minutes(limited))


def test_runner_applies_each_tenants_own_limits(storage: StorageBackend) -> None:
    values = _hot_for_weeks(1000)
    ts = START_NS + np.arange(1000, dtype=np.int64) * MINUTE_NS
    for tenant in ("acme", "globex"):
        key = SeriesKey(tenant, "c1", "n1", "error_rate")
        storage.store_metrics([MetricSeries.from_arrays(key, ts, values)])
    config = DetectionConfig(tenants={"acme": {"metric_limits": {"error_*": {"above": 5.0}}}})
    runner = IncrementalDetector(storage, config=config, fleet_calibration=False)
    acme, globex = runner.run("acme"), runner.run("globex")
    assert [r for r in acme.anomalies if "limit" in r.engine_metadata]
    assert not [r for r in globex.anomalies if "limit" in r.engine_metadata]
    assert acme.stats.critical_anomalies >= 1


def test_pipeline_uses_the_series_tenants_threshold() -> None:
    values = np.full(1000, 2.0) + np.random.default_rng(6).normal(0, 0.1, 1000)
    values[700:720] = 5.5
    ts = START_NS + np.arange(1000, dtype=np.int64) * MINUTE_NS
    limits = {"error_*": {"above": 5.0, "severity": "warning"}}
    config = DetectionConfig(metric_limits=limits, tenants={"t1": {"anomaly_score_threshold": 0.7}})
    pipeline = AnomalyDetectionPipeline(DefaultAnomalyEngine(), config=config)
    for tenant, expected in (("t1", 0.7), ("t2", 0.5)):
        key = SeriesKey(tenant, "c1", "n1", "error_rate")
        results, _, _ = pipeline.detect_metric(MetricSeries.from_arrays(key, ts, values))
        new = [r for r in results if r.engine_metadata.get("engine") == "limit"]
        assert new and all(r.anomaly_score == expected for r in new)
