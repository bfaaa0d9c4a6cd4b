"""Keys in a stored anomaly's ``engine_metadata`` that say how it was told, and so whether
later runs may tell it again (:mod:`backend.detection.continuation`) or join a jump back
to it (:mod:`backend.detection.jump_back`)."""

from __future__ import annotations

__all__ = [
    "BACK_AT",
    "BACK_FROM",
    "BACK_TO",
    "JUMP_FROM",
    "KIND_FROM",
    "KIND_FROM_WINDOW",
    "LEVEL_HELD",
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
#: Where an excursion's own window ended before its jump back joined it (ISO time): later
#: runs tell it again from that window, not from the jump.
JUMP_FROM = "jump_from"
