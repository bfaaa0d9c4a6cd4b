"""AboutCloud's own engine: the streaming detector behind the :class:`AnomalyDetectionEngine`
seam.

``score_series`` gives per-point scores with the expected value and band (what detect-file,
evaluation and the dashboard plot); ``detect`` turns contiguous runs of points scoring at or
above the threshold into one :class:`AnomalyResult` per incident, in time order. By default
only anomalous windows are returned; ``emit_normal=True`` also returns the quiet stretches
between them (cut into ``window_size``-point windows) as ``normal`` results.

Config keys: ``threshold`` (default 0.5; ``anomaly_score_threshold`` is accepted too),
``emit_normal`` (False), ``window_size`` (100: the normal windows' length),
``merge_gap_points`` (3: runs this close are one incident), ``use_classifier`` (True: name
kinds with the platform's explanation classifier), any
:class:`~backend.detection.streaming.params.DetectorParams` field, and ``per_metric``:
``DetectorParams`` fields for some metrics only, by metric name or glob pattern (an exact
name beats a pattern, a longer pattern a shorter one, as ``metric_thresholds`` match), e.g.
``{"error_rate": {"anomaly_record_points": 1}}``. Any other key is refused.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from backend.analytics._timeconv import NS_PER_DAY, from_epoch_ns
from backend.analytics.config import match_metric
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.engine_support import (
    as_rates,
    is_counter,
    rate_series,
    reject_unknown_settings,
)
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries
from backend.detection.describe import (
    EARLIER_DAYS,
    daily_means,
    describe_alarm,
    describe_day_level,
    describe_excursion,
    describe_swing,
    describe_variation,
    distance_from_day_mean,
    recent_variation,
)
from backend.detection.jump_back import absorb_jumps_back
from backend.detection.streaming.detector import (
    STATISTIC_NAMES,
    ScoredSeries,
    StreamingDetector,
)
from backend.detection.streaming.kinds import SLOW_KINDS, guess_kind, returning_excursion
from backend.detection.streaming.params import DetectorParams
from backend.detection.streaming.runs import anomalous_runs, normal_runs
from backend.detection.stuck import describe_stuck, stuck_start
from backend.detection.told import (
    BACK_AT,
    KIND_FROM,
    KIND_FROM_WINDOW,
    LEVEL_HELD,
    ONSET,
    change_onset,
    excursion_end,
    level_held,
)
from backend.errors import ConfigError, ValidationError

__all__ = ["DEFAULT_THRESHOLD", "DefaultAnomalyEngine", "is_counter_hint"]

DEFAULT_THRESHOLD = 0.5
#: Config keys of the engine itself; every other key must be a :class:`DetectorParams` field.
ENGINE_KEYS = frozenset(
    {
        "threshold",
        "anomaly_score_threshold",
        "emit_normal",
        "window_size",
        "merge_gap_points",
        "use_classifier",
        "per_metric",
    }
)
#: The detector's knobs (:class:`DetectorParams` fields), and those the fleet calibration
#: shares across a tenant's metrics, so one value for all (not settable per metric).
_KNOBS = frozenset(f.name for f in dataclasses.fields(DetectorParams))
_FLEET_WIDE = frozenset({"log_scale"})
_DAY_LEVEL = STATISTIC_NAMES.index("slow_shift")  # the drift statistic (the day-level range)
_STUCK = STATISTIC_NAMES.index("flat")  # one exact value repeated for longer than ever
_SLOW_VOLATILITY = STATISTIC_NAMES.index("slow_volatility")
_SLOW_SWING = STATISTIC_NAMES.index("slow_swing")  # a new cycle of hours


def is_counter_hint(series: MetricSeries) -> bool:
    """Whether the series says it is a cumulative counter (metadata or Prometheus naming)."""
    return is_counter(series)


def _per_metric_params(base: DetectorParams, table: Any) -> dict[str, DetectorParams]:
    """``base`` with each metric pattern's overrides, checked now (not at the first series)."""
    if not isinstance(table, Mapping):
        raise ConfigError("per_metric", table, "must map metric names or patterns to settings")
    knobs = _KNOBS - _FLEET_WIDE
    built = {}
    for pattern, overrides in table.items():
        field = f"per_metric.{pattern}"
        if not isinstance(overrides, Mapping):
            raise ConfigError(field, overrides, "must be a mapping of detector settings")
        owner = "per_metric (a detector setting; log_scale is fleet-wide)"
        reject_unknown_settings(overrides, knobs, owner, prefix=f"{field}.")
        _check_numbers(overrides, knobs, prefix=f"{field}.")
        try:
            built[str(pattern)] = dataclasses.replace(base, **overrides)
        except ConfigError as exc:
            raise ConfigError(f"{field}.{exc.field}", exc.value, exc.reason) from None
    return built


