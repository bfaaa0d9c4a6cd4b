"""Why a window is anomalous: its kind, what was usual, how far off it is, in one sentence.

:class:`ExplanationClassifier` reads the series around a flagged window (see
:mod:`backend.analytics.explain_signal` for the numbers) and returns an
:class:`AnomalyExplanation`: the coarse type (spike | trend | seasonal | normal), the finer kind
(spike, dip, level_shift, drift, seasonal, missing_data), the usual value and the observed one,
confidence, severity and a sentence from :mod:`backend.analytics.explain_templates`.

>>> from datetime import datetime, timedelta
>>> import numpy as np
>>> t0 = datetime(2024, 1, 2, 12, 0)
>>> values = 40 + np.random.default_rng(0).normal(0, 2, 300)
>>> values[200:203] += 45
>>> series = MetricSeries("acme", "prod", "node-042", "cpu_usage",
...     [t0 + timedelta(minutes=i) for i in range(300)], values, {"unit": "percent"})
>>> flagged = AnomalyResult("acme", "prod", "node-042", "cpu_usage",
...     t0 + timedelta(minutes=190), t0 + timedelta(minutes=210), 0.9, "spike")
>>> explanation = ExplanationClassifier().classify(series, flagged)
>>> explanation.anomaly_type, explanation.anomaly_kind, explanation.is_critical
(<AnomalyType.SPIKE: 'spike'>, <AnomalyKind.SPIKE: 'spike'>, True)
>>> explanation.description
'cpu_usage on node-042 rose to 83.8 % (usual before: 40.1 ± 1.9 %) for 3 min'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from backend.analytics._timeconv import NS_PER_SECOND, from_epoch_ns, to_epoch_ns
from backend.analytics.explain_signal import NS_PER_DAY, Finding, SeriesView, analyse_window
from backend.analytics.explain_templates import (
    ExplanationTemplate,
    ExplanationTemplateRegistry,
    format_duration,
)
from backend.analytics.types import AnomalyKind, AnomalyResult, AnomalyType, MetricSeries
from backend.errors import ValidationError

__all__ = [
    "AnomalyExplanation",
    "AnomalyKind",
    "AnomalyType",
    "ExplanationClassifier",
    "ExplanationTemplate",
    "ExplanationTemplateRegistry",
]

CRITICAL_SEVERITY = 0.8
SEVERITY_Z = 4.0  # a departure of this many robust standard deviations has severity 0.5
SEVERITY_GAP_POINTS = 30  # this many missing points have severity 0.5
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class AnomalyExplanation:
    """What an anomaly is, against what baseline, how sure and how bad.

    ``confidence`` (how sure the kind is right) and ``severity`` (how far from usual) are in
    [0, 1]. ``anomaly_kind`` is the finer kind; left out, it follows from ``anomaly_type``.
    ``additional_context`` holds the facts behind the sentence (metric, node, unit, spread,
    start/end, duration, robust z, seasonal period ...).
    """

    anomaly_type: AnomalyType
    baseline_value: float | None = None
    observed_value: float | None = None
    deviation_percent: float | None = None
    confidence: float = 0.5
    severity: float = 0.5
    description: str = ""
    additional_context: dict[str, Any] = field(default_factory=dict)
    anomaly_kind: AnomalyKind | None = None

    def __post_init__(self) -> None:
        kind_type = _coerce_type(self.anomaly_type)
        object.__setattr__(self, "anomaly_type", kind_type)
        object.__setattr__(self, "anomaly_kind", _coerce_kind(self.anomaly_kind, kind_type))
        for name in ("confidence", "severity"):
            object.__setattr__(self, name, _unit(name, getattr(self, name)))
        for name in ("baseline_value", "observed_value", "deviation_percent"):
            object.__setattr__(self, name, _optional_float(name, getattr(self, name)))
        if not isinstance(self.additional_context, Mapping):
            raise ValidationError("additional_context", self.additional_context, "must be a dict")
        object.__setattr__(self, "additional_context", dict(self.additional_context))

    @property
    def is_critical(self) -> bool:
        """True for an anomaly (not ``normal``) whose severity reaches 0.8."""
        return self.anomaly_type is not AnomalyType.NORMAL and self.severity >= CRITICAL_SEVERITY

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly fields (enums as strings, datetimes left as they are)."""
        return {
            "anomaly_type": self.anomaly_type.value,
            "anomaly_kind": self.anomaly_kind.value if self.anomaly_kind else None,
            "baseline_value": self.baseline_value,
            "observed_value": self.observed_value,
            "deviation_percent": self.deviation_percent,
            "confidence": self.confidence,
            "severity": self.severity,
            "is_critical": self.is_critical,
            "description": self.description,
            "additional_context": dict(self.additional_context),
        }


