"""The default engine's ``per_metric`` settings: detector knobs for some metrics only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.analytics.config import reset_config
from backend.analytics.config_loading import config_from_file
from backend.analytics.configured_engine import configured_engine
from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import IncrementalDetector
from backend.errors import ConfigError
from backend.storage import InMemoryStorage


def _series(metric: str, n: int = 600) -> MetricSeries:
    rng = np.random.default_rng(3)
    values = 50 + rng.normal(0, 1, n)
    values[500] += 30
    ts = np.arange(n, dtype=np.int64) * 300 * 10**9  # five-minute points: heard after 15 h
    return MetricSeries.from_arrays(SeriesKey("t", "c", "n1", metric), ts, values)


def test_a_metrics_settings_apply_to_it_only() -> None:
    engine = DefaultAnomalyEngine({"per_metric": {"error_rate": {"anomaly_record_points": 1}}})
    assert engine.params_for(_series("error_rate")).anomaly_record_points == 1
    assert engine.params_for(_series("cpu_usage")).anomaly_record_points == 0


def test_an_exact_name_beats_a_pattern_and_a_longer_pattern_a_shorter_one() -> None:
    engine = DefaultAnomalyEngine(
        {
            "per_metric": {
                "net*": {"warmup_points": 200},
                "network_*": {"warmup_points": 300},
                "network_in": {"warmup_points": 400},
            }
        }
    )
    warmups = [
        engine.params_for(_series(name)).warmup_points
        for name in ("net_errors", "network_out", "network_in", "cpu_usage")
    ]
    assert warmups == [200, 300, 400, engine.params.warmup_points]


def test_the_settings_change_how_that_metric_scores() -> None:
    engine = DefaultAnomalyEngine({"per_metric": {"cpu*": {"warmup_points": 10_000}}})
    quiet = engine.score_series(_series("cpu_usage")).scores
    heard = engine.score_series(_series("memory_used")).scores
    assert float(np.max(quiet)) == 0.0
    assert float(heard[500]) >= engine.threshold


def test_a_metrics_own_threshold_still_becomes_its_alarm_level() -> None:
    engine = DefaultAnomalyEngine({"per_metric": {"cpu_usage": {"warmup_points": 200}}})
    params = engine.params_for(_series("cpu_usage"), threshold=0.7)
    assert (params.warmup_points, params.anomaly_cut) == (200, 0.7)


@pytest.mark.parametrize(
    ("per_metric", "field", "reason"),
    [
        ({"error_rate": {"anomaly_weigth": 1}}, "per_metric.error_rate.anomaly_weigth",
         "did you mean 'anomaly_weight'"),
        ({"cpu*": {"log_scale": 9.0}}, "per_metric.cpu*.log_scale", "fleet-wide"),
        ({"cpu*": {"alpha_level": 2.0}}, "per_metric.cpu*.alpha_level", "must be in (0, 1]"),
        ({"cpu*": 3}, "per_metric.cpu*", "must be a mapping"),
        ({"cpu*": {"warmup_points": "ten"}}, "per_metric.cpu*.warmup_points", "must be a number"),
        ([1, 2], "per_metric", "must map metric names"),
    ],
)  # fmt: skip
def test_bad_per_metric_settings_are_refused_at_construction(
    per_metric: object, field: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        DefaultAnomalyEngine({"per_metric": per_metric})
    assert caught.value.field == field
    assert reason in str(caught.value)


def test_per_metric_settings_come_from_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "detection.toml"
    path.write_text("[detection.engine_config.per_metric.error_rate]\nanomaly_record_points = 1\n")
    assert config_from_file(path).engine_config == {
        "per_metric": {"error_rate": {"anomaly_record_points": 1}}
    }
    reset_config()
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    try:
        engine = configured_engine()
    finally:
        reset_config()
    assert isinstance(engine, DefaultAnomalyEngine)
    assert engine.params_for(_series("error_rate")).anomaly_record_points == 1


def test_a_top_level_knob_that_is_not_a_number_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as caught:
        DefaultAnomalyEngine({"warmup_points": "ten"})
    assert (caught.value.field, caught.value.reason) == ("warmup_points", "must be a number")


def test_incremental_runs_keep_each_metrics_settings_across_restarts() -> None:
    storage = InMemoryStorage()
    rng = np.random.default_rng(5)
    values = 50 + rng.normal(0, 1, 1000)
    values[[500, 900]] += [30, 80]  # one spike in each run
    ts = np.arange(1000, dtype=np.int64) * 300 * 10**9

    def store(part: slice) -> None:
        for metric in ("cpu_usage", "memory_used"):
            key = SeriesKey("t", "c", "n1", metric)
            storage.store_metrics([MetricSeries.from_arrays(key, ts[part], values[part])])

    config = {"per_metric": {"cpu*": {"warmup_points": 10_000}}}
    store(slice(0, 700))
    first = IncrementalDetector(storage, DefaultAnomalyEngine(config)).run("t")
    assert {r.metric_name for r in first.anomalies} == {"memory_used"}
    store(slice(700, 1000))
    second = IncrementalDetector(storage, DefaultAnomalyEngine(config)).run("t")
    assert (second.points_scored, second.states_relearnt) == (600, 0)
    assert {r.metric_name for r in second.anomalies} == {"memory_used"}
