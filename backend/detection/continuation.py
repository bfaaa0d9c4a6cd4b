"""Anomalies that go on across detection runs: one incident, one result.

A run scores only the points that arrived since the previous run, so an anomaly still going
on when a run ends would otherwise be cut into one result per run: an hour-long breach seen
by one-minute ticks became sixty results, each labelled from its own minute ("spike",
"trend", ...). Instead, a run's first anomaly that reaches back to its first new point
continues the stored anomaly of the same series that ended at the point before: the longer
result replaces the stored one (:meth:`StorageBackend.replace_anomaly_results`), scored by
the worse of the two, first detected when the stored one was, and told again over the whole
window, so the kind and the duration are read from everything seen so far.

>>> from datetime import datetime
>>> def at(minute: int) -> datetime:
...     return datetime(2024, 1, 1, 2, minute)
>>> earlier = AnomalyResult("t", "c", "n", "cpu", at(0), at(4), 0.9, "spike")
>>> later = AnomalyResult("t", "c", "n", "cpu", at(5), at(9), 0.7, "trend")
>>> joined = join(earlier, later)
>>> joined.window_start.minute, joined.window_end.minute, joined.anomaly_score
(0, 9, 0.9)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns
from backend.analytics.explain_signal import SHAPE_POINTS
from backend.analytics.explain_templates import format_duration, format_value
from backend.analytics.limits import MetricLimit, breach_note, breach_result, worst_value
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries
from backend.detection.describe import describe_excursion
from backend.detection.streaming.detector import STATISTIC_NAMES
from backend.detection.streaming.kinds import SLOW_KINDS
from backend.detection.told import (
    JUMP_FROM,
    KIND_FROM,
    KIND_FROM_WINDOW,
    LEVEL_HELD,
    READ_FROM,
    change_onset,
    excursion_end,
    level_held,
)
from backend.storage.interface import StorageBackend

__all__ = [
    "SETTLE_POINTS",
    "Retell",
    "as_result",
    "continue_stored",
    "held_level",
    "join",
    "join_adjacent",
    "retold",
    "settle",
    "stored_between",
    "window_indices",
]

#: Statistics that average hours to a day: their alarms are never spikes or dips.
_SLOW_STATISTICS = frozenset(STATISTIC_NAMES[stat] for stat in SLOW_KINDS)
#: Points before a window whose median is the level an excursion left (and came back to).
_BEFORE_POINTS = 10
#: The longest excursion told as a spike or dip (as the engine tells one it saw whole);
#: a longer one is a level shift that came back.
_EXCURSION_POINTS = 12
#: Back within this share of an excursion's height of the level before it: it came back.
_BACK = 0.25
#: Points after an anomaly's end during which later runs tell it again (:func:`settle`):
#: as far as the explanation classifier reads past a window to tell a step from a ramp.
SETTLE_POINTS = SHAPE_POINTS
#: Tells a joined result again over its whole window (kind and text); None keeps them.
Retell = Callable[[AnomalyResult], AnomalyResult | None]


def continue_stored(
    storage: StorageBackend,
    series: MetricSeries,
    first_new: int,
    results: Sequence[AnomalyResult],
    retell: Retell | None = None,
    keep_firing_ns: int = 0,
    gap_points: int = 0,
    stored: Sequence[AnomalyResult] | None = None,
) -> tuple[list[AnomalyResult], list[AnomalyResult]]:
    """``results`` (of ``series``' points from ``first_new`` on) with their first anomaly
    joined to the stored anomalies it continues, and the stored results that replaces.

    The first anomaly continues a stored one that ended at most ``gap_points`` points
    before it (an engine merges alarms that close within one run too), or, when both are
    breaches of a limit that keeps firing, up to ``keep_firing_ns`` before it. Nothing
    changes when no stored anomaly of the series ended there. ``stored``: the series'
    stored anomalies that end from ``since`` on, when the caller read them already (a run
    reads a batch's at once); else they are queried.
    """
    opening = _opening(results)
    if opening is None or first_new <= 0 or first_new >= series.length:
        return list(results), []
    ts = series.timestamps_ns
    start = int(np.searchsorted(ts, to_epoch_ns(opening.window_start), "left"))
    if start == 0:
        return list(results), []
    boundary_ns = int(ts[first_new - 1])
    grace_ns = keep_firing_ns if "limit" in opening.engine_metadata else 0
    adjacent_ns = int(ts[start - 1])
    # an engine's alarms merge across a few quiet points; a limit's breaches only while
    # the limit keeps firing
    near_ns = adjacent_ns if _breach_only(opening) else int(ts[max(start - 1 - gap_points, 0)])
    since_ns = min(near_ns, adjacent_ns - grace_ns)
    if since_ns > boundary_ns:
        return list(results), []
    candidates = (
        stored_between(storage, series, since_ns, boundary_ns)
        if stored is None
        else [r for r in stored if since_ns <= to_epoch_ns(r.window_end) <= boundary_ns]
    )
    earlier = [
        r
        for r in candidates
        if to_epoch_ns(r.window_end) >= (adjacent_ns if _breach_only(r) else near_ns)
        or "limit" in r.engine_metadata
    ]
    if not earlier:
        return list(results), []
    joined = opening
    for part in reversed(earlier):  # newest first: each reaches back further
        joined = join(part, joined)
    joined.engine_metadata["continued_from"] = earlier[0].window_start.isoformat()
    joined.engine_metadata["last_extended"] = opening.timestamp_detected.isoformat()
    if retell is not None:
        joined = retell(joined) or joined
    return [joined if r is opening else r for r in results], earlier


def stored_between(
    storage: StorageBackend, series: MetricSeries, since_ns: int, until_ns: int
) -> list[AnomalyResult]:
    """The stored anomalies of ``series`` that end from ``since_ns`` to ``until_ns``, oldest
    first (a run continues at most one; a reset's rescoring may have left more)."""
    rows = storage.query_anomalies(
        series.tenant_id,
        from_epoch_ns(since_ns, series.aware),
        from_epoch_ns(until_ns, series.aware),
        series.cluster_id,
        min_score=0.0,
        node_id=series.node_id,
        metric_name=series.metric_name,
    )
    found = [as_result(row) for row in rows]
    return [r for r in found if r.is_anomaly and since_ns <= to_epoch_ns(r.window_end) <= until_ns]


def join_adjacent(
    series: MetricSeries, results: Sequence[AnomalyResult], retell: Retell | None = None
) -> list[AnomalyResult]:
    """``results`` of one series, in time order, with anomalies that touch (the next starts
    at or before the point after the previous one ends) joined into one: an engine's alarm
    and the limit breach it runs into are one incident."""
    ts = series.timestamps_ns
    out: list[AnomalyResult] = []
    joined: set[int] = set()
    for result in sorted(results, key=lambda r: to_epoch_ns(r.window_start)):
        previous = out[-1] if out else None
        if previous is not None and previous.is_anomaly and result.is_anomaly:
            end = int(np.searchsorted(ts, to_epoch_ns(previous.window_end), "right")) - 1
            start = int(np.searchsorted(ts, to_epoch_ns(result.window_start), "left"))
            if start <= end + 1:
                out[-1] = join(previous, result)
                joined.add(len(out) - 1)
                continue
        out.append(result)
    if retell is not None:
        for i in joined:
            out[i] = retell(out[i]) or out[i]
    return out


def settle(
    series: MetricSeries,
    first_new: int,
    stored: Sequence[AnomalyResult],
    retell: Retell,
) -> list[tuple[AnomalyResult, AnomalyResult]]:
    """Stored anomalies of ``series`` that ended within :data:`SETTLE_POINTS` points before
    ``first_new``, told again now that points after them are in, as ``(stored, retold)``
    pairs where the kind or the text changed.

    When an anomaly is first reported, nothing after it is known: a spike's first minutes
    read like the start of a level shift or a drift. One run over the same points reads the
    points after each anomaly; so, once they arrive, do the runs after it.
    """
    if first_new <= 0:
        return []
    ts = series.timestamps_ns
    since_ns = int(ts[max(first_new - SETTLE_POINTS, 0)])
    boundary_ns = int(ts[first_new - 1])
    out = []
    for result in stored:
        end_ns = to_epoch_ns(result.window_end)
        if not (result.is_anomaly and int(ts[0]) <= end_ns <= boundary_ns):
            continue
        if result.engine_metadata.get(KIND_FROM) != KIND_FROM_WINDOW:
            continue  # a kind the engine decided from more than the window: it stands
        held = end_ns < since_ns  # settled, but its new level may have held until now
        if held and not held_level(result):
            continue
        again = retell(result)
        if again is None or (again.anomaly_kind, again.explanation) == (
            result.anomaly_kind,
            result.explanation,
        ):
            continue
        if held and again.anomaly_kind != result.anomaly_kind:
            continue  # past settling only how long the level held is told again
        out.append((result, again))
    return out


def held_level(result: AnomalyResult) -> bool:
    """A stored level shift told as still held ("has stayed there for ..."): runs tell it
    again, past :data:`SETTLE_POINTS`, until its level comes back or the points they read
    no longer reach it, so the text does not stay "has stayed there for 2 h" after the
    level came back at 3 h."""
    return (
        result.anomaly_kind == AnomalyKind.LEVEL_SHIFT.value
        and result.engine_metadata.get(LEVEL_HELD) is True
    )


def join(earlier: AnomalyResult, later: AnomalyResult) -> AnomalyResult:
    """One result for an anomaly reported in two parts: the whole window, the worse score,
    the later part's kind and text (until told again), first detected with the earlier."""
    magnitudes = [m for m in (earlier.magnitude, later.magnitude) if m is not None]
    metadata: dict[str, Any] = {**earlier.engine_metadata, **later.engine_metadata}
    start_ns = min(to_epoch_ns(earlier.window_start), to_epoch_ns(later.window_start))
    return dataclasses.replace(
        later,
        window_start=from_epoch_ns(start_ns, _aware(later)),
        anomaly_score=max(earlier.anomaly_score, later.anomaly_score),
        magnitude=max(magnitudes) if magnitudes else None,
        timestamp_detected=earlier.timestamp_detected,
        engine_metadata=metadata,
    )


def retold(
    series: MetricSeries, told: MetricSeries, rule: tuple[MetricLimit, float] | None
) -> Retell:
    """How a joined result of ``series`` is told again over its whole window.

    A breach of the metric's limit (``rule``) is told as a breach again, with its worst
    value and full duration; another anomaly is read again by the explanation classifier on
    ``told`` (the series as the engine modelled it: a counter as its rate), which keeps the
    limit's note when the anomaly also broke the limit. Missing data, and windows that start
    before the points the run read, keep the text of their latest part.
    """

    def retell(joined: AnomalyResult) -> AnomalyResult | None:
        span = window_indices(series, joined)
        if span is None or joined.anomaly_kind == AnomalyKind.MISSING_DATA.value:
            return None
        start, end = span
        limit = rule[0] if rule is not None and "limit" in joined.engine_metadata else None
        if limit is not None and joined.engine_metadata.get("engine") == "limit":
            again = breach_result(series, start, end, limit, joined.anomaly_score)
            return _told_as(joined, again.anomaly_kind, again.explanation, again.engine_metadata)
        # an excursion grown by its jump back is read from its own window (jump_back.py)
        own = JUMP_FROM in joined.engine_metadata or READ_FROM in joined.engine_metadata
        excursion = None if own else _excursion(told, start, end)
        kind: AnomalyKind | None
        text: str | None
        if excursion is not None:
            (kind, text), held, ended = excursion, False, _ends_and_onset(None)
        else:
            kind, text, held, ended = _classified(told, joined)
        if kind is None:
            return None
        slow = joined.engine_metadata.get("statistic") in _SLOW_STATISTICS
        if slow and kind in (AnomalyKind.SPIKE, AnomalyKind.DIP):
            return None  # what an hours-long statistic heard cannot be a spike (the engine's rule)
        if limit is not None and text:
            note = breach_note(series, limit, worst_value(series, start, end + 1, limit))
            text = f"{text.rstrip('.')}; {note}"
        source = KIND_FROM_WINDOW if excursion is None else "excursion"
        metadata = {KIND_FROM: source, LEVEL_HELD: held, **ended}
        return _told_as(joined, kind.value, text, metadata)

    return retell


def _classified(
    told: MetricSeries, joined: AnomalyResult
) -> tuple[AnomalyKind | None, str | None, bool, dict[str, Any]]:
    from backend.analytics.explain import ExplanationClassifier

    probe = joined
    jump_from = joined.engine_metadata.get(JUMP_FROM)
    if isinstance(jump_from, str):  # the excursion's own window, before its jump back
        end = datetime.fromisoformat(jump_from)
        if (end.tzinfo is None) == (joined.window_end.tzinfo is None):
            probe = dataclasses.replace(joined, window_end=max(end, joined.window_start))
    read_from = joined.engine_metadata.get(READ_FROM)
    if isinstance(read_from, str):  # the later alarm's window whose reading it took
        start = datetime.fromisoformat(read_from)
        if (start.tzinfo is None) == (joined.window_start.tzinfo is None):
            probe = dataclasses.replace(probe, window_start=min(start, probe.window_end))
    found = ExplanationClassifier().classify(told, probe)
    text = found.description or joined.explanation
    return found.anomaly_kind, text, level_held(found), _ends_and_onset(found)


def _ends_and_onset(found: Any) -> dict[str, Any]:
    """The metadata later runs join by: where an excursion ended, where a change began."""
    return {**excursion_end(found), **change_onset(found)}


def _excursion(told: MetricSeries, start: int, end: int) -> tuple[AnomalyKind, str] | None:
    """A window that ends where the series came back to its level before the window (the
    run that saw the jump back alarmed on it): a dip or spike that lasted the window, told
    as the engine tells one it saw whole, else None."""
    values = told.values_array
    if start < 1 or end - start < 2:
        return None
    before = float(np.nanmedian(values[max(0, start - _BEFORE_POINTS) : start]))
    away = values[start:end]
    up = float(np.nanmean(away)) > before
    extreme = float(np.nanmax(away) if up else np.nanmin(away))
    height = abs(extreme - before)
    if not np.isfinite(height) or height == 0 or abs(values[end] - before) > _BACK * height:
        return None
    seconds = (int(told.timestamps_ns[end]) - int(told.timestamps_ns[start])) / 1e9
    unit = told.metadata.get("unit")
    if end - start <= _EXCURSION_POINTS:
        text = describe_excursion(told.metric_name, told.node_id, not up, extreme, before,
                                  seconds, unit)  # fmt: skip
        return (AnomalyKind.SPIKE if up else AnomalyKind.DIP), text
    text = (
        f"{told.metric_name} on {told.node_id} shifted {'up' if up else 'down'} to "
        f"{format_value(extreme, unit)} from about {format_value(before, unit)} for "
        f"{format_duration(seconds)} and came back"
    )
    return AnomalyKind.LEVEL_SHIFT, text


def _told_as(
    joined: AnomalyResult, kind: str | None, text: str | None, metadata: dict[str, Any]
) -> AnomalyResult:
    label = AnomalyKind(kind).label.value if kind else joined.anomaly_label
    return dataclasses.replace(
        joined,
        anomaly_kind=kind,
        anomaly_label=label,
        explanation=text,
        engine_metadata={**joined.engine_metadata, **metadata},
    )


def _breach_only(result: AnomalyResult) -> bool:
    """A limit's breach that no engine alarm covers."""
    return result.engine_metadata.get("engine") == "limit"


def _opening(results: Sequence[AnomalyResult]) -> AnomalyResult | None:
    """The first anomaly among ``results``, or None."""
    anomalies = [r for r in results if r.is_anomaly]
    return min(anomalies, key=lambda r: to_epoch_ns(r.window_start)) if anomalies else None


def as_result(row: dict[str, Any]) -> AnomalyResult:
    """A stored result (a row of :meth:`StorageBackend.query_anomalies`) as a result."""
    return AnomalyResult(**{name: value for name, value in row.items() if name != "id"})


def _aware(result: AnomalyResult) -> bool:
    return result.window_start.tzinfo is not None


def window_indices(series: MetricSeries, result: AnomalyResult) -> tuple[int, int] | None:
    """Inclusive indices of ``result``'s window in ``series``, or None when it starts before
    the series does (an anomaly older than the points a run read)."""
    ts = series.timestamps_ns
    start = int(np.searchsorted(ts, to_epoch_ns(result.window_start), "left"))
    end = int(np.searchsorted(ts, to_epoch_ns(result.window_end), "right")) - 1
    if start >= ts.shape[0] or int(ts[start]) != to_epoch_ns(result.window_start) or end < start:
        return None
    return start, end