class ExplanationClassifier:
    """Tells spikes, dips, level shifts, drifts, seasonal changes and data gaps apart.

    Works after the fact on stored data: the window of an :class:`AnomalyResult` only says
    where to look (detector windows start late or are short), and the data before it (the
    baseline) and after it (does it come back?) decide the kind. ``templates`` renders the
    sentence; by default the shared :class:`ExplanationTemplateRegistry`.
    """

    def __init__(self, templates: ExplanationTemplateRegistry | None = None) -> None:
        self.templates = templates

    def classify(
        self, metric_series: MetricSeries, anomaly_result: AnomalyResult
    ) -> AnomalyExplanation:
        """The explanation of one result's window of ``metric_series``."""
        return self.classify_batch(metric_series, [anomaly_result])[0]

    def classify_batch(
        self, metric_series: MetricSeries, anomaly_results: Sequence[AnomalyResult]
    ) -> list[AnomalyExplanation]:
        """Explanations for many windows of one series (the series is prepared once)."""
        _check_series(metric_series)
        view = SeriesView.of(metric_series.timestamps_ns, metric_series.values_array)
        return [self._explain(metric_series, view, _check_result(r)) for r in anomaly_results]

    def _explain(
        self, series: MetricSeries, view: SeriesView, result: AnomalyResult
    ) -> AnomalyExplanation:
        start_ns, end_ns = to_epoch_ns(result.window_start), to_epoch_ns(result.window_end)
        finding = analyse_window(view, start_ns, end_ns)
        kind = finding.kind if result.is_anomaly else None
        explanation = AnomalyExplanation(
            anomaly_type=kind.label if kind else AnomalyType.NORMAL,
            baseline_value=_finite(finding.baseline),  # an average of ±1e308 overflows
            observed_value=_finite(finding.observed),
            deviation_percent=_deviation_percent(finding),
            confidence=_confidence(finding, kind, result),
            severity=_severity(finding, kind),
            additional_context=_context(series, view, finding, kind, result),
            anomaly_kind=kind,
        )
        registry = self.templates or ExplanationTemplateRegistry.shared()
        return replace(explanation, description=registry.render(explanation))


def _finite(value: float | None) -> float | None:
    """``value``, or None (shown as n/a) where values near the float limit overflowed it."""
    return value if value is not None and math.isfinite(value) else None


def _confidence(finding: Finding, kind: AnomalyKind | None, result: AnomalyResult) -> float:
    if not result.is_anomaly:
        return max(0.05, 1.0 - result.anomaly_score)
    return finding.confidence


def _severity(finding: Finding, kind: AnomalyKind | None) -> float:
    """How far from usual: robust z mapped so 4σ gives 0.5 and 8σ 0.8 (gaps: missing points)."""
    if kind is None:
        return 0.0
    if kind is AnomalyKind.MISSING_DATA:
        return finding.gap_points / (finding.gap_points + SEVERITY_GAP_POINTS)
    z = abs(finding.peak_z)
    if kind in (AnomalyKind.LEVEL_SHIFT, AnomalyKind.DRIFT) and finding.observed is not None:
        z = abs(finding.observed - finding.baseline) / finding.spread
    if math.isnan(z) or z > 1e150:  # values near the float limit (inf / inf, or z * z = inf)
        return 1.0
    return z * z / (z * z + SEVERITY_Z * SEVERITY_Z)


def _deviation_percent(finding: Finding) -> float | None:
    if finding.observed is None or finding.baseline == 0 or not math.isfinite(finding.baseline):
        return None
    return round((finding.observed - finding.baseline) / abs(finding.baseline) * 100.0, 2)


