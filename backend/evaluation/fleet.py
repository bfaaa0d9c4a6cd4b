"""Evaluating an engine on a simulated fleet whose anomalies are labelled by the simulator.

Works from ``engine.detect`` results only (matched to labels by time), so every engine can
be evaluated the same way. A label is *detected* when an anomalous result overlaps its window
(extended by ``tolerance_points`` steps, since a shift is often confirmed a little late); its
kind is *right* when such a result carries the label's kind. Results overlapping no label are
false alarms; the rate is per 10,000 unlabelled points. The same figures are kept per metric
(:class:`MetricStats`): a calibrated engine raises about as many false alarms per normal point
on every metric, and this is where one sees whether it does.

The reference fleet (:func:`evaluation_fleet_spec`) has realistic history: 14 days at
5-minute sampling (4,032 points per series, the length of a NAB AWS file), so daily cycles
can be learnt; one-day series (1,440 one-minute points) remain a harder secondary check.

An engine with fleet calibration (the default engine, :mod:`backend.detection.fleet_calibration`)
is run as the platform runs it over a tenant: every series scored, then the scores mapped
6 hours at a time with what the fleet's earlier hours taught, then windows and kinds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.fleet_calibration import FleetCalibration, calibrate_batch, fleet_group
from backend.errors import ValidationError
from backend.evaluation.events import NORMAL_POINTS_UNIT
from backend.evaluation.scoring import engine_threshold

__all__ = [
    "FLEET_FREQ",
    "FLEET_POINTS",
    "FleetEvaluation",
    "KindStats",
    "MetricStats",
    "evaluate_fleet",
    "evaluate_series",
    "evaluation_fleet_spec",
    "summarise_fleet",
    "sweep_fleet",
]

Progress = Callable[[int, int], None]

FLEET_POINTS = 4032  # 14 days ...
FLEET_FREQ = "5min"  # ... at 5-minute sampling


def evaluation_fleet_spec(
    n_series: int,
    seed: int = 7,
    anomaly_ratio: float = 0.2,
    num_points: int = FLEET_POINTS,
    freq: str = FLEET_FREQ,
) -> Any:
    """The simulated fleet the engines are evaluated on (a ``FleetSpec``).

    >>> spec = evaluation_fleet_spec(10)
    >>> spec.num_points, spec.freq, spec.total_series
    (4032, '5min', 10)
    """
    from backend.simulator.fleet import FleetSpec

    return FleetSpec.for_series_count(
        n_series, anomaly_ratio=anomaly_ratio, seed=seed, num_points=num_points, freq=freq
    )


def _share(part: int, whole: int) -> float:
    """``part`` of ``whole`` (1.0 when there is nothing to find)."""
    return part / whole if whole else 1.0


def _per_10k(false_alarms: float, normal_points: int) -> float:
    """False alarms per 10,000 normal points."""
    return false_alarms * NORMAL_POINTS_UNIT / max(normal_points, 1)


@dataclass
class KindStats:
    """Per anomaly kind: how many labels, how many detected, how many named right."""

    events: int = 0
    detected: int = 0
    kind_right: int = 0
    delay_seconds: float = 0.0
    confused_with: dict[str, int] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        """Share of labels detected."""
        return _share(self.detected, self.events)


@dataclass
class MetricStats:
    """Per metric name: labels found, and false alarms against the normal points."""

    series: int = 0
    events: int = 0
    detected: int = 0
    false_alarms: int = 0
    normal_points: int = 0

    @property
    def recall(self) -> float:
        """Share of this metric's labels detected."""
        return _share(self.detected, self.events)

    @property
    def false_alarms_per_10k(self) -> float:
        """False alarms per 10,000 of this metric's unlabelled points."""
        return _per_10k(self.false_alarms, self.normal_points)


