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
from backend.analytics.config import DetectionConfig, get_config, load_config, set_config
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.explain import (
    AnomalyExplanation,
    ExplanationClassifier,
    ExplanationTemplate,
    ExplanationTemplateRegistry,
)
from backend.analytics.limits import MetricLimit
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
    "AnomalyExplanation",
    "AnomalyKind",
    "AnomalyResult",
    "AnomalyType",
    "ClusterAnomalyAggregator",
    "DetectionConfig",
    "EngineRegistry",
    "ExplanationClassifier",
    "ExplanationTemplate",
    "ExplanationTemplateRegistry",
    "MetricLimit",
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
    "get_config",
    "load_config",
    "rank_scores",
    "set_config",
]
