"""configured_engine: the detection configuration's engine, with its engine_config."""

from __future__ import annotations

import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.configured_engine import configured_engine, engine_settings
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.errors import ConfigError, EngineNotFoundError


def test_the_configured_engine_gets_its_engine_config() -> None:
    config = DetectionConfig(engine_config={"warmup_points": 300, "anomaly_record_points": 1})
    engine = configured_engine(config=config)
    assert isinstance(engine, DefaultAnomalyEngine)
    assert (engine.params.warmup_points, engine.params.anomaly_record_points) == (300, 1)


def test_overrides_beat_the_engine_config() -> None:
    config = DetectionConfig(engine_config={"threshold": 0.6, "warmup_points": 300})
    name, settings = engine_settings(None, {"threshold": 0.7}, config)
    assert (name, settings) == ("default", {"threshold": 0.7, "warmup_points": 300})


def test_another_engine_does_not_get_the_configured_engines_settings() -> None:
    config = DetectionConfig(engine="merlion", engine_config={"model": "ZMS"})
    assert engine_settings("default", None, config) == ("default", {})
    assert engine_settings(None, None, config) == ("merlion", {"model": "ZMS"})


def test_the_environment_configures_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ENGINE_CONFIG", '{"warmup_points": 250}')
    engine = configured_engine()
    assert isinstance(engine, DefaultAnomalyEngine) and engine.params.warmup_points == 250


def test_an_unknown_engine_name_is_refused() -> None:
    with pytest.raises(EngineNotFoundError):
        configured_engine(config=DetectionConfig(engine="nope"))


def test_a_misspelt_setting_is_refused_with_a_suggestion() -> None:
    config = DetectionConfig(engine_config={"anomaly_weigth": 1.0})
    with pytest.raises(ConfigError, match=r"anomaly_weigth.*did you mean 'anomaly_weight'"):
        configured_engine(config=config)