def _context(
    series: MetricSeries,
    view: SeriesView,
    finding: Finding,
    kind: AnomalyKind | None,
    result: AnomalyResult,
) -> dict[str, Any]:
    t, aware = view.t_ns, series.aware
    onset, last = min(finding.onset, t.size - 1), min(max(finding.end, finding.onset + 1), t.size)
    context: dict[str, Any] = {
        "tenant_id": series.tenant_id, "cluster_id": series.cluster_id,
        "node_id": series.node_id, "metric_name": series.metric_name,
        "unit": series.metadata.get("unit"), "spread": finding.spread,
        "usual": _usual_label(finding, int(t[onset])), "peak_z": round(finding.peak_z, 3),
        "start": from_epoch_ns(int(t[onset]), aware), "end": from_epoch_ns(int(t[last - 1]), aware),
        "duration_seconds": (int(t[last - 1]) - int(t[onset]) + view.step_ns) / NS_PER_SECOND,
        "score": result.anomaly_score, "oscillation": round(finding.oscillation, 3),
        "seasonal_period_seconds": (finding.seasonal_period_ns or 0) / NS_PER_SECOND or None,
        "returned": finding.returned,
    }  # fmt: skip
    if kind is AnomalyKind.LEVEL_SHIFT and finding.before is not None:
        context["level_before"] = finding.before
    if kind is AnomalyKind.DRIFT and finding.fell_to is not None:
        context["fell_to"] = finding.fell_to
    if kind is AnomalyKind.DRIFT and finding.observed is not None:
        hours = max(context["duration_seconds"], 1.0) / 3600.0
        context["rate_per_hour"] = (finding.observed - finding.baseline) / hours
    if kind is AnomalyKind.MISSING_DATA:
        context.update(_gap_context(view, finding, aware))
    return context


def _gap_context(view: SeriesView, finding: Finding, aware: bool) -> dict[str, Any]:
    first, last = finding.gap_start_ns + view.step_ns, finding.gap_end_ns - view.step_ns
    return {
        "missing_points": finding.gap_points,
        "gap_start": from_epoch_ns(first, aware),
        "gap_end": from_epoch_ns(max(first, last), aware),
        "start": from_epoch_ns(first, aware),
        "duration_seconds": (finding.gap_end_ns - finding.gap_start_ns - view.step_ns)
        / NS_PER_SECOND,
    }


def _usual_label(finding: Finding, onset_ns: int) -> str:
    """``usual for Tuesday 14:00`` (weekly), ``usual at 14:00`` (daily), ``usual before``."""
    period = finding.seasonal_period_ns
    moment = from_epoch_ns(onset_ns)
    if period == 7 * NS_PER_DAY:
        return f"usual for {_WEEKDAYS[moment.weekday()]} {moment:%H:%M}"
    if period == NS_PER_DAY:
        return f"usual at {moment:%H:%M}"
    if period:
        return f"usual at this point of its {format_duration(period / NS_PER_SECOND)} cycle"
    return "usual before"


def _check_series(series: Any) -> None:
    if not isinstance(series, MetricSeries):
        raise ValidationError("metric_series", type(series).__name__, "must be a MetricSeries")
    if series.length == 0:
        raise ValidationError("metric_series", str(series.key), "is empty")


def _check_result(result: Any) -> AnomalyResult:
    if not isinstance(result, AnomalyResult):
        raise ValidationError("anomaly_result", type(result).__name__, "must be an AnomalyResult")
    return result


def _coerce_type(value: Any) -> AnomalyType:
    try:
        return AnomalyType(value.value if isinstance(value, AnomalyType) else value)
    except ValueError:
        allowed = ", ".join(t.value for t in AnomalyType)
        raise ValidationError("anomaly_type", value, f"must be one of {allowed}") from None


def _coerce_kind(value: Any, anomaly_type: AnomalyType) -> AnomalyKind | None:
    if value is None:
        defaults = {AnomalyType.SPIKE: AnomalyKind.SPIKE, AnomalyType.TREND: AnomalyKind.DRIFT,
                    AnomalyType.SEASONAL: AnomalyKind.SEASONAL}  # fmt: skip
        return defaults.get(anomaly_type)
    try:
        kind = AnomalyKind(value.value if isinstance(value, AnomalyKind) else value)
    except ValueError:
        allowed = ", ".join(k.value for k in AnomalyKind)
        raise ValidationError("anomaly_kind", value, f"must be one of {allowed}") from None
    if kind.label is not anomaly_type:
        reason = f"kind {kind.value} belongs to type {kind.label.value}, not {anomaly_type.value}"
        raise ValidationError("anomaly_kind", value, reason)
    return kind


def _unit(name: str, value: Any) -> float:
    number = _optional_float(name, value)
    if number is None or not 0.0 <= number <= 1.0:
        raise ValidationError(name, value, "must be a number in [0, 1]")
    return number


def _optional_float(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValidationError(name, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(name, value, "must be finite")
    return number
