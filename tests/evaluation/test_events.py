from __future__ import annotations

import numpy as np

from backend.evaluation.events import EventCounts, count_events, summarise_events


def test_count_events_late_detection_within_tolerance() -> None:
    scores = np.zeros(200)
    scores[115] = 0.9
    assert count_events(scores, [(100, 110)], 0.5).detected == 0
    assert count_events(scores, [(100, 110)], 0.5, tolerance=5).detected == 1


def test_count_events_skip_ignores_probation() -> None:
    scores = np.zeros(200)
    scores[5] = 0.9
    assert count_events(scores, [], 0.5, skip=10).false_alarms == 0
    assert count_events(scores, [], 0.5).false_alarms == 1


def test_count_events_delay_in_seconds() -> None:
    scores = np.zeros(50)
    scores[23] = 1.0
    ts = np.arange(50, dtype=np.int64) * 60 * 10**9
    counts = count_events(scores, [(20, 30)], 0.5, ts)
    assert counts.delay_seconds_sum == 180.0


def test_event_counts_add_and_summarise() -> None:
    total = EventCounts(1, 1, 1, 0, 100) + EventCounts(1, 0, 2, 2, 100)
    metrics = summarise_events(total, 0.5)
    assert (metrics.recall, metrics.precision) == (0.5, 1 / 3)
    assert metrics.false_alarms_per_10k == 100.0
