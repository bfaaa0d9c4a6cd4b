"""The engine seam: base class helpers and the registry."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.errors import EngineNotFoundError, ValidationError


class _AlwaysNormal(AnomalyDetectionEngine):
    name = "always-normal"

    def detect(
        self, time_series: MetricSeries, window_size: int | None = None
    ) -> list[AnomalyResult]:
        self.validate_input(time_series)
        first, last = time_series.time_range
        return [AnomalyResult(*time_series.key, first, last, 0.0, "normal")]


def _series() -> MetricSeries:
    return MetricSeries("t", "c", "n", "m", [datetime(2024, 1, 1)], [1.0])


def test_registry_register_and_get_creates_new_instances() -> None:
    EngineRegistry.register("always-normal", _AlwaysNormal)
    first = EngineRegistry.get("always-normal", {"k": 1})
    assert isinstance(first, _AlwaysNormal)
    assert first.config == {"k": 1}
    assert EngineRegistry.get("always-normal") is not first
    assert "always-normal" in EngineRegistry.list_available()


def test_registry_unknown_name_lists_available() -> None:
    with pytest.raises(EngineNotFoundError, match="available") as info:
        EngineRegistry.get("no-such-engine")
    assert isinstance(info.value, KeyError)


def test_registry_rejects_non_engine_class() -> None:
    with pytest.raises(ValidationError, match="engine_class"):
        EngineRegistry.register("bad", dict)  # type: ignore[arg-type]


def test_engine_validate_input_rejects_empty_series() -> None:
    engine = _AlwaysNormal()
    with pytest.raises(ValidationError, match="empty"):
        engine.validate_input(MetricSeries("t", "c", "n", "m", [], []))


def test_engine_explain_default_text_names_metric_and_node() -> None:
    engine = _AlwaysNormal()
    series = _series()
    result = AnomalyResult(*series.key, datetime(2024, 1, 1), datetime(2024, 1, 1), 0.9, "spike")
    text = engine.explain(series, result)
    assert "m" in text and "n" in text and "0.90" in text
    assert engine.engine_name() == "always-normal"
