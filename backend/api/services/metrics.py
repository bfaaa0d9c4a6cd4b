"""Reading stored series for the API: keys, points, and per-point scores for charts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.limits import MetricLimit, limit_point_scores
from backend.analytics.types import MetricSeries, SeriesKey
from backend.analytics.usual_range import scored_usual_range
from backend.api.params import SeriesFilter
from backend.api.services.scope import require_known
from backend.api.settings import ApiSettings
from backend.detection.fleet_calibration import FleetCalibration, fleet_group
from backend.detection.runner import load_fleet_calibration
from backend.detection.streaming.detector import ScoredSeries
from backend.errors import PayloadTooLargeError, ValidationError
from backend.storage.interface import StorageBackend

__all__ = ["MetricQueryService", "SeriesScores"]


@dataclass(frozen=True)
class SeriesScores:
    """A series with the engine's per-point scores and expected band (None when the engine
    cannot score per point). ``modelled`` is the series in the band's units (a counter's
    rate; otherwise the values themselves). ``limit`` is the metric's static limit, whose
    breaches the scores already include. ``usual_lower``/``usual_upper`` is the usual range
    around the forecast (:func:`~backend.analytics.usual_range.usual_range`), for charts.
    ``learning_until_ns`` is when the engine first hears the series, while that is after
    the first point (it is still learning the series' normal behaviour before then)."""

    series: MetricSeries
    scores: np.ndarray | None
    expected: np.ndarray | None
    lower: np.ndarray | None
    upper: np.ndarray | None
    modelled: np.ndarray | None
    engine: str
    limit: MetricLimit | None = None
    usual_lower: np.ndarray | None = None
    usual_upper: np.ndarray | None = None
    learning_until_ns: int | None = None

    def tail(self, n: int) -> SeriesScores:
        """The last ``n`` points (the history before them only warmed the engine up); a
        learning period that ended before them is no longer mentioned."""
        start = self.series.length - n

        def cut(column: np.ndarray | None) -> np.ndarray | None:
            return None if column is None else column[start:]

        shown = self.series.slice(start, self.series.length)
        learning = self.learning_until_ns
        if learning is not None and (shown.length == 0 or learning <= shown.timestamps_ns[0]):
            learning = None
        return SeriesScores(
            shown, cut(self.scores), cut(self.expected),
            cut(self.lower), cut(self.upper), cut(self.modelled), self.engine, self.limit,
            cut(self.usual_lower), cut(self.usual_upper), learning,
        )  # fmt: skip


class MetricQueryService:
    """Reads series of one tenant through the storage interface.

    ``detection`` holds the metrics' static limits; None reads the process-wide
    configuration (:func:`~backend.analytics.config.get_config`) on each request.
    """

    def __init__(
        self,
        storage: StorageBackend,
        engine: AnomalyDetectionEngine,
        settings: ApiSettings,
        detection: DetectionConfig | None = None,
    ) -> None:
        self.storage = storage
        self.engine = engine
        self.settings = settings
        self.detection = detection

    def list_keys(self, tenant_id: str, query: SeriesFilter) -> list[SeriesKey]:
        """The tenant's series keys matching the filters, sorted; 404 when a filter matches
        nothing (another tenant's ids look exactly like unknown ones)."""
        keys = self.storage.list_series(
            tenant_id, query.cluster_id, query.node_id, query.metric_name
        )
        if not keys and not query.is_empty:
            require_known(self.storage, tenant_id, query)
        return keys

    def series(
        self, tenant_id: str, query: SeriesFilter, start: datetime | None, end: datetime | None
    ) -> list[MetricSeries]:
        """Points of every matching series in ``[start, end]``; 404 when a filter matches
        nothing, 413 when the answer would be too large (narrow the query)."""
        keys = self.list_keys(tenant_id, query)
        if len(keys) > self.settings.max_series_per_response:
            raise PayloadTooLargeError(
                "series in the response", self.settings.max_series_per_response, len(keys)
            )
        found = [self.storage.get_metric_series(*key, start, end) for key in keys]
        points = sum(series.length for series in found)
        if points > self.settings.max_points_per_response:
            raise PayloadTooLargeError(
                "points in the response", self.settings.max_points_per_response, points
            )
        return found

    def scores(
        self, tenant_id: str, key: SeriesKey, start: datetime | None, end: datetime | None
    ) -> SeriesScores:
        """One series with per-point scores, by default its last ``scores_window_hours``.

        The engine also sees the same span of history before the shown range, so the first
        shown points are scored with a warmed-up baseline rather than neutrally.
        """
        if key.tenant_id != tenant_id:
            raise ValidationError("tenant_id", key.tenant_id, "must be the caller's tenant")
        window = timedelta(hours=self.settings.scores_window_hours)
        fetch_from = None if start is None else start - window
        series = self.storage.get_metric_series(*key, fetch_from, end)
        shown_from = _shown_from(series, start, window)
        if series.length - shown_from > self.settings.max_points_per_response:
            raise PayloadTooLargeError(
                "points in the response", self.settings.max_points_per_response,
                series.length - shown_from,
            )  # fmt: skip
        warm_from = _index_at(series, _first_shown_ns(series, shown_from) - _ns(window))
        history = series.slice(warm_from, series.length)
        calibration = load_fleet_calibration(self.storage, self.engine, tenant_id)
        config = (self.detection or get_config()).for_tenant(tenant_id)
        scored = self._with_limit(_scored(self.engine, history, calibration), config)
        return self._with_usual_range(scored, config).tail(series.length - shown_from)

    def _with_limit(self, scored: SeriesScores, config: DetectionConfig) -> SeriesScores:
        """``scored`` with the metric's static limit, its breaches raised in the scores (as
        detection runs report them), so the chart's score line agrees with the alarms."""
        rule = config.breach_rule(
            scored.series.metric_name, calibrated=self.engine.calibrated_per_series
        )
        if rule is None:
            return scored
        limit, breach = rule
        scores = scored.scores
        if scores is not None:
            scores = limit_point_scores(scored.series, scores, limit, breach)
        return dataclasses.replace(scored, scores=scores, limit=limit)

    def _with_usual_range(self, scored: SeriesScores, config: DetectionConfig) -> SeriesScores:
        """``scored`` with the usual range around its forecast. Left out of it: the points that
        alarm (at the metric's threshold), and those the engine did not model (its first
        points: a band of no width, the forecast being the value itself)."""
        if scored.expected is None:
            return scored
        observed = scored.modelled if scored.modelled is not None else scored.series.values_array
        threshold = config.get_threshold_for_metric(
            scored.series.metric_name, calibrated=self.engine.calibrated_per_series
        )
        lower, upper = scored_usual_range(
            scored.series.timestamps_ns, observed, scored.expected, scored.scores, threshold,
            scored.lower, scored.upper,
        )  # fmt: skip
        return dataclasses.replace(scored, usual_lower=lower, usual_upper=upper)


def _shown_from(series: MetricSeries, start: datetime | None, window: timedelta) -> int:
    """Index of the first point to show: ``start``, or ``window`` before the last point."""
    if series.length == 0:
        return 0
    last = int(series.timestamps_ns[-1])
    return _index_at(series, to_epoch_ns(start) if start is not None else last - _ns(window))


def _first_shown_ns(series: MetricSeries, index: int) -> int:
    if index < series.length:
        return int(series.timestamps_ns[index])
    return int(series.timestamps_ns[-1]) if series.length else 0


def _index_at(series: MetricSeries, ns: int) -> int:
    return int(np.searchsorted(series.timestamps_ns, ns, side="left"))


def _ns(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1e9)


def _scored(
    engine: AnomalyDetectionEngine,
    series: MetricSeries,
    calibration: FleetCalibration | None = None,
) -> SeriesScores:
    name = engine.engine_name()
    score_series = getattr(engine, "score_series", None)
    if score_series is None or series.length == 0:
        return SeriesScores(series, None, None, None, None, None, name)
    scored = score_series(series)
    if calibration is not None and isinstance(scored, ScoredSeries):
        scored = calibration.calibrate(fleet_group(series), scored)
    scores = _column(scored, "scores")
    learning_ends = getattr(engine, "learning_ends_ns", None)
    learning = (
        learning_ends(series, scored)
        if learning_ends is not None and isinstance(scored, ScoredSeries)
        else None
    )
    return SeriesScores(
        series,
        scores,
        _column(scored, "expected"),
        _column(scored, "lower"),
        _column(scored, "upper"),
        _column(scored, "modelled"),
        name,
        learning_until_ns=learning,
    )


def _column(scored: Any, name: str) -> np.ndarray | None:
    value = scored.get(name) if isinstance(scored, dict) else getattr(scored, name, None)
    return None if value is None else np.asarray(value, dtype=np.float64)
