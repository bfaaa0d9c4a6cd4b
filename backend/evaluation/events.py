"""Event-level metrics: did an alarm fire during each labelled anomaly, how late, and how many
alarms fired where nothing was labelled.

An *alarm* is a run of consecutive points scoring at or above the threshold (runs a few
points apart are one alarm). A labelled event is *detected* when an alarm starts or is
active inside its window, extended by ``tolerance`` points after it; the delay is from the
window start to the first alarming point. Alarms touching no (extended) window are false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from backend.detection.streaming.runs import anomalous_runs

__all__ = ["EventCounts", "EventMetrics", "count_events", "summarise_events"]

NORMAL_POINTS_UNIT = 10_000


@dataclass(frozen=True)
class EventCounts:
    """Raw counts for one or many series (they add up)."""

    events: int = 0
    detected: int = 0
    alarms: int = 0
    false_alarms: int = 0
    normal_points: int = 0
    delay_points_sum: float = 0.0
    delay_seconds_sum: float = 0.0

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            *(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True))
        )


@dataclass(frozen=True)
class EventMetrics:
    """Precision, recall and F1 over events, mean detection delay and false-alarm rate."""

    threshold: float
    events: int
    detected: int
    alarms: int
    false_alarms: int
    precision: float
    recall: float
    f1: float
    mean_delay_points: float
    mean_delay_seconds: float
    false_alarms_per_10k: float


def count_events(
    scores: np.ndarray,
    windows: Sequence[tuple[int, int]],
    threshold: float,
    timestamps_ns: np.ndarray | None = None,
    tolerance: int = 0,
    merge_gap: int = 3,
    skip: int = 0,
) -> EventCounts:
    """Counts for one series; ``skip`` leading points (warm-up/probation) are ignored.

    >>> s = np.zeros(100); s[42] = 0.9; s[80] = 0.7
    >>> c = count_events(s, [(40, 50)], 0.5)
    >>> (c.events, c.detected, c.alarms, c.false_alarms, c.delay_points_sum)
    (1, 1, 2, 1, 2.0)
    """
    scores = np.asarray(scores, dtype=np.float64)
    runs = [(a, b) for a, b in anomalous_runs(scores, threshold, merge_gap) if b >= skip]
    windows = [(a, b) for a, b in windows if b >= skip]
    extended = [(a, min(b + tolerance, scores.size - 1)) for a, b in windows]
    hot = scores >= threshold
    detected, delay_pts, delay_s = 0, 0.0, 0.0
    for (start, _), (_, stop) in zip(windows, extended, strict=True):
        hits = np.flatnonzero(hot[start : stop + 1])
        if hits.size:
            detected += 1
            delay_pts += float(hits[0])
            if timestamps_ns is not None:
                delay_s += (timestamps_ns[start + hits[0]] - timestamps_ns[start]) / 1e9
    false = sum(1 for a, b in runs if not any(a <= e and b >= s for s, e in extended))
    labelled = np.zeros(scores.size, dtype=bool)
    for s, e in extended:
        labelled[s : e + 1] = True
    labelled[:skip] = True
    return EventCounts(
        len(windows), detected, len(runs), false, int((~labelled).sum()), delay_pts, delay_s
    )


def summarise_events(counts: EventCounts, threshold: float) -> EventMetrics:
    """Turn summed counts into rates.

    >>> m = summarise_events(EventCounts(10, 9, 12, 2, 20_000, 18.0, 1080.0), 0.5)
    >>> round(m.precision, 3), m.recall, round(m.f1, 3), m.mean_delay_points
    (0.833, 0.9, 0.865, 2.0)
    >>> m.false_alarms_per_10k
    1.0
    """
    true_alarms = counts.alarms - counts.false_alarms
    precision = true_alarms / counts.alarms if counts.alarms else 1.0
    recall = counts.detected / counts.events if counts.events else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per = counts.detected or 1
    rate = counts.false_alarms * NORMAL_POINTS_UNIT / max(counts.normal_points, 1)
    return EventMetrics(
        threshold,
        counts.events,
        counts.detected,
        counts.alarms,
        counts.false_alarms,
        precision,
        recall,
        f1,
        counts.delay_points_sum / per,
        counts.delay_seconds_sum / per,
        rate,
    )
