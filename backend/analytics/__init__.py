"""Analytics: data contracts, windows, engines, explanation and aggregation (pure, no I/O)."""

from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyKind,
    AnomalyResult,
    AnomalyType,
    MetricPoint,
    MetricSeries,
    ScoreContribution,
    SeriesKey,
)

__all__ = [
    "AggregatedAnomalyScore",
    "AnomalyDetectionEngine",
    "AnomalyKind",
    "AnomalyResult",
    "AnomalyType",
    "EngineRegistry",
    "MetricPoint",
    "MetricSeries",
    "ScoreContribution",
    "SeriesKey",
]
