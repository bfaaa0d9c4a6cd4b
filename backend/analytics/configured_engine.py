"""The engine the detection configuration asks for, built with its hyperparameters.

``DetectionConfig.engine`` names the engine and ``DetectionConfig.engine_config`` holds its
hyperparameters (from a config file or ``ABOUTCLOUD_DETECTION__ENGINE_CONFIG``). Every
entry point that scores (``aboutcloud detect``, ``detect-file``, ``evaluate``, ``serve``,
the demo) builds its engine here, so a setting means the same wherever the engine runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry

__all__ = ["configured_engine", "engine_settings"]


def engine_settings(
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    config: DetectionConfig | None = None,
) -> tuple[str, dict[str, Any]]:
    """(engine name, hyperparameters): ``name`` or the configured engine, with
    ``engine_config`` when the engine is the configured one (another engine's
    hyperparameters would not fit it), then ``overrides`` (e.g. a command's ``--threshold``)."""
    config = config or get_config()
    chosen = name or config.engine
    settings = dict(config.engine_config) if chosen == config.engine else {}
    settings.update(overrides or {})
    return chosen, settings


def configured_engine(
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    config: DetectionConfig | None = None,
) -> AnomalyDetectionEngine:
    """A new engine as :func:`engine_settings` describes it."""
    chosen, settings = engine_settings(name, overrides, config)
    return EngineRegistry.get(chosen, settings)
