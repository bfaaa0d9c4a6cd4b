"""The engine seam: every detector is an :class:`AnomalyDetectionEngine`, found by name in
:class:`EngineRegistry`.

Built-in engines live in other packages (``backend.detection``) or need optional extras
(Merlion), so the registry knows them by dotted path and imports them only when asked for.
"""

from __future__ import annotations

import abc
import importlib
from typing import Any, ClassVar

from backend.analytics.types import AnomalyResult, MetricSeries
from backend.errors import EngineNotFoundError, ValidationError

__all__ = ["AnomalyDetectionEngine", "EngineRegistry"]


class AnomalyDetectionEngine(abc.ABC):
    """Scores a series and says which windows are anomalous.

    Hyperparameters come in through ``config`` (kept as ``self.config``); per-series state
    lives elsewhere, so an engine is cheap to clone and describe from configuration.
    """

    name: ClassVar[str] = "abstract"
    version: ClassVar[str] = "0"
    #: Whether scores are calibrated against each series' own history, so one threshold
    #: already means the same on every metric. The built-in per-family threshold margins of
    #: :class:`~backend.analytics.config.DetectionConfig` are then not added (they would
    #: count a metric's routine burstiness twice).
    calibrated_per_series: ClassVar[bool] = False

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})

    @abc.abstractmethod
    def detect(
        self, time_series: MetricSeries, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """Results for ``time_series`` in time order."""

    def detect_at(self, time_series: MetricSeries, threshold: float) -> list[AnomalyResult]:
        """Results when ``threshold`` is the alarm threshold (e.g. a metric's own).

        Engines whose threshold only cuts their results afterwards detect as usual, and the
        caller applies the threshold; an engine whose scoring itself depends on its alarm
        level (the default engine's slow statistics) overrides this.
        """
        return self.detect(time_series)

    def explain(self, time_series: MetricSeries, anomaly_result: AnomalyResult) -> str:
        """A sentence a person can act on; engines with richer knowledge override this."""
        if anomaly_result.explanation:
            return anomaly_result.explanation
        if not anomaly_result.is_anomaly:
            return f"{time_series.metric_name} on {time_series.node_id} looks normal"
        return (
            f"{anomaly_result.anomaly_kind or anomaly_result.anomaly_label} in "
            f"{time_series.metric_name} on {time_series.node_id} between "
            f"{anomaly_result.window_start:%Y-%m-%d %H:%M} and "
            f"{anomaly_result.window_end:%Y-%m-%d %H:%M} "
            f"(score {anomaly_result.anomaly_score:.2f})"
        )

    def validate_input(self, series: MetricSeries) -> bool:
        """True when the engine can score ``series``; raises ValidationError otherwise."""
        if not isinstance(series, MetricSeries):
            raise ValidationError("time_series", type(series).__name__, "must be a MetricSeries")
        if series.length == 0:
            raise ValidationError("time_series", str(series.key), "is empty")
        return True

    def engine_name(self) -> str:
        """Registry name of this engine."""
        return self.name

    def engine_version(self) -> str:
        """Version of the engine's algorithm (changes when scores would change)."""
        return self.version


class EngineRegistry:
    """Engines by name. Built-ins are imported lazily from their dotted paths."""

    _engines: ClassVar[dict[str, type[AnomalyDetectionEngine]]] = {}
    _builtin_paths: ClassVar[dict[str, str]] = {
        "default": "backend.detection.default_engine:DefaultAnomalyEngine",
        "multivariate": "backend.detection.multivariate_engine:MultivariateNodeEngine",
        "merlion": "backend.analytics.merlion_engine:MerlionAnomalyEngine",
    }

    @classmethod
    def register(cls, name: str, engine_class: type[AnomalyDetectionEngine]) -> None:
        """Make ``engine_class`` available as ``name`` (replaces an earlier registration)."""
        if not (
            isinstance(engine_class, type) and issubclass(engine_class, AnomalyDetectionEngine)
        ):
            raise ValidationError(
                "engine_class", engine_class, "must subclass AnomalyDetectionEngine"
            )
        cls._engines[name] = engine_class

    @classmethod
    def get(cls, name: str, config: dict[str, Any] | None = None) -> AnomalyDetectionEngine:
        """A new engine instance of the named kind."""
        if name not in cls._engines and name in cls._builtin_paths:
            module_name, _, attr = cls._builtin_paths[name].partition(":")
            engine_class = getattr(importlib.import_module(module_name), attr)
            cls._engines.setdefault(name, engine_class)
        if name not in cls._engines:
            raise EngineNotFoundError(name, cls.list_available())
        return cls._engines[name](config)

    @classmethod
    def list_available(cls) -> list[str]:
        """Names that :meth:`get` accepts."""
        return sorted(set(cls._engines) | set(cls._builtin_paths))
