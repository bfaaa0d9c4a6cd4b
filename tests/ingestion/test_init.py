"""The public surface of backend.ingestion is pinned."""

from __future__ import annotations

import backend.ingestion as ingestion
from backend.ingestion.collector import MetricCollector
from backend.ingestion.pipeline import IngestionPipeline, IngestionStats
from backend.ingestion.sources import SimulatorSource
from backend.ingestion.validator import MetricValidator


def test_ingestion_exports_documented_names() -> None:
    documented = {
        "MetricSource", "SimulatorSource", "MetricCollector", "ValidationResult",
        "MetricValidator", "TenantIsolationValidator", "IngestionStats", "IngestionPipeline",
    }  # fmt: skip

    assert documented <= set(ingestion.__all__)
    assert all(hasattr(ingestion, name) for name in ingestion.__all__)
    assert sorted(ingestion.__all__) == ingestion.__all__


def test_ingestion_documented_module_paths() -> None:
    assert ingestion.MetricCollector is MetricCollector
    assert ingestion.MetricValidator is MetricValidator
    assert ingestion.IngestionPipeline is IngestionPipeline
    assert ingestion.IngestionStats is IngestionStats
    assert ingestion.SimulatorSource is SimulatorSource
