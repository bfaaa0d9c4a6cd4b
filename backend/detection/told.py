"""Keys in a stored anomaly's ``engine_metadata`` that say how it was told, and so whether
later runs may tell it again (:mod:`backend.detection.continuation`) or join a jump back
to it (:mod:`backend.detection.jump_back`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.analytics.types import AnomalyKind

__all__ = [
    "BACK_AT",
    "BACK_FROM",
    "BACK_TO",
    "JUMP_FROM",
    "KIND_FROM",
    "KIND_FROM_WINDOW",
    "LEVEL_HELD",
    "ONSET",
    "READ_FROM",
    "change_onset",
    "excursion_end",
    "level_held",
]

#: Where a result's kind came from ...
KIND_FROM = "kind_from"
#: ... the explanation classifier, reading the result's own window: later runs that have
#: seen the points after it may read it again (``settle``);
KIND_FROM_WINDOW = "classifier"
#: True for a level shift told as still held at the last point read ("has stayed there for
#: ..."), which later runs tell again until it comes back.
LEVEL_HELD = "level_held"
#: The last point of an excursion that ended (ISO time), where the alarm on its jump back
#: starts.
BACK_AT = "back_at"
#: The level the excursion left and came back to, and the level it went to: a jump back
#: lands near the first (:mod:`backend.detection.jump_back`).
BACK_TO = "back_to"
BACK_FROM = "back_from"
#: Where the level shift or drift a result tells began (ISO time): a later alarm that
#: tells the same change from as early joins it (:mod:`backend.detection.jump_back`).
ONSET = "onset"
#: Where the later alarm whose reading a result took (it told the same change) began (ISO
#: time): later runs tell the result again from there, not from the grown window.
READ_FROM = "read_from"
#: Where an excursion's own window ended before its jump back joined it (ISO time): later
#: runs tell it again from that window, not from the jump.
JUMP_FROM = "jump_from"

_EXCURSIONS = (AnomalyKind.SPIKE, AnomalyKind.DIP)


def level_held(explanation: Any) -> bool:
    """Whether the classifier's ``explanation`` is a level shift that had not come back by
    the last point it read."""
    kind = getattr(explanation, "anomaly_kind", None)
    context = getattr(explanation, "additional_context", None) or {}
    return kind is AnomalyKind.LEVEL_SHIFT and not context.get("returned", False)


def excursion_end(explanation: Any) -> dict[str, Any]:
    """Where the excursion ``explanation`` tells ended, when it ended inside the points read
    (a spike or dip, a level shift that came back, a drift that fell back): its last point
    (:data:`BACK_AT`), the level it left (:data:`BACK_TO`) and the level it went to
    (:data:`BACK_FROM`); None each otherwise, so a result told again loses what no longer
    holds."""
    kind = getattr(explanation, "anomaly_kind", None)
    context = getattr(explanation, "additional_context", None) or {}
    ended = kind in _EXCURSIONS or (
        kind in (AnomalyKind.LEVEL_SHIFT, AnomalyKind.DRIFT) and bool(context.get("returned"))
    )
    end = context.get("end")
    if not (ended and isinstance(end, datetime)):
        return {BACK_AT: None, BACK_TO: None, BACK_FROM: None}
    return {
        BACK_AT: end.isoformat(),
        BACK_TO: getattr(explanation, "baseline_value", None),
        BACK_FROM: getattr(explanation, "observed_value", None),
    }


def change_onset(explanation: Any) -> dict[str, Any]:
    """:data:`ONSET` of the level shift or drift ``explanation`` tells (None for other
    kinds, so a result told again as something else loses it)."""
    kind = getattr(explanation, "anomaly_kind", None)
    context = getattr(explanation, "additional_context", None) or {}
    start = context.get("start")
    changes = (AnomalyKind.LEVEL_SHIFT, AnomalyKind.DRIFT)
    return {ONSET: start.isoformat() if kind in changes and isinstance(start, datetime) else None}