@dataclass(frozen=True)
class FleetEvaluation:
    """Event metrics of one engine on one labelled fleet."""

    engine: str
    series: int
    points: int
    events: int
    detected: int
    kind_right: int
    alarms: int
    false_alarms: int
    normal_points: int
    mean_delay_seconds: float
    per_kind: dict[str, KindStats]
    seconds: float
    per_metric: dict[str, MetricStats] = field(default_factory=dict)
    threshold: float | None = None  # the alarm threshold the windows were drawn at

    @property
    def recall(self) -> float:
        """Share of labelled anomalies detected."""
        return _share(self.detected, self.events)

    @property
    def precision(self) -> float:
        """Share of alarms that overlap a labelled anomaly."""
        return (self.alarms - self.false_alarms) / self.alarms if self.alarms else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def false_alarms_per_10k(self) -> float:
        """False alarms per 10,000 unlabelled points."""
        return _per_10k(self.false_alarms, self.normal_points)

    @property
    def kind_accuracy(self) -> float:
        """Share of detected anomalies whose kind was named right."""
        return self.kind_right / self.detected if self.detected else 0.0

    @property
    def false_alarm_spread(self) -> float:
        """Highest over lowest per-metric false-alarm rate (1.0: perfectly even).

        Metrics without false alarms count as half of one, so a clean metric does not make
        the spread infinite.
        """
        rates = [
            _per_10k(max(m.false_alarms, 0.5), m.normal_points)
            for m in self.per_metric.values()
            if m.normal_points
        ]
        return max(rates) / min(rates) if rates else 1.0


@dataclass
class _Tally:
    alarms: int = 0
    false_alarms: int = 0
    normal_points: int = 0
    per_kind: dict[str, KindStats] = field(default_factory=dict)
    per_metric: dict[str, MetricStats] = field(default_factory=dict)


