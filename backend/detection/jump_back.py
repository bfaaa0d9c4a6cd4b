"""The jump back at the end of an excursion is part of it: one incident, one result.

A plateau of hours (an outage that cut traffic, a deploy that lifted CPU) alarms twice: when
the series leaves its level and when it comes back. Told alone, the second alarm reads as a
new change ("shifted up from 237.7 requests/s to 724.3 requests/s … and has stayed there"),
although the series only went back to where it always was. Once the first alarm is told as
an excursion that ended (a spike or dip, or a level shift that came back), the alarm that
starts where it ended is its jump back: the first result's window grows to cover it, and the
second is no result of its own.

>>> from datetime import datetime
>>> def at(hour: int, minute: int = 0) -> datetime:
...     return datetime(2024, 1, 1, hour, minute)
>>> shift = AnomalyResult("t", "c", "n", "rps", at(10), at(10, 6), 0.9, "trend",
...     engine_metadata={BACK_AT: at(11, 59).isoformat(), BACK_TO: 700.0, BACK_FROM: 230.0})
>>> back = AnomalyResult("t", "c", "n", "rps", at(12), at(12), 0.8, "trend",
...                      engine_metadata={"modelled": 690.0})
>>> grown, gone = absorb_jumps_back([shift, back], tolerance_ns=5 * 60 * 10**9)
>>> (grown.window_start.hour, grown.window_end.hour), gone
((10, 12), None)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns
from backend.analytics.types import AnomalyResult
from backend.detection.told import (
    BACK_AT,
    BACK_FROM,
    BACK_TO,
    JUMP_FROM,
    LEVEL_HELD,
    ONSET,
    READ_FROM,
)

__all__ = ["absorb_jumps_back"]
#: Statistics that average hours: their alarm just after an excursion is its echo.
_ECHOES = frozenset({"slow_swing", "slow_volatility"})
#: The short volatility averages a few points: its alarm just after a jump is the jump's.
_SHORT_ECHOES = frozenset({"volatility"})


def absorb_jumps_back(
    results: Sequence[AnomalyResult],
    tolerance_ns: int,
    echo_ns: int = 0,
    short_echo_ns: int = 0,
) -> list[AnomalyResult | None]:
    """``results`` of one series with each jump back joined to the excursion it ends, aligned
    with ``results``: None where a result was absorbed, the grown result where one absorbed
    another, else the result itself.

    An anomaly whose window starts after an earlier anomaly's :data:`BACK_AT` point, within
    ``tolerance_ns`` of it, and whose value lands nearer the level the excursion left than
    half way to where it went (an overshoot far beyond is an anomaly of its own), is that
    excursion's jump back: the earlier result's window grows to its end and keeps the worse
    score; its kind, text and first detection stand. An alarm inside the excursion (before
    its last point) is part of it too. An alarm of an hours-long statistic
    (the level swing, the slow volatility) within ``echo_ns`` after the excursion ended is
    its echo (those statistics average the excursion's hours) and joins it the same way;
    so does an alarm of the short volatility within ``short_echo_ns`` (the points it
    averages) after the excursion's last point.

    A later level shift or drift told from an onset (:data:`ONSET`) no later than the end of
    an earlier anomaly of the same kind (a level shift still held, or a drift the later one
    saw fall back) tells the same change, read with more points (a
    leak told again when its restart alarmed, a shift that "has stayed there" for days): it
    joins the earlier one, whose window grows to its end, told as the later one tells it.

    Normal windows pass through unchanged.
    """
    merged: list[AnomalyResult | None] = list(results)
    order = sorted(range(len(results)), key=lambda i: to_epoch_ns(results[i].window_start))
    seen: list[int] = []
    for j in order:
        result = results[j]
        joins = _joins(merged, seen, result, (tolerance_ns, echo_ns, short_echo_ns))
        if joins is None:
            seen.append(j)
            continue
        host, join = joins
        hosting = merged[host]
        assert hosting is not None  # only kept results host
        merged[host] = join(hosting, result)
        merged[j] = None
    return merged


_Join = Callable[[AnomalyResult, AnomalyResult], AnomalyResult]


def _joins(
    merged: list[AnomalyResult | None],
    seen: list[int],
    result: AnomalyResult,
    spans: tuple[int, int, int],
) -> tuple[int, _Join] | None:
    """The earlier result ``result`` joins and how (as its jump back or echo, or as the
    same change told again), or None."""
    if not result.is_anomaly:
        return None
    host = _host(merged, seen, result, *spans)
    if host is not None:
        return host, _grown
    same = _same_change(merged, seen, result)
    return None if same is None else (same, _retold)


def _same_change(
    merged: list[AnomalyResult | None], seen: list[int], result: AnomalyResult
) -> int | None:
    """The earlier anomaly of the same kind that ``result``'s change began within."""
    onset = result.engine_metadata.get(ONSET)
    if not isinstance(onset, str) or result.anomaly_kind is None:
        return None
    began = to_epoch_ns(datetime.fromisoformat(onset))
    start = to_epoch_ns(result.window_start)
    for i in reversed(seen):
        earlier = merged[i]
        if earlier is None or not earlier.is_anomaly:
            continue
        end = to_epoch_ns(earlier.window_end)
        if _retells(earlier, result) and began <= end < start:
            return i
    return None


def _retells(earlier: AnomalyResult, later: AnomalyResult) -> bool:
    """Whether ``later`` may tell ``earlier``'s change again: a level shift still held told
    as the same shift, or a drift told to where it fell back. (A first reading of other
    changes is too often revised once more points arrive to join on.)"""
    if earlier.anomaly_kind != later.anomaly_kind:
        return False
    if later.anomaly_kind == "level_shift":
        return earlier.engine_metadata.get(LEVEL_HELD) is True
    return later.anomaly_kind == "drift" and isinstance(later.engine_metadata.get(BACK_AT), str)


def _retold(earlier: AnomalyResult, later: AnomalyResult) -> AnomalyResult:
    """``earlier`` grown to ``later``'s end and told as ``later`` tells the change: read
    with more points ("has stayed there for 8 d", a leak read up to its restart)."""
    return dataclasses.replace(
        _grown(earlier, later),
        explanation=later.explanation or earlier.explanation,
        engine_metadata={
            **earlier.engine_metadata,
            **later.engine_metadata,
            READ_FROM: later.engine_metadata.get(READ_FROM) or later.window_start.isoformat(),
        },
    )


def _host(
    merged: list[AnomalyResult | None],
    seen: list[int],
    result: AnomalyResult,
    tolerance_ns: int,
    echo_ns: int = 0,
    short_echo_ns: int = 0,
) -> int | None:
    start = to_epoch_ns(result.window_start)
    for i in reversed(seen):
        earlier = merged[i]
        if earlier is None or not earlier.is_anomaly:
            continue
        mark = earlier.engine_metadata.get(BACK_AT)
        if not isinstance(mark, str):
            continue
        end = to_epoch_ns(datetime.fromisoformat(mark))
        if to_epoch_ns(earlier.window_end) >= start:
            continue
        if start <= end:  # inside the excursion the earlier result tells
            return i
        statistic = result.engine_metadata.get("statistic")
        if statistic in _ECHOES and start <= end + echo_ns:
            return i
        if statistic in _SHORT_ECHOES and start <= end + short_echo_ns:
            return i
        if start > end + tolerance_ns:
            continue
        return i if _lands_back(earlier.engine_metadata, result.engine_metadata) else None
    return None


def _lands_back(excursion: dict[str, Any], jump: dict[str, Any]) -> bool:
    """Whether the jump's value (the engine's modelled value at its peak) lies nearer the
    level the excursion left than half way to the level it went to."""
    numbers = [excursion.get(BACK_TO), excursion.get(BACK_FROM), jump.get("modelled")]
    finite = [float(x) for x in numbers if isinstance(x, int | float) and math.isfinite(x)]
    if len(finite) < len(numbers):
        return False
    to, away, value = finite
    return abs(value - to) <= 0.5 * abs(away - to)


def _grown(excursion: AnomalyResult, jump: AnomalyResult) -> AnomalyResult:
    magnitudes = [m for m in (excursion.magnitude, jump.magnitude) if m is not None]
    aware = excursion.window_start.tzinfo is not None
    return dataclasses.replace(
        excursion,
        window_end=from_epoch_ns(to_epoch_ns(jump.window_end), aware),
        anomaly_score=max(excursion.anomaly_score, jump.anomaly_score),
        magnitude=max(magnitudes) if magnitudes else None,
        # later runs tell it again from its own window, which the jump back does not change
        engine_metadata={
            **excursion.engine_metadata,
            JUMP_FROM: excursion.engine_metadata.get(JUMP_FROM) or excursion.window_end.isoformat(),
            LEVEL_HELD: False,
        },
    )