def _check_numbers(cfg: Mapping[str, Any], knobs: frozenset[str], prefix: str = "") -> None:
    """Every detector knob is a number (or a bool): "ten" would fail deep in the kernel."""
    for key, value in cfg.items():
        if key in knobs and not isinstance(value, int | float):
            raise ConfigError(f"{prefix}{key}", value, "must be a number")


class DefaultAnomalyEngine(AnomalyDetectionEngine):
    """Streaming, calibrated detector; see ``docs/detection.md``.

    >>> import numpy as np
    >>> from backend.analytics.types import MetricSeries
    >>> ts = np.arange(600, dtype=np.int64) * 300 * 10**9  # five-minute points
    >>> x = 50 + np.sin(np.arange(600) / 9.0) + np.random.default_rng(0).normal(0, 0.3, 600)
    >>> x[500] = 90.0
    >>> series = MetricSeries.from_arrays(("t", "c", "n", "cpu"), ts, x)
    >>> [(r.anomaly_kind, r.window_start) for r in DefaultAnomalyEngine().detect(series)]
    [('spike', datetime.datetime(1970, 1, 2, 17, 40))]
    """

    name: ClassVar[str] = "default"
    version: ClassVar[str] = "1.0"
    calibrated_per_series: ClassVar[bool] = True

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        reject_unknown_settings(self.config, ENGINE_KEYS | _KNOBS, "the default engine")
        self.threshold = float(
            self.config.get(
                "threshold", self.config.get("anomaly_score_threshold", DEFAULT_THRESHOLD)
            )
        )
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError("threshold", self.threshold, "must be in (0, 1]")
        _check_numbers(self.config, _KNOBS)
        # the kernel's alarm level is the threshold (unless a config sets it apart)
        self.params = DetectorParams.from_config({"anomaly_cut": self.threshold, **self.config})
        self.per_metric = _per_metric_params(self.params, self.config.get("per_metric") or {})
        self.emit_normal = bool(self.config.get("emit_normal", False))
        self.merge_gap_points = int(self.config.get("merge_gap_points", 3))
        self.use_classifier = bool(self.config.get("use_classifier", True))

    def params_for(self, series: MetricSeries, threshold: float | None = None) -> DetectorParams:
        """Hyperparameters for ``series``: its metric's ``per_metric`` settings, a declared
        counter forces counter handling, and a metric's own ``threshold`` (from the
        configuration) becomes the alarm level."""
        chosen = match_metric(self.per_metric, series.metric_name) if self.per_metric else None
        params = self.params if chosen is None else self.per_metric[chosen]
        if params.counter == -1 and is_counter_hint(series):
            params = dataclasses.replace(params, counter=1)
        if threshold is not None and threshold != self.threshold:
            params = dataclasses.replace(params, anomaly_cut=float(threshold))
        return params

    def validate_input(self, series: MetricSeries) -> bool:
        """A counter's values must not be negative: its rates (increases per second) would
        be meaningless, and a swing from -1e308 to 1e308 would overflow them."""
        super().validate_input(series)
        lowest = float(np.min(series.values_array))
        if lowest < 0 and self.params_for(series).counter == 1:
            raise ValidationError(
                "values",
                lowest,
                f"{series.key} is a counter (a name ending in _total or metadata "
                "metric_type=counter), and a counter's values must be >= 0",
            )
        return True

    def score_series(self, series: MetricSeries, threshold: float | None = None) -> ScoredSeries:
        """Per-point scores in [0, 1], each using only the points up to it.

        ``threshold`` is the alarm threshold the scores will be judged at, when it is not
        the engine's own (a per-metric threshold): the slow statistics alarm when they reach
        it, so a stricter threshold waits for a larger change rather than never alarming.
        """
        self.validate_input(series)
        detector = StreamingDetector(self.params_for(series, threshold))
        return detector.score(series.timestamps_ns, series.values_array)

    def learning_ends_ns(self, series: MetricSeries, scored: ScoredSeries) -> int | None:
        """When the engine first hears ``series``, scored from its first point: the first
        point past the warm-up and the learning period (``warmup_hours``). When none is yet,
        when the first will be, at the series' typical step; None for an empty series."""
        heard = np.flatnonzero(scored.statistic >= 0)
        if heard.size:
            return int(scored.timestamps_ns[heard[0]])
        ts = scored.timestamps_ns
        if ts.size == 0:
            return None
        params = self.params_for(series)
        step_ns = float(np.median(np.diff(ts))) if ts.size > 1 else 60e9
        points = max(params.warmup_points, params.warmup_hours * 3600e9 / max(step_ns, 1.0))
        return int(ts[0] + (params.probe_points + math.ceil(points)) * step_ns)

    def detect(
        self, time_series: MetricSeries, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """Anomalous windows (and, with ``emit_normal``, normal ones) in time order."""
        return self.results_from_scores(time_series, self.score_series(time_series), window_size)

    def detect_at(self, time_series: MetricSeries, threshold: float) -> list[AnomalyResult]:
        """:meth:`detect` with ``threshold`` as the alarm threshold (e.g. a metric's own)."""
        scored = self.score_series(time_series, threshold)
        return self.results_from_scores(time_series, scored, threshold=threshold)

    def results_from_scores(
        self,
        time_series: MetricSeries,
        scored: ScoredSeries,
        window_size: int | None = None,
        threshold: float | None = None,
    ) -> list[AnomalyResult]:
        """What :meth:`detect` returns, from scores already computed by :meth:`score_series`.

        ``threshold`` overrides the engine's own (e.g. a per-metric threshold from config).
        """
        cut = self.threshold if threshold is None else threshold
        hot = anomalous_runs(scored.scores, cut, self.merge_gap_points)
        classifier = _load_classifier() if self.use_classifier and hot else None
        # a counter's alarms are told in its rate
        told = rate_view(time_series, scored) if hot else time_series
        results = [self._anomaly(told, scored, a, b, classifier) for a, b in hot]
        spans = self.jump_back_spans(time_series)
        results = [r for r in absorb_jumps_back(results, *spans) if r is not None]
        if told is not time_series:
            results = [dataclasses.replace(r, metric_name=time_series.metric_name) for r in results]
        if self.emit_normal:
            size = window_size or int(self.config.get("window_size", 100))
            results += [
                self._normal(time_series, scored, a, b)
                for a, b in normal_runs(len(scored), hot, size)
            ]
            results.sort(key=lambda r: r.window_start)
        return results

    def jump_back_spans(self, series: MetricSeries) -> tuple[int, int, int]:
        """How long after an excursion's last point (ns) the alarm on its jump back may
        start, as close as alarms merge into one incident, and how long an hours-long
        statistic's alarm, and the short volatility's, is its echo: as long as that
        statistic averages (:mod:`backend.detection.jump_back`)."""
        ts = series.timestamps_ns
        if ts.shape[0] < 2:
            return 0, 0, 0
        step = float(np.median(np.diff(ts[-64:])))
        params = self.params_for(series)
        hours = 1.0 / min(params.alpha_swing, params.alpha_slow)
        points = 1.0 / params.alpha_vol
        return int((self.merge_gap_points + 1) * step), int(hours * step), int(points * step)

    def _anomaly(
        self, series: MetricSeries, scored: ScoredSeries, start: int, end: int, classifier: Any
    ) -> AnomalyResult:
        peak = start + int(np.argmax(scored.scores[start : end + 1]))
        if int(scored.statistic[peak]) == _STUCK:
            return self._stuck(series, scored, start, end, peak)
        kind = guess_kind(scored, start, end)
        explanation = found = None
        if classifier is not None:
            evidence = self._evidence(series, scored, start, end, kind)
            explanation = classifier.classify(series, evidence)
            found = _kind_of(explanation)
        back = returning_excursion(scored, start, end)
        if back is not None and found not in (AnomalyKind.SPIKE, AnomalyKind.DIP):
            # the alarm is the jump back from a short dip (or spike), which the classifier,
            # reading the jump alone, takes for a shift or a new pattern
            return self._excursion(series, scored, start, end, back, peak)
        slow = int(scored.statistic[peak]) in SLOW_KINDS
        if slow and found in (AnomalyKind.SPIKE, AnomalyKind.DIP):
            # the classifier read the largest point of a day-long window, but what alarmed
            # was an hours-to-day average: a spike cannot be what the detector heard
            found = None
        if found is None:  # no classifier, or it saw nothing unusual in the raw values: say
            # what the detector saw rather than "looks normal" on an alarm (see describe.py)
            text = _detector_text(series, scored, start, end, peak, self.params_for(series))
            return self._result(series, scored, start, end, kind, text)
        result = self._result(
            series, scored, start, end, found, getattr(explanation, "description", None) or None
        )
        ended = excursion_end(explanation)
        if ended[BACK_AT] is not None:  # an excursion that ended: its jump back joins it
            result.engine_metadata.update(ended)
        onset = change_onset(explanation)
        if onset[ONSET] is not None:  # a later alarm telling the same change joins it
            result.engine_metadata.update(onset)
        if int(scored.statistic[peak]) != _DAY_LEVEL:
            # the classifier read this window alone: a later run that has seen the points
            # after it may read it again (backend/detection/continuation.py, settle)
            result.engine_metadata[KIND_FROM] = KIND_FROM_WINDOW
            result.engine_metadata[LEVEL_HELD] = level_held(explanation)
        return result

    def _excursion(
        self,
        series: MetricSeries,
        scored: ScoredSeries,
        start: int,
        end: int,
        first: int,
        peak: int,
    ) -> AnomalyResult:
        """A short dip (spike) whose jump back alarmed, told as the excursion it ended; its
        window starts where the excursion did, so a chart marks the dip, not its end."""
        dip = bool(scored.z[peak] > 0)
        away = scored.modelled[first:peak]
        extreme = float(away.min() if dip else away.max())
        ts = scored.timestamps_ns
        unit = _shown_unit(series, scored, peak)
        text = describe_excursion(
            series.metric_name,
            series.node_id,
            dip,
            extreme,
            float(scored.modelled[first - 1]),
            (int(ts[peak]) - int(ts[first])) / 1e9,
            unit,
        )
        kind = AnomalyKind.DIP if dip else AnomalyKind.SPIKE
        return self._result(series, scored, min(first, start), end, kind, text)  # the whole dip

    def _stuck(
        self, series: MetricSeries, scored: ScoredSeries, start: int, end: int, peak: int
    ) -> AnomalyResult:
        """A stuck value is reported as missing data (its cause is usually collection),
        in words of its own: the data hold no shape for the classifier to read."""
        # an incremental run scores only its new points: the stretch may have begun in the
        # context before them (the points of ``series`` before the scored ones)
        offset = series.length - len(scored)
        if offset > 0 and not scored.as_rate:
            values, ts = series.values_array, series.timestamps_ns
        else:
            values, ts, offset = scored.values, scored.timestamps_ns, 0
        last = offset + peak
        first = stuck_start(values, last)
        text = describe_stuck(
            series.metric_name,
            series.node_id,
            float(values[last]),
            last - first + 1,
            (int(ts[last]) - int(ts[first])) / 1e9,
            series.metadata.get("unit"),
        )
        return self._result(series, scored, start, end, AnomalyKind.MISSING_DATA, text)

    def _evidence(
        self, series: MetricSeries, scored: ScoredSeries, start: int, end: int, kind: AnomalyKind
    ) -> AnomalyResult:
        """The window the classifier should read: the run itself, or for an alarm of the
        day level the day that level averaged (a drift shows as a ramp only over that)."""
        peak = start + int(np.argmax(scored.scores[start : end + 1]))
        window = self._result(series, scored, start, end, kind)
        if int(scored.statistic[peak]) != _DAY_LEVEL:
            return window
        # the day reaches back before the scored points when an incremental run scored only
        # the newest: ``series`` holds the points read before them as context
        span = int(self.params_for(series).level_days * NS_PER_DAY)
        ts = series.timestamps_ns
        first = int(np.searchsorted(ts, int(scored.timestamps_ns[start]) - span))
        begin = from_epoch_ns(int(ts[min(first, ts.shape[0] - 1)]), series.aware)
        return dataclasses.replace(window, window_start=min(begin, window.window_start))

    def _result(
        self,
        series: MetricSeries,
        scored: ScoredSeries,
        start: int,
        end: int,
        kind: AnomalyKind,
        text: str | None = None,
    ) -> AnomalyResult:
        peak = start + int(np.argmax(scored.scores[start : end + 1]))
        deviation = abs(float(scored.modelled[peak] - scored.expected[peak]))
        half = max(float(scored.upper[peak] - scored.expected[peak]), 1e-12)
        return AnomalyResult(
            *series.key,
            window_start=from_epoch_ns(int(scored.timestamps_ns[start]), series.aware),
            window_end=from_epoch_ns(int(scored.timestamps_ns[end]), series.aware),
            anomaly_score=float(scored.scores[peak]),
            anomaly_label=kind.label.value,
            magnitude=deviation / (deviation + half),
            explanation=text,
            engine_metadata=_metadata(scored, start, end, peak, self.threshold),
            anomaly_kind=kind.value,
        )

    def _normal(
        self, series: MetricSeries, scored: ScoredSeries, start: int, end: int
    ) -> AnomalyResult:
        return AnomalyResult(
            *series.key,
            window_start=from_epoch_ns(int(scored.timestamps_ns[start]), series.aware),
            window_end=from_epoch_ns(int(scored.timestamps_ns[end]), series.aware),
            anomaly_score=float(scored.scores[start : end + 1].max()),
            anomaly_label="normal",
            magnitude=0.0,
            engine_metadata={"engine": self.name, "points": end - start + 1},
        )


def _metadata(
    scored: ScoredSeries, start: int, end: int, peak: int, threshold: float
) -> dict[str, Any]:
    stat = int(scored.statistic[peak])
    return {
        "engine": DefaultAnomalyEngine.name,
        "engine_version": DefaultAnomalyEngine.version,
        "points": end - start + 1,
        "peak_timestamp": from_epoch_ns(int(scored.timestamps_ns[peak])).isoformat(),
        "observed": float(scored.values[peak]),
        "modelled": float(scored.modelled[peak]),
        "expected": float(scored.expected[peak]),
        "lower": float(scored.lower[peak]),
        "upper": float(scored.upper[peak]),
        "z": float(scored.z[peak]),
        "raw_score": float(scored.raw_scores[peak]),
        "statistic": STATISTIC_NAMES[stat] if stat >= 0 else "warmup",
        "threshold": threshold,
    }


def _shown_unit(series: MetricSeries, scored: ScoredSeries, peak: int) -> str | None:
    """The unit of the detector's numbers: the series' own, per second for a counter
    (modelled as its rate)."""
    unit = series.metadata.get("unit")
    if scored.modelled[peak] != scored.values[peak]:
        return f"{unit}/s" if unit else "per second"
    return unit


def _residuals_with_context(
    series: MetricSeries, scored: ScoredSeries, peak: int, needed: int, params: DetectorParams
) -> tuple[np.ndarray, int]:
    """The residuals (in scales) up to ``peak`` with ``needed`` points before it where the
    scores hold too few (a live run scores only its new points, resumed from saved state):
    read then from ``series``, whose context before the scored points a fresh detector
    scores; the peak's index in what is returned."""
    context = series.length - len(scored)
    if peak + 1 >= needed or context <= 0 or scored.as_rate:  # (a counter's series is not
        return scored.z, peak  # what its detector modelled: its rate is told as it is)
    whole = StreamingDetector(params).score(series.timestamps_ns, series.values_array)
    return whole.z, peak + context


def _detector_text(
    series: MetricSeries,
    scored: ScoredSeries,
    start: int,
    end: int,
    peak: int,
    params: DetectorParams,
) -> str:
    """The alarm in the detector's own numbers (a counter's are per-second rates); the slow
    statistics in what they average: daily means, or the last hours' departures."""
    stat = int(scored.statistic[peak])
    unit = _shown_unit(series, scored, peak)
    ts = scored.timestamps_ns
    day_ns = int(params.level_days * NS_PER_DAY)
    if stat == _DAY_LEVEL:  # over the series' own points, context before the scored included
        last, days = daily_means(series.timestamps_ns, series.values_array, int(ts[peak]), day_ns)
        return describe_day_level(series.metric_name, series.node_id, last, days, unit)
    if stat == _SLOW_VOLATILITY:
        points, history, seconds = _averaged_span(ts, params.alpha_slow, day_ns)
        z, at = _residuals_with_context(series, scored, peak, points + history, params)
        recent, usual = recent_variation(z, at, points, history)
        return describe_variation(series.metric_name, series.node_id, recent, usual, seconds)
    if stat == _SLOW_SWING:  # the forecast's distance from its daily mean, in series units
        points, history, seconds = _averaged_span(ts, params.alpha_swing, day_ns)
        away = distance_from_day_mean(ts, scored.expected, day_ns)
        recent, usual = recent_variation(away, peak, points, history)
        return describe_swing(series.metric_name, series.node_id, recent, usual, seconds, unit)
    return describe_alarm(
        series.metric_name,
        series.node_id,
        STATISTIC_NAMES[stat] if stat >= 0 else "warmup",
        float(scored.modelled[peak]),
        float(scored.expected[peak]),
        float(scored.lower[peak]),
        float(scored.upper[peak]),
        (int(ts[end]) - int(ts[start])) / 1e9,
        unit,
    )


def _averaged_span(ts: np.ndarray, alpha: float, day_ns: int) -> tuple[int, int, float]:
    """The points an hours-long mean at rate ``alpha`` averages, the points of the week
    before to compare them with, and the seconds the first span covers."""
    points = max(round(1.0 / alpha), 1)
    step_ns = (int(ts[-1]) - int(ts[0])) / max(ts.shape[0] - 1, 1)
    history = int(EARLIER_DAYS * day_ns / max(step_ns, 1.0))
    return points, history, points * step_ns / 1e9


def rate_view(series: MetricSeries, scored: ScoredSeries) -> MetricSeries:
    """``series`` as the detector modelled it: a counter (declared, or found by the detector
    from its values) as its rate per second (:func:`rate_series`), any other unchanged."""
    if not scored.as_rate:
        return series
    rates = as_rates(series.timestamps_ns, series.values_array)
    # the scored points are the last of ``series`` (after its context): their rates are the
    # detector's own
    rates[series.length - len(scored) :] = scored.modelled
    return rate_series(series, rates)


def _load_classifier() -> Any:
    """The platform's explanation classifier, or None while it is not available."""
    try:
        from backend.analytics.explain import ExplanationClassifier
    except ImportError:
        return None
    return ExplanationClassifier()


def _kind_of(explanation: Any) -> AnomalyKind | None:
    """The finer kind an explanation carries (attribute or ``additional_context``)."""
    candidates = [getattr(explanation, "anomaly_kind", None)]
    context = getattr(explanation, "additional_context", None) or {}
    candidates += [context.get("anomaly_kind"), context.get("kind")]
    for value in candidates:
        try:
            return AnomalyKind(str(getattr(value, "value", value)))
        except ValueError:
            continue
    return None
