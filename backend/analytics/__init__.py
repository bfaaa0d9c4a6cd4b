"""Analytics: data contracts, windows, engines, explanation and aggregation (pure, no I/O)."""

from backend.analytics.aggregation import (
    DEFAULT_METRIC_WEIGHTS,
    AggregationConfig,
    AggregationOutcome,
    AggregationPipeline,
    AggregationStrategy,
    ClusterAnomalyAggregator,
    NodeAnomalyAggregator,
    TenantAnomalyAggregator,
)
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.ranking import describe_contributors, explain_rank, rank_scores
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
from backend.analytics.windows import SlidingWindowExtractor, TimeBasedWindowExtractor, TimeWindow

__all__ = [
    "DEFAULT_METRIC_WEIGHTS",
    "AggregatedAnomalyScore",
    "AggregationConfig",
    "AggregationOutcome",
    "AggregationPipeline",
    "AggregationStrategy",
    "AnomalyDetectionEngine",
    "AnomalyKind",
    "AnomalyResult",
    "AnomalyType",
    "ClusterAnomalyAggregator",
    "EngineRegistry",
    "MetricPoint",
    "MetricSeries",
    "NodeAnomalyAggregator",
    "ScoreContribution",
    "SeriesKey",
    "SlidingWindowExtractor",
    "TenantAnomalyAggregator",
    "TimeBasedWindowExtractor",
    "TimeWindow",
    "describe_contributors",
    "explain_rank",
    "rank_scores",
]
