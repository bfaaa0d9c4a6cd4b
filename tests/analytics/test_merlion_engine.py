"""MerlionAnomalyEngine: Salesforce Merlion run for real on small series (the merlion extra)."""

from __future__ import annotations

import logging
import os
import pickle
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.analytics.engine import EngineRegistry
from backend.analytics.merlion_engine import (
    MERLION_EXTRA,
    MerlionAnomalyEngine,
    require_merlion,
    shutdown_jvm,
)
from backend.analytics.types import MetricSeries
from backend.errors import ConfigError, EngineUnavailableError, ValidationError

pytestmark = pytest.mark.merlion

T0 = datetime(2024, 1, 1)


def _series(n: int = 600, seed: int = 0, aware: bool = False) -> MetricSeries:
    rng = np.random.default_rng(seed)
    start = T0.replace(tzinfo=UTC) if aware else T0
    stamps = [start + timedelta(minutes=i) for i in range(n)]
    values = 50 + 5 * np.sin(np.arange(n) * 2 * np.pi / 240) + rng.normal(0, 1, n)
    return MetricSeries("acme", "prod", "node-1", "cpu_usage", stamps, values, {"unit": "percent"})


def _with(series: MetricSeries, start: int, stop: int, delta: float) -> MetricSeries:
    """``series`` with ``delta`` added to points ``start`` to ``stop - 1``."""
    values = series.values_array.copy()
    values[start:stop] += delta
    return series.with_arrays(series.timestamps_ns, values)


def test_detect_flags_the_window_with_an_injected_spike() -> None:
    series = _with(_series(), 450, 453, 25.0)
    results = MerlionAnomalyEngine().detect(series)
    flagged = [r for r in results if r.is_anomaly]
    assert [(r.window_start, r.anomaly_kind) for r in flagged] == [(T0 + timedelta(minutes=400),
                                                                    "spike")]  # fmt: skip
    assert flagged[0].anomaly_score >= 0.8
    assert "rose to" in (flagged[0].explanation or "")
    assert flagged[0].engine_metadata["model"] == "ZMS"


def test_detect_leaves_out_merlions_granularity_notice_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="merlion"):
        MerlionAnomalyEngine().detect(_series(400))
        logging.getLogger("merlion.transform.resample").warning("another warning")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("merlion")]
    assert not any(m.startswith("Inferred granularity") for m in messages)
    assert "another warning" in messages


def test_detect_names_a_level_shift() -> None:
    series = _with(_series(), 420, 600, 15.0)
    flagged = [r for r in MerlionAnomalyEngine().detect(series) if r.is_anomaly]
    assert flagged[0].window_start == T0 + timedelta(minutes=400)
    assert (flagged[0].anomaly_label, flagged[0].anomaly_kind) == ("trend", "level_shift")


def test_detect_returns_one_result_per_window_in_order_with_identity() -> None:
    series = _series(n=650)
    results = MerlionAnomalyEngine({"window_size": 100}).detect(series)
    assert len(results) == 7  # six full windows and the 50-point tail
    assert [r.window_start for r in results] == [T0 + timedelta(minutes=100 * i) for i in range(7)]
    assert results[-1].window_end == T0 + timedelta(minutes=649)
    assert {r.key for r in results} == {series.key}
    assert all(0.0 <= r.anomaly_score <= 1.0 for r in results)


def test_detect_echoes_aware_timestamps_for_aware_series() -> None:
    results = MerlionAnomalyEngine().detect(_series(aware=True))
    assert results[0].window_start == datetime(2024, 1, 1, tzinfo=UTC)


def test_detect_without_emit_normal_returns_only_anomalies() -> None:
    series = _with(_series(), 450, 453, 25.0)
    results = MerlionAnomalyEngine({"emit_normal": False}).detect(series)
    assert [r.is_anomaly for r in results] == [True]


def test_score_series_covers_every_point_despite_shorter_merlion_output() -> None:
    series = _with(_series(), 450, 451, 25.0)
    scored = MerlionAnomalyEngine({"model": "IsolationForest"}).score_series(series)
    assert scored.z.shape == scored.scores.shape == (600,)
    assert scored.train_points == 300
    assert np.all((scored.scores >= 0.0) & (scored.scores < 1.0))
    assert scored.z[0] == 0.0  # differencing gives the first point no score


def test_score_series_with_train_points_has_no_look_ahead() -> None:
    engine = MerlionAnomalyEngine({"train_points": 200, "chunk_size": 50})
    series = _with(_series(), 450, 453, 25.0)
    full = engine.score_series(series).scores
    head = engine.score_series(series.slice(0, 400)).scores
    np.testing.assert_allclose(head, full[:400])


def test_detect_is_deterministic_and_engine_pickles() -> None:
    series = _with(_series(), 450, 453, 25.0)
    engine = MerlionAnomalyEngine({"model": "ZMS"})
    clone = pickle.loads(pickle.dumps(engine))
    first = [(r.anomaly_score, r.anomaly_kind) for r in engine.detect(series)]
    assert first == [(r.anomaly_score, r.anomaly_kind) for r in clone.detect(series)]


def test_detect_rejects_series_too_short_to_train() -> None:
    with pytest.raises(ValidationError, match="training points"):
        MerlionAnomalyEngine().detect(_series(n=40))


def test_unknown_model_is_config_error() -> None:
    with pytest.raises(ConfigError, match="model"):
        MerlionAnomalyEngine({"model": "NoSuchDetector"}).detect(_series())


@pytest.mark.parametrize(
    ("config", "field"),
    [({"window_size": 0}, "window_size"), ({"contamination": 0.8}, "contamination"),
     ({"train_points": 10}, "train_points"), ({"chunk_size": "60"}, "chunk_size")],
)  # fmt: skip
def test_engine_rejects_bad_config(config: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MerlionAnomalyEngine(config)
    assert caught.value.field == field


def test_require_merlion_names_the_extra_when_missing() -> None:
    with pytest.raises(EngineUnavailableError, match=r"aboutcloud\[merlion\]"):
        require_merlion("merlion_package_that_is_not_installed")
    assert MERLION_EXTRA == "aboutcloud[merlion]"


def test_registry_builds_merlion_engine() -> None:
    engine = EngineRegistry.get("merlion", {"model": "WindStats"})
    assert isinstance(engine, MerlionAnomalyEngine)
    assert (engine.engine_name(), engine.model) == ("merlion", "WindStats")


@pytest.mark.slow
def test_default_detector_runs_with_capped_jvm_and_stops_it() -> None:
    series = _with(_series(n=400), 330, 333, 25.0)
    results = MerlionAnomalyEngine({"model": "DefaultDetector"}).detect(series)
    # Windows in the training prefix are scored in sample, where the ensemble warms up.
    scored = [r for r in results if not r.engine_metadata["in_training"]]
    assert [r.window_start for r in scored if r.is_anomaly] == [T0 + timedelta(minutes=300)]
    assert "-Xmx" in os.environ["JAVA_TOOL_OPTIONS"]
    rcf = sys.modules["merlion.models.anomaly.random_cut_forest"]
    assert rcf.JVMSingleton._gateway is None
    shutdown_jvm()  # idempotent


def test_a_misspelt_setting_is_refused_before_merlion_is_loaded() -> None:
    with pytest.raises(ConfigError, match=r"modle.*did you mean 'model'"):
        EngineRegistry.get("merlion", {"modle": "ZMS"})
