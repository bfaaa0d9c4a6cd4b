"""The alarm level follows the threshold: a stricter threshold makes the slow statistics wait
for a larger change, instead of alarming just above 0.5 and being cut away by the threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.config import DetectionConfig
from backend.analytics.detection_pipeline import AnomalyDetectionPipeline
from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming import params as pa
from backend.detection.streaming.detector import STATISTIC_NAMES, StreamingDetector
from backend.detection.streaming.layout import N_STATS
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError

N = 4032
STEP_NS = 300 * 10**9
SLOW = {"slow_shift", "slow_swing", "slow_volatility"}


def _drift(seed: int) -> np.ndarray:
    values = 50.0 + np.random.default_rng(seed).normal(0.0, 2.0, N)
    values[2000:3000] += np.linspace(0.0, 30.0, 1000)  # 15 noise sd over 3.5 days
    values[3000:] += 30.0
    return values


def _series(values: np.ndarray, metric: str = "memory_used") -> MetricSeries:
    ts = 1_704_067_200 * 10**9 + np.arange(values.size, dtype=np.int64) * STEP_NS
    return MetricSeries.from_arrays(SeriesKey("t", "c", "n", metric), ts, values)


def test_alarm_log10p_is_set_by_the_alarm_level() -> None:
    for cut in (0.3, 0.5, 0.7):
        packed = DetectorParams(anomaly_cut=cut).to_array()
        expected = cut * DetectorParams().log_scale + math.log10(N_STATS)
        assert packed[pa.P_ALARM_LOG10P] == pytest.approx(expected)


@pytest.mark.parametrize("cut", [0.0, -0.1, 1.5])
def test_alarm_level_outside_0_1_is_refused(cut: float) -> None:
    with pytest.raises(ConfigError, match="anomaly_cut"):
        DetectorParams(anomaly_cut=cut)


def test_engine_threshold_becomes_the_alarm_level() -> None:
    assert DefaultAnomalyEngine().params.anomaly_cut == 0.5
    assert DefaultAnomalyEngine({"threshold": 0.65}).params.anomaly_cut == 0.65
    assert DefaultAnomalyEngine({"anomaly_score_threshold": 0.7}).params.anomaly_cut == 0.7
    explicit = DefaultAnomalyEngine({"threshold": 0.65, "anomaly_cut": 0.5})
    assert explicit.params.anomaly_cut == 0.5  # a config that sets it apart is obeyed
    series = _series(_drift(0))
    assert DefaultAnomalyEngine().params_for(series, 0.8).anomaly_cut == 0.8
    assert DefaultAnomalyEngine().params_for(series).anomaly_cut == 0.5


@pytest.mark.parametrize("seed", range(3))
def test_a_drift_still_alarms_under_a_stricter_threshold(seed: int) -> None:
    values = _drift(seed)
    ts = _series(values).timestamps_ns
    fixed = StreamingDetector(DetectorParams(anomaly_cut=0.5)).score(ts, values)
    assert fixed.scores[2000:].max() < 0.6  # a slow alarm just above 0.5: cut away at 0.6
    strict = StreamingDetector(DetectorParams(anomaly_cut=0.6)).score(ts, values)
    hot = np.flatnonzero(strict.scores[2000:] >= 0.6) + 2000
    assert hot.size >= 1
    assert STATISTIC_NAMES[int(strict.statistic[hot[0]])] in SLOW
    # it waits for a larger change: later than the alarm at 0.5
    assert hot[0] > np.flatnonzero(fixed.scores[2000:] >= 0.5)[0] + 2000


def test_engine_detects_the_drift_at_a_metric_threshold() -> None:
    series = _series(_drift(1))
    for found in (
        DefaultAnomalyEngine({"threshold": 0.6}).detect(series),
        DefaultAnomalyEngine().detect_at(series, 0.6),
    ):
        alarms = [r for r in found if r.is_anomaly and r.anomaly_score >= 0.6]
        assert any(to_epoch_ns(r.window_start) >= series.timestamps_ns[2000] for r in alarms)


def test_pipeline_scores_with_the_metric_threshold() -> None:
    series = _series(_drift(2), metric="memory_used")
    config = DetectionConfig(metric_thresholds={"memory_used": 0.6})
    pipeline = AnomalyDetectionPipeline(DefaultAnomalyEngine(), config=config)
    results, explanations, stats = pipeline.detect_metric(series)
    late = [r for r in results if r.is_anomaly and r.anomaly_score >= 0.6]
    assert late and stats.anomalies_detected == len([r for r in results if r.is_anomaly])
    assert len(explanations) == stats.anomalies_detected
