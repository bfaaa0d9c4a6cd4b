"""Detection pipeline: engine → explanation → thresholds → (optional) storage and roll-ups.

The storage backend is passed in (anything with the ``StorageBackend`` methods used here), so
analytics never imports the storage package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.analytics.aggregation import AggregationPipeline
from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.engine_support import is_counter, rate_series
from backend.analytics.explain import AnomalyExplanation, ExplanationClassifier
from backend.analytics.limits import apply_limit
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult, MetricSeries
from backend.errors import AboutCloudError

__all__ = ["AnomalyDetectionPipeline", "DetectionPipelineStats", "ResultStore"]


class ResultStore(Protocol):
    """The slice of ``StorageBackend`` the pipeline needs."""

    def get_metric_series(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any = None,
        end_time: Any = None,
    ) -> MetricSeries: ...

    def store_anomaly_results(self, tenant_id: str, results: Sequence[AnomalyResult]) -> int: ...

    def store_aggregated_scores(self, scores: Sequence[AggregatedAnomalyScore]) -> int: ...


@dataclass
class DetectionPipelineStats:
    """Counters of one detection run; ``errors`` holds human-readable messages."""

    metrics_processed: int = 0
    anomalies_detected: int = 0
    critical_anomalies: int = 0
    storage_errors: int = 0
    errors: list[str] = field(default_factory=list)
    points_scored: int = 0

    def has_critical_errors(self) -> bool:
        """True when results could not be stored or any series failed outright."""
        return self.storage_errors > 0 or bool(self.errors)

    def merge(self, other: DetectionPipelineStats) -> None:
        """Add another run's counters to these."""
        self.metrics_processed += other.metrics_processed
        self.anomalies_detected += other.anomalies_detected
        self.critical_anomalies += other.critical_anomalies
        self.storage_errors += other.storage_errors
        self.points_scored += other.points_scored
        self.errors.extend(other.errors)


class AnomalyDetectionPipeline:
    """Runs an engine over series, explains what it finds and applies per-metric thresholds.

    Breaches of the metric's static limit (``DetectionConfig.metric_limits``) are added to
    the engine's results; results below the metric's threshold are reported as normal;
    anomalous ones get an explanation from ``classifier``. With a storage backend, results
    are stored and :meth:`detect_cluster` also stores node/cluster scores.
    """

    def __init__(
        self,
        engine: AnomalyDetectionEngine,
        classifier: ExplanationClassifier | None = None,
        storage_backend: ResultStore | None = None,
        config: DetectionConfig | None = None,
        aggregation: AggregationPipeline | None = None,
    ) -> None:
        self.engine = engine
        self.classifier = classifier if classifier is not None else ExplanationClassifier()
        self.storage_backend = storage_backend
        self.config = config
        self.aggregation = aggregation if aggregation is not None else AggregationPipeline()

    def detect_metric(
        self, metric_series: MetricSeries
    ) -> tuple[list[AnomalyResult], list[AnomalyExplanation], DetectionPipelineStats]:
        """Detect, threshold, explain and (if a backend is set) store one series' results."""
        stats = DetectionPipelineStats(metrics_processed=1, points_scored=metric_series.length)
        config = (self.config or get_config()).for_tenant(metric_series.tenant_id)
        threshold = config.get_threshold_for_metric(
            metric_series.metric_name, calibrated=self.engine.calibrated_per_series
        )
        results: list[AnomalyResult] = []
        explanations: list[AnomalyExplanation] = []
        found = self.engine.detect_at(metric_series, threshold)
        rule = config.breach_rule(
            metric_series.metric_name, calibrated=self.engine.calibrated_per_series
        )
        if rule is not None:
            found = apply_limit(metric_series, found, *rule)
        told = rate_series(metric_series) if is_counter(metric_series) else metric_series
        for result in found:
            if result.is_anomaly and result.anomaly_score < threshold:
                result = dataclasses.replace(result, anomaly_label="normal", anomaly_kind=None)
            if result.is_anomaly:
                explanation = self.classifier.classify(told, result)  # a counter by its rate
                explanations.append(explanation)
                if not result.explanation:
                    result = dataclasses.replace(result, explanation=explanation.description)
                stats.anomalies_detected += 1
                stats.critical_anomalies += int(config.is_critical(result.anomaly_score))
            results.append(result)
        self._store_results(metric_series.tenant_id, results, stats)
        return results, explanations, stats

    def detect_cluster(
        self,
        tenant_id: str,
        cluster_id: str,
        node_ids: Sequence[str],
        metric_names: Sequence[str],
        start_time: Any = None,
        end_time: Any = None,
    ) -> tuple[list[AnomalyResult], list[AnomalyExplanation], DetectionPipelineStats]:
        """Detect every (node, metric) of a cluster from storage, then store the roll-ups."""
        if self.storage_backend is None:
            raise AboutCloudError("detect_cluster needs a storage_backend to read series from")
        stats = DetectionPipelineStats()
        results: list[AnomalyResult] = []
        explanations: list[AnomalyExplanation] = []
        for node_id in node_ids:
            for metric_name in metric_names:
                try:
                    series = self.storage_backend.get_metric_series(
                        tenant_id, cluster_id, node_id, metric_name, start_time, end_time
                    )
                    found, explained, one = self.detect_metric(series)
                except AboutCloudError as exc:
                    stats.errors.append(f"{node_id}/{metric_name}: {type(exc).__name__}: {exc}")
                    continue
                results.extend(found)
                explanations.extend(explained)
                stats.merge(one)
        self._store_rollups(results, stats)
        return results, explanations, stats

    def _store_results(
        self, tenant_id: str, results: list[AnomalyResult], stats: DetectionPipelineStats
    ) -> None:
        if self.storage_backend is None or not results:
            return
        try:
            self.storage_backend.store_anomaly_results(tenant_id, results)
        except AboutCloudError as exc:
            stats.storage_errors += 1
            stats.errors.append(f"storing results failed: {type(exc).__name__}: {exc}")

    def _store_rollups(self, results: list[AnomalyResult], stats: DetectionPipelineStats) -> None:
        if self.storage_backend is None or not results:
            return
        outcome = self.aggregation.run(results)
        scores = outcome.all_scores()
        try:
            self.storage_backend.store_aggregated_scores(scores)
        except AboutCloudError as exc:
            stats.storage_errors += 1
            stats.errors.append(f"storing scores failed: {type(exc).__name__}: {exc}")