def _label_span(series: MetricSeries, label: Any, tolerance: int) -> tuple[int, int, int]:
    """(start ns, extended end ns, labelled points) of one label on its series."""
    ts = series.timestamps_ns
    step = int((ts[-1] - ts[0]) // max(ts.shape[0] - 1, 1)) if ts.shape[0] > 1 else 0
    start, end = label.start_ns, label.end_ns
    extended = end + (tolerance + 1) * step  # +1: a gap is seen only once data resumes
    inside = int(((ts >= start) & (ts <= extended)).sum())
    return start, extended, inside


def evaluate_series(
    series: MetricSeries,
    labels: Sequence[Any],
    results: Sequence[AnomalyResult],
    tally: _Tally,
    tolerance: int,
) -> None:
    """Add one series' detections to ``tally``."""
    alarms = [
        (to_epoch_ns(r.window_start), to_epoch_ns(r.window_end), r) for r in results if r.is_anomaly
    ]
    spans = [_label_span(series, label, tolerance) for label in labels]
    false_alarms = sum(1 for a, b, _ in alarms if not any(a <= e and b >= s for s, e, _ in spans))
    normal_points = series.length - sum(n for _, _, n in spans)
    tally.alarms += len(alarms)
    tally.false_alarms += false_alarms
    tally.normal_points += normal_points
    metric = tally.per_metric.setdefault(series.metric_name, MetricStats())
    metric.series += 1
    metric.events += len(labels)
    metric.false_alarms += false_alarms
    metric.normal_points += normal_points
    for label, (s, e, _) in zip(labels, spans, strict=True):
        stats = tally.per_kind.setdefault(label.kind, KindStats())
        stats.events += 1
        hits = [(a, r) for a, b, r in alarms if a <= e and b >= s]
        if not hits:
            continue
        stats.detected += 1
        metric.detected += 1
        stats.delay_seconds += max(min(a for a, _ in hits) - s, 0) / 1e9
        kinds = [r.anomaly_kind for _, r in hits]
        if label.kind in kinds:
            stats.kind_right += 1
        else:
            other = str(kinds[0])
            stats.confused_with[other] = stats.confused_with.get(other, 0) + 1


def _score_all(
    engine: DefaultAnomalyEngine, fleet: Any, fleet_calibration: bool, progress: Progress | None
) -> list[Any]:
    """Every series' per-point scores (half the progress): fleet-calibrated where it applies."""
    total = len(fleet.series)
    scored = []
    for done, series in enumerate(fleet.series, start=1):
        scored.append((fleet_group(series), engine.score_series(series)))
        if progress is not None:
            progress(done, 2 * total)
    if not fleet_calibration:
        return [scores for _, scores in scored]
    mapped: list[Any] = [None] * total
    for tenant in {series.tenant_id for series in fleet.series}:  # one calibration per tenant
        rows = [i for i, series in enumerate(fleet.series) if series.tenant_id == tenant]
        calibration = FleetCalibration(log_scale=engine.params.log_scale)
        tenant_mapped = calibrate_batch(calibration, [scored[i] for i in rows])
        for i, scores in zip(rows, tenant_mapped, strict=True):
            mapped[i] = scores
    return mapped


def _results_at(
    engine: DefaultAnomalyEngine,
    fleet: Any,
    scores: Sequence[Any],
    progress: Progress | None,
) -> list[list[AnomalyResult]]:
    """Each series' windows from its scores (the second half of the progress)."""
    total = len(fleet.series)
    found = []
    for done, (series, scored) in enumerate(zip(fleet.series, scores, strict=True), start=1):
        found.append(engine.results_from_scores(series, scored))
        if progress is not None:
            progress(total + done, 2 * total)
    return found


def _detect_all(
    engine: AnomalyDetectionEngine, fleet: Any, fleet_calibration: bool, progress: Progress | None
) -> list[list[AnomalyResult]]:
    """Every series' results: with fleet calibration where the engine has it."""
    if isinstance(engine, DefaultAnomalyEngine):
        scores = _score_all(engine, fleet, fleet_calibration, progress)
        return _results_at(engine, fleet, scores, progress)
    total = len(fleet.series)
    found = []
    for done, series in enumerate(fleet.series, start=1):
        found.append(engine.detect(series))
        if progress is not None:
            progress(done, total)
    return found


def summarise_fleet(
    engine: AnomalyDetectionEngine,
    fleet: Any,
    found: Sequence[Sequence[AnomalyResult]],
    tolerance_points: int,
    seconds: float,
    threshold: float,
) -> FleetEvaluation:
    """Match every series' results (``found``, in the fleet's series order) to its labels
    and sum the figures."""
    by_key: dict[Any, list[Any]] = {}
    for label in fleet.labels:
        by_key.setdefault(label.key, []).append(label)
    tally = _Tally()
    for series, results in zip(fleet.series, found, strict=True):
        evaluate_series(series, by_key.get(series.key, []), results, tally, tolerance_points)
    per_kind = dict(sorted(tally.per_kind.items()))
    detected = sum(k.detected for k in per_kind.values())
    delay = sum(k.delay_seconds for k in per_kind.values()) / max(detected, 1)
    return FleetEvaluation(
        engine.engine_name(),
        len(fleet.series),
        sum(s.length for s in fleet.series),
        sum(k.events for k in per_kind.values()),
        detected,
        sum(k.kind_right for k in per_kind.values()),
        tally.alarms,
        tally.false_alarms,
        tally.normal_points,
        delay,
        per_kind,
        seconds,
        dict(sorted(tally.per_metric.items())),
        threshold,
    )


def evaluate_fleet(
    engine: AnomalyDetectionEngine,
    fleet: Any,
    tolerance_points: int = 10,
    progress: Progress | None = None,
    fleet_calibration: bool = True,
) -> FleetEvaluation:
    """Run the engine on every series of a simulated fleet and match to its labels."""
    started = time.perf_counter()
    found = _detect_all(engine, fleet, fleet_calibration, progress)
    seconds = time.perf_counter() - started
    threshold = engine_threshold(engine)
    return summarise_fleet(engine, fleet, found, tolerance_points, seconds, threshold)


def sweep_fleet(
    engine: AnomalyDetectionEngine,
    fleet: Any,
    thresholds: Sequence[float],
    tolerance_points: int = 10,
    progress: Progress | None = None,
    fleet_calibration: bool = True,
) -> tuple[FleetEvaluation, ...]:
    """The fleet evaluated with the engine set to each alarm threshold in turn.

    Recall against false alarms at the thresholds an operator might set: where the engine's
    default sits on that trade-off, and what a stricter or looser threshold would buy. Each
    threshold is a fresh run of the engine configured with it (``{"threshold": t}``), as
    the platform would run it: the default engine's slow statistics alarm when they reach
    the threshold, so cutting one run's scores at other levels would misstate it.
    """
    cuts = sorted({_checked_threshold(t) for t in thresholds})
    if not cuts:
        raise ValidationError("thresholds", list(thresholds), "give at least one threshold")
    results = []
    for done, cut in enumerate(cuts):
        tuned = type(engine)({**engine.config, "threshold": cut})

        def step(part: int, whole: int, done: int = done) -> None:
            if progress is not None:
                progress(done * whole + part, len(cuts) * whole)

        results.append(evaluate_fleet(tuned, fleet, tolerance_points, step, fleet_calibration))
    return tuple(results)


def _checked_threshold(value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError("thresholds", value, "every threshold must be in [0, 1]")
    return float(value)
