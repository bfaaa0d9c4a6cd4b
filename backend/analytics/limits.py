"""Static limits: values a metric must never cross, whatever its history says.

A learnt detector judges a value against the series' own past, so a metric that has always
run hot is "normal" at 97 %, and one that once glitched to 500 keeps that glitch in its memory
for days. Operators also know hard facts no history teaches: an error rate above 5 % is an
incident, free disk below 2 GB is one. A :class:`MetricLimit` says so; the detection stages
add its breaches to the engine's results (:func:`apply_limit`) and to per-point scores
(:func:`limit_point_scores`), so a breach alarms on every engine, with no warm-up, and never
teaches the engine anything (the engine's state is untouched).

>>> import numpy as np
>>> limit = MetricLimit(above=5.0, for_points=2)
>>> breach_mask(np.array([1.0, 6.0, 1.0, 6.0, 7.0, 8.0, np.nan]), limit).tolist()
[False, False, False, False, True, True, False]
>>> minutes = np.arange(6, dtype=np.int64) * 60 * 10**9
>>> breach_mask(np.full(6, 9.0), MetricLimit(above=5.0, for_seconds=180), minutes).tolist()
[False, False, False, True, True, True]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns
from backend.analytics.engine_support import reject_unknown_settings
from backend.analytics.explain_templates import format_duration, format_value
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries
from backend.errors import ConfigError, ValidationError

__all__ = [
    "SEVERITIES",
    "MetricLimit",
    "apply_limit",
    "breach_mask",
    "breach_note",
    "breach_result",
    "breach_runs",
    "fill_kept_firing",
    "limit_point_scores",
    "parse_limits",
    "worst_value",
]

#: ``warning``: a breach scores the metric's anomaly threshold (it alarms);
#: ``critical``: it scores the critical threshold.
SEVERITIES = ("warning", "critical")
#: A breach this many points long or shorter is told as a spike (dip); longer, as a shift.
_SHORT_POINTS = 3


@dataclass(frozen=True)
class MetricLimit:
    """Bounds a metric's values must stay within.

    Parameters
    ----------
    above
        Values strictly above this breach the limit (None: no upper limit).
    below
        Values strictly below this breach the limit (None: no lower limit).
    for_points
        Consecutive breaching points before the first alarm; later points of the run
        alarm too.
    for_seconds
        How long a breach must have lasted before it alarms, from its first point
        (Prometheus' ``for``: 300 is ``for: 5m``); with ``for_points``, both must hold.
    severity
        ``warning`` (the breach scores the metric's threshold) or ``critical``.
    keep_firing_seconds
        Once a breach alarms, how long values must stay back inside the limit before it
        ends (Prometheus' ``keep_firing_for``): a breach that starts again sooner is the
        same breach, alarms at once and is reported as one result with it, so a metric
        flapping around its limit raises one alarm, not one per crossing.
    """

    above: float | None = None
    below: float | None = None
    for_points: int = 1
    for_seconds: float = 0.0
    severity: str = "critical"
    keep_firing_seconds: float = 0.0
    #: where the limit came from, for error messages (``metric_limits['error_rate']``)
    field: str = dataclasses.field(default="limit", compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("above", "below"):
            object.__setattr__(self, name, _bound(f"{self.field}.{name}", getattr(self, name)))
        if self.above is None and self.below is None:
            raise ConfigError(self.field, None, "needs 'above', 'below' or both")
        if self.above is not None and self.below is not None and self.below > self.above:
            raise ConfigError(
                f"{self.field}.below", self.below, f"must not exceed above ({self.above})"
            )
        steps = self.for_points
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ConfigError(f"{self.field}.for_points", steps, "must be an integer >= 1")
        wait = _bound(f"{self.field}.for_seconds", self.for_seconds)
        if wait is None or wait < 0:
            raise ConfigError(f"{self.field}.for_seconds", self.for_seconds, "must be >= 0")
        object.__setattr__(self, "for_seconds", wait)
        hold = _bound(f"{self.field}.keep_firing_seconds", self.keep_firing_seconds)
        if hold is None or hold < 0:
            raise ConfigError(
                f"{self.field}.keep_firing_seconds", self.keep_firing_seconds, "must be >= 0"
            )
        object.__setattr__(self, "keep_firing_seconds", hold)
        if self.severity not in SEVERITIES:
            raise ConfigError(
                f"{self.field}.severity", self.severity, f"must be one of {', '.join(SEVERITIES)}"
            )

    def as_dict(self) -> dict[str, Any]:
        """The limit as a config file (or a JSON answer) writes it."""
        return {
            "above": self.above,
            "below": self.below,
            "for_points": self.for_points,
            "for_seconds": self.for_seconds,
            "severity": self.severity,
            "keep_firing_seconds": self.keep_firing_seconds,
        }

    def describe(self, unit: str | None = None) -> str:
        """The limit in words: ``at most 5.0 %``, ``at least 2.0 G bytes``, ``within …``."""
        if self.below is None:
            return f"at most {format_value(self.above, unit)}"
        if self.above is None:
            return f"at least {format_value(self.below, unit)}"
        return f"within {format_value(self.below)} to {format_value(self.above, unit)}"


def parse_limits(value: Any, field: str = "metric_limits") -> dict[str, MetricLimit]:
    """``{metric or glob: MetricLimit}`` from a mapping of tables (a config file's
    ``[detection.metric_limits.error_rate]``) or of :class:`MetricLimit` objects."""
    if not isinstance(value, Mapping):
        raise ConfigError(field, value, "must be a mapping of metric -> limit")
    known = {f.name for f in dataclasses.fields(MetricLimit)} - {"field"}
    limits: dict[str, MetricLimit] = {}
    for key, entry in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(field, key, "keys must be non-empty metric names or patterns")
        where = f"{field}[{key!r}]"
        if isinstance(entry, MetricLimit):
            limits[key] = dataclasses.replace(entry, field=where)
            continue
        if not isinstance(entry, Mapping):
            raise ConfigError(where, entry, "must be a table with above / below")
        reject_unknown_settings(entry, known, "a metric limit", prefix=f"{where}.")
        limits[key] = MetricLimit(**entry, field=where)
    return limits


def breach_mask(
    values: np.ndarray, limit: MetricLimit, timestamps_ns: np.ndarray | None = None
) -> np.ndarray:
    """Per point: it breaches, and the run of breaching points it ends is at least
    ``for_points`` long and has lasted ``for_seconds`` (which needs ``timestamps_ns``).

    Streaming like the engines: point ``i`` is judged from points up to ``i`` only. Missing
    values (NaN) never breach, and they end a run.
    """
    x = np.asarray(values, dtype=np.float64)
    outside = _outside(x, limit)
    needs_time = limit.for_seconds > 0 or limit.keep_firing_seconds > 0
    if needs_time and timestamps_ns is None:
        raise ValidationError(
            "timestamps_ns", None, "are needed when for_seconds or keep_firing_seconds > 0"
        )
    ts = np.asarray(timestamps_ns, dtype=np.int64) if needs_time else np.empty(0, np.int64)
    if limit.for_points == 1 and limit.for_seconds == 0:
        held = outside
    else:
        index = np.arange(x.shape[0])
        last_inside = np.maximum.accumulate(np.where(outside, -1, index))
        held = outside & (index - last_inside >= limit.for_points)
        if limit.for_seconds > 0:
            run_start = ts[np.minimum(last_inside + 1, x.shape[0] - 1)]
            held &= (ts - run_start) >= int(limit.for_seconds * 1e9)
    if limit.keep_firing_seconds > 0 and held.any():
        held = _kept_firing(held, outside, ts, int(limit.keep_firing_seconds * 1e9))
    return held


def _kept_firing(held: np.ndarray, outside: np.ndarray, ts: np.ndarray, keep_ns: int) -> np.ndarray:
    """``held`` with every breach that starts within ``keep_ns`` of an alarmed breach's end
    alarming from its first point: it is the same breach, still firing."""
    firing = held.copy()
    last_end: int | None = None
    for start, end in breach_runs(outside):
        if firing[start : end + 1].any():
            last_end = int(ts[end])
        elif last_end is not None and int(ts[start]) - last_end <= keep_ns:
            firing[start : end + 1] = True
            last_end = int(ts[end])
    return firing


def fill_kept_firing(mask: np.ndarray, timestamps_ns: np.ndarray, limit: MetricLimit) -> np.ndarray:
    """``mask`` (alarmed breach points) with the gaps between breaches that kept firing
    filled: one breach, however often its values flapped back inside the limit."""
    if limit.keep_firing_seconds <= 0:
        return mask
    filled = mask.copy()
    runs = breach_runs(mask)
    keep_ns = int(limit.keep_firing_seconds * 1e9)
    for (_, end), (start, _) in itertools.pairwise(runs):
        if int(timestamps_ns[start]) - int(timestamps_ns[end]) <= keep_ns:
            filled[end + 1 : start] = True
    return filled


def _outside(x: np.ndarray, limit: MetricLimit) -> np.ndarray:
    """Per point: beyond the limit (whether or not it has waited long enough to alarm)."""
    with np.errstate(invalid="ignore"):
        outside = np.zeros(x.shape, dtype=bool)
        if limit.above is not None:
            outside |= x > limit.above
        if limit.below is not None:
            outside |= x < limit.below
    return outside


def breach_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index pairs of the runs of True in ``mask``."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def limit_point_scores(
    series: MetricSeries, scores: np.ndarray, limit: MetricLimit, breach_score: float
) -> np.ndarray:
    """``scores`` of ``series`` raised to at least ``breach_score`` where the limit alarms
    (a new array)."""
    raised = np.array(scores, dtype=np.float64, copy=True)
    mask = breach_mask(series.values_array, limit, series.timestamps_ns)
    raised[mask] = np.maximum(raised[mask], breach_score)
    return raised


def apply_limit(
    series: MetricSeries,
    results: Sequence[AnomalyResult],
    limit: MetricLimit,
    breach_score: float,
    first: int = 0,
) -> list[AnomalyResult]:
    """``results`` with the limit's breaches from point ``first`` on added, in time order.

    An anomalous result that overlaps a breach keeps its kind and text, and its score is
    raised to ``breach_score``; the stretches of a breach no anomaly covers become results
    of their own (a spike or dip when short, else a level shift), and a normal window is cut
    to its stretches outside the breaches. Earlier points still count
    towards ``for_points`` and ``for_seconds``, so a breach that began before ``first``
    alarms as soon as it has lasted long enough. A breach is reported from its first point,
    the wait included, by the run in which it first alarms.
    """
    alarms = breach_mask(series.values_array, limit, series.timestamps_ns)
    mask = alarms.copy()
    mask[: max(int(first), 0)] = False
    if not mask.any():
        return list(results)
    _include_the_wait(mask, alarms, _outside(series.values_array, limit))
    ts = series.timestamps_ns
    mask = fill_kept_firing(mask, ts, limit)
    covered = np.zeros(mask.shape, dtype=bool)
    out: list[AnomalyResult] = []
    for result in results:
        lo = int(np.searchsorted(ts, to_epoch_ns(result.window_start), "left"))
        hi = int(np.searchsorted(ts, to_epoch_ns(result.window_end), "right"))
        if not mask[lo:hi].any():
            out.append(result)
        elif result.is_anomaly:
            covered[lo:hi] = True
            worst = worst_value(series, lo, hi, limit)
            out.append(_raised(series, result, limit, breach_score, worst))
        else:
            out.extend(_outside_breaches(series, result, lo, ~mask[lo:hi]))
    for start, end in breach_runs(mask & ~covered):
        out.append(breach_result(series, start, end, limit, breach_score))
    out.sort(key=lambda r: r.window_start)
    return out


def _outside_breaches(
    series: MetricSeries, result: AnomalyResult, lo: int, clear: np.ndarray
) -> list[AnomalyResult]:
    """A normal window cut to its stretches outside the breaches (none when all breach), so
    no point is both normal and in a breach."""
    ts = series.timestamps_ns
    return [
        dataclasses.replace(
            result,
            window_start=from_epoch_ns(int(ts[lo + start]), series.aware),
            window_end=from_epoch_ns(int(ts[lo + end]), series.aware),
        )
        for start, end in breach_runs(clear)
    ]


def _include_the_wait(mask: np.ndarray, alarms: np.ndarray, outside: np.ndarray) -> None:
    """Extend (in place) each run of ``mask`` that holds its breach's first alarm back to the
    breach's first point: the window shows the whole breach, not only its alarmed part."""
    for start, _ in breach_runs(mask):
        if start > 0 and alarms[start - 1]:
            continue  # the breach alarmed in an earlier run, which reported its start
        back = start
        while back > 0 and outside[back - 1]:
            back -= 1
        mask[back:start] = True


def worst_value(series: MetricSeries, lo: int, hi: int, limit: MetricLimit) -> float:
    """The value of ``lo:hi`` (exclusive) farthest beyond the limit."""
    window = series.values_array[lo:hi]
    beyond = np.zeros(window.shape)
    if limit.above is not None:
        beyond = np.maximum(beyond, window - limit.above)
    if limit.below is not None:
        beyond = np.maximum(beyond, limit.below - window)
    return float(window[int(np.nanargmax(beyond))])


def breach_note(series: MetricSeries, limit: MetricLimit, worst: float) -> str:
    """What an anomaly's text adds when it also breaks the limit: ``9.0 % breaks its limit
    (at most 5.0 %)``."""
    unit = series.metadata.get("unit")
    return f"{format_value(worst, unit)} breaks its limit ({limit.describe(unit)})"


def _raised(
    series: MetricSeries,
    result: AnomalyResult,
    limit: MetricLimit,
    breach_score: float,
    worst: float,
) -> AnomalyResult:
    note = breach_note(series, limit, worst)
    text = f"{result.explanation.rstrip('.')}; {note}" if result.explanation else None
    return dataclasses.replace(
        result,
        anomaly_score=max(result.anomaly_score, breach_score),
        explanation=text,
        engine_metadata={**result.engine_metadata, "limit": _limit_metadata(limit, worst)},
    )


def breach_result(
    series: MetricSeries, start: int, end: int, limit: MetricLimit, breach_score: float
) -> AnomalyResult:
    """The result of a breach of ``limit`` over points ``start`` to ``end`` (inclusive): a
    spike or dip when short, else a level shift, told with its worst value and duration."""
    worst = worst_value(series, start, end + 1, limit)
    high = limit.above is not None and worst > limit.above
    if end - start + 1 <= _SHORT_POINTS:
        kind = AnomalyKind.SPIKE if high else AnomalyKind.DIP
    else:
        kind = AnomalyKind.LEVEL_SHIFT
    ts = series.timestamps_ns
    unit = series.metadata.get("unit")
    seconds = (int(ts[end]) - int(ts[start])) / 1e9
    lasted = f" for {format_duration(seconds)}" if seconds > 0 else ""
    text = (
        f"{series.metric_name} on {series.node_id} {'rose' if high else 'fell'} to "
        f"{format_value(worst, unit)}{lasted}, beyond its limit ({limit.describe(unit)})"
    )
    return AnomalyResult(
        *series.key,
        window_start=from_epoch_ns(int(ts[start]), series.aware),
        window_end=from_epoch_ns(int(ts[end]), series.aware),
        anomaly_score=breach_score,
        anomaly_label=kind.label.value,
        magnitude=1.0,
        explanation=text,
        engine_metadata={"engine": "limit", "limit": _limit_metadata(limit, worst)},
        anomaly_kind=kind.value,
    )


def _limit_metadata(limit: MetricLimit, worst: float) -> dict[str, Any]:
    return {**limit.as_dict(), "worst": worst}


def _bound(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, "must be a number")
    if not math.isfinite(float(value)):
        raise ConfigError(name, value, "must be finite")
    return float(value)
