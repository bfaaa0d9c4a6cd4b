"""Anomalies that go on across detection runs are stored as one result, told over their
whole window (backend.detection.continuation and the runner that uses it)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries, SeriesKey
from backend.detection.continuation import (
    SETTLE_POINTS,
    continue_stored,
    join,
    join_adjacent,
    retold,
    settle,
)
from backend.detection.multivariate_engine import MultivariateNodeEngine
from backend.detection.runner import IncrementalDetector
from backend.storage import InMemoryStorage, StorageBackend, open_storage

MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9
T0 = datetime(2024, 1, 1)
KEY = SeriesKey("t1", "c1", "n1", "error_rate")
LIMITED = DetectionConfig(metric_limits={"error_rate": {"above": 5.0}})


@pytest.fixture
def storage(tmp_path: Path) -> StorageBackend:
    return open_storage(f"sqlite:///{tmp_path / 'continuation.db'}")


def _series(n: int) -> MetricSeries:
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    return MetricSeries.from_arrays(KEY, ts, np.full(n, 2.0))


def _result(first: int, last: int, score: float = 0.9, kind: str = "spike") -> AnomalyResult:
    label = "normal" if kind == "normal" else AnomalyKind(kind).label.value
    return AnomalyResult(*KEY, T0 + timedelta(minutes=first), T0 + timedelta(minutes=last),
                         score, label, anomaly_kind=None if kind == "normal" else kind)  # fmt: skip


def _minutes(rows: list[dict]) -> list[tuple[int, int]]:
    return [
        (int((r["window_start"] - T0).total_seconds()) // 60,
         int((r["window_end"] - T0).total_seconds()) // 60)
        for r in rows
        if r["anomaly_label"] != "normal"
    ]  # fmt: skip


def _tick(storage: StorageBackend, values: np.ndarray, first: int, last: int) -> None:
    ts = START_NS + np.arange(first, last, dtype=np.int64) * MINUTE_NS
    storage.store_metrics([MetricSeries.from_arrays(KEY, ts, values[first:last],
                                                    metadata={"unit": "percent"})])  # fmt: skip


def _run_in_ticks(
    storage: StorageBackend, values: np.ndarray, history: int, tick: int, **kwargs: object
) -> list[int]:
    """Store ``history`` points and detect, then the rest ``tick`` points at a time with a
    run after each; the number of anomalies each run reported."""
    detector = IncrementalDetector(storage, fleet_calibration=False, **kwargs)  # type: ignore[arg-type]
    _tick(storage, values, 0, history)
    detector.run("t1")
    found = []
    for first in range(history, values.shape[0], tick):
        _tick(storage, values, first, min(first + tick, values.shape[0]))
        found.append(len(detector.run("t1").anomalies))
    return found


# --- the pieces ------------------------------------------------------------------------------
def test_join_keeps_the_whole_window_the_worse_score_and_the_first_detection() -> None:
    earlier = _result(0, 4, 0.95)
    later = _result(5, 9, 0.7, "level_shift")
    joined = join(earlier, later)
    assert (joined.window_start, joined.window_end) == (earlier.window_start, later.window_end)
    assert joined.anomaly_score == 0.95 and joined.anomaly_kind == "level_shift"
    assert joined.timestamp_detected == earlier.timestamp_detected


def test_join_adjacent_joins_touching_anomalies_only() -> None:
    series = _series(30)
    results = [_result(0, 3), _result(4, 6), _result(7, 9, 0.1, "normal"), _result(10, 12),
               _result(14, 15)]  # fmt: skip
    joined = join_adjacent(series, results)
    spans = [(r.window_start.minute, r.window_end.minute, r.is_anomaly) for r in joined]
    assert spans == [(0, 6, True), (7, 9, False), (10, 12, True), (14, 15, True)]


def test_continue_stored_joins_the_anomaly_that_ended_at_the_point_before() -> None:
    storage = InMemoryStorage()
    series = _series(30)
    storage.store_anomaly_results("t1", [_result(2, 9), _result(12, 19, 0.2, "normal")])
    # the previous run ended at minute 19 with a normal window: nothing to continue
    results, superseded = continue_stored(storage, series, 20, [_result(20, 25)])
    assert superseded == [] and _minutes([vars(r) for r in results]) == [(20, 25)]
    storage.store_anomaly_results("t1", [_result(12, 19)])
    results, superseded = continue_stored(storage, series, 20, [_result(20, 25, 0.6)])
    assert [(r.window_start.minute, r.window_end.minute) for r in superseded] == [(12, 19)]
    (joined,) = results
    assert (joined.window_start.minute, joined.window_end.minute) == (12, 25)
    assert joined.anomaly_score == 0.9 and "continued_from" in joined.engine_metadata


def test_continue_stored_closes_a_gap_as_short_as_the_engine_merges() -> None:
    storage = InMemoryStorage()
    storage.store_anomaly_results("t1", [_result(12, 17)])
    # two quiet points (18, 19) before the first new one: one incident for an engine that
    # merges alarms at most 3 points apart, two for one that merges none
    results, superseded = continue_stored(storage, _series(30), 20, [_result(20, 25)])
    assert superseded == [] and results[0].window_start.minute == 20
    results, superseded = continue_stored(storage, _series(30), 20, [_result(20, 25)],
                                          gap_points=3)  # fmt: skip
    assert len(superseded) == 1 and results[0].window_start.minute == 12
    results, superseded = continue_stored(storage, _series(30), 20, [_result(22, 25)],
                                          gap_points=3)  # fmt: skip
    assert superseded == []  # four quiet points: another incident


def test_continue_stored_leaves_an_anomaly_that_starts_later_alone() -> None:
    storage = InMemoryStorage()
    storage.store_anomaly_results("t1", [_result(12, 19)])
    results, superseded = continue_stored(storage, _series(30), 20, [_result(21, 25)])
    assert superseded == []
    assert (results[0].window_start.minute, results[0].window_end.minute) == (21, 25)


# --- through the runner -----------------------------------------------------------------------
def test_a_breach_seen_by_many_runs_is_stored_as_one_result(storage: StorageBackend) -> None:
    values = 2.0 + np.random.default_rng(3).normal(0.0, 0.2, 3100)
    values[3000:3060] = 9.0 + np.random.default_rng(4).normal(0.0, 0.1, 60)  # an hour above 5 %
    per_run = _run_in_ticks(storage, values, 2990, 5, config=LIMITED)
    assert sum(per_run) >= 12  # every run during the breach reported it ...
    rows = storage.query_anomalies("t1", min_score=0.0)
    assert _minutes(rows) == [(3000, 3060)]  # ... as one result: the breach and its end
    (row,) = [r for r in rows if r["anomaly_label"] != "normal"]
    assert row["anomaly_kind"] == "level_shift"
    assert "shifted up to 9." in row["explanation"]
    assert "for 1 h and came back" in row["explanation"]
    assert "limit (at most 5.0 %)" in row["explanation"]
    assert row["engine_metadata"]["continued_from"].startswith("2024-01-03T02:00")


def test_a_limit_breach_alone_is_told_with_its_whole_duration(storage: StorageBackend) -> None:
    values = 7.0 + np.random.default_rng(5).normal(0.0, 0.3, 3000)  # has always run hot
    values[2000:] = 2.0 + np.random.default_rng(6).normal(0.0, 0.1, 1000)
    values[2950:2990] = 8.0  # 40 min back over the limit, seen by 10-minute runs
    _run_in_ticks(storage, values, 2900, 10, config=LIMITED)
    rows = storage.query_anomalies("t1", start_time=T0 + timedelta(minutes=2900))
    # the breach and the jump back that ends it, one result
    assert _minutes(rows) == [(2950, 2990)]
    (breach,) = rows
    assert breach["explanation"].startswith("error_rate on n1 shifted up to 8.0 % from about")
    assert (
        "for 40 min and came back; 8.0 % breaks its limit (at most 5.0 %)"
        in (breach["explanation"])
    )


def test_runs_of_a_stateless_engine_continue_an_anomaly_too(storage: StorageBackend) -> None:
    values = 7.0 + np.random.default_rng(7).normal(0.0, 0.3, 600)  # always above the limit
    engine = MultivariateNodeEngine({"window_size": 50, "emit_normal": False})
    _run_in_ticks(storage, values, 400, 50, config=LIMITED, engine=engine)
    assert _minutes(storage.query_anomalies("t1", min_score=0.0)) == [(0, 599)]


def test_while_a_breach_goes_on_its_result_says_how_long_so_far(storage: StorageBackend) -> None:
    values = 2.0 + np.random.default_rng(8).normal(0.0, 0.2, 3100)
    values[3000:] = 9.0 + np.random.default_rng(9).normal(0.0, 0.1, 100)  # not over yet
    _run_in_ticks(storage, values, 2990, 5, config=LIMITED)
    (row,) = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    assert _minutes([row]) == [(3000, 3099)]
    assert row["anomaly_kind"] == "level_shift"
    assert "for 1 h 39 min, beyond its limit (at most 5.0 %)" in row["explanation"]


def test_a_short_breach_seen_by_two_runs_is_one_result(storage: StorageBackend) -> None:
    values = 2.0 + np.random.default_rng(10).normal(0.0, 0.2, 3020)
    values[3000:3006] = 9.0  # six minutes up, split by a run after the third
    assert _run_in_ticks(storage, values, 3000, 3, config=LIMITED)[:2] == [1, 1]
    (row,) = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    assert _minutes([row]) == [(3000, 3005)]
    assert "rose to 9.0 % for 5 min, beyond its limit" in row["explanation"]


def test_an_anomaly_that_came_back_is_told_as_the_excursion_it_was() -> None:
    values = np.full(60, 40.0)
    values[30:36] = 12.0  # six minutes down, then back
    ts = START_NS + np.arange(60, dtype=np.int64) * MINUTE_NS
    series = MetricSeries.from_arrays(KEY, ts, values, metadata={"unit": "percent"})
    joined = _result(30, 36, 0.8, "level_shift")  # the dip and the jump back that alarmed
    told = retold(series, series, None)(joined)
    assert told is not None and told.anomaly_kind == "dip" and told.anomaly_label == "spike"
    assert told.explanation == (
        "error_rate on n1 dipped to 12.0 % from about 40.0 % for 6 min and came back"
    )
    twenty = values.copy()
    twenty[30:50] = 12.0  # twenty minutes: a shift that came back
    shifted = series.with_arrays(ts, twenty)
    longer = retold(shifted, shifted, None)(_result(30, 50, 0.8))
    assert longer is not None and longer.anomaly_kind == "level_shift"
    assert "shifted down to 12.0 % from about 40.0 % for 20 min and came back" in (
        longer.explanation or ""
    )


def test_a_limit_that_keeps_firing_stores_a_flapping_breach_once(tmp_path: Path) -> None:
    values = 2.0 + np.random.default_rng(11).normal(0.0, 0.2, 3040)
    values[3000:3030:3] = 9.0  # over the limit one minute in three, for half an hour
    counted = {}
    for keep in (0, 300):
        config = DetectionConfig(
            metric_limits={"error_rate": {"above": 5.0, "keep_firing_seconds": keep}}
        )
        storage = open_storage(f"sqlite:///{tmp_path / f'keep{keep}.db'}")
        _run_in_ticks(storage, values, 2990, 4, config=config)
        breaches = [r for r in storage.query_anomalies("t1", min_score=0.0)
                    if r["anomaly_kind"] and "limit" in r["engine_metadata"]]  # fmt: skip
        counted[keep] = _minutes(breaches)
    assert len(counted[0]) >= 8  # one result per crossing (some joined to an engine alarm)
    assert counted[300] == [(3000, 3027)]


def test_settle_tells_again_only_what_ended_lately_and_changed() -> None:
    series = _series(400)
    read_alone = {"kind_from": "classifier"}  # the classifier read the window by itself
    now = 300
    old = now - SETTLE_POINTS - 5
    stored = [
        dataclasses.replace(_result(old - 3, old), engine_metadata=read_alone),
        dataclasses.replace(_result(260, 262), engine_metadata=read_alone),
        dataclasses.replace(_result(270, 271, 0.9, "level_shift"), engine_metadata=read_alone),
        _result(280, 282, 0.9, "level_shift"),  # the engine's own kind (e.g. an excursion)
    ]

    def retell(result: AnomalyResult) -> AnomalyResult:
        return dataclasses.replace(result, anomaly_kind="spike", anomaly_label="spike")

    pairs = settle(series, now, stored, retell)
    # too old, already a spike, and the engine's own kind are left alone
    assert [(old.window_start, new.anomaly_kind) for old, new in pairs] == [
        (T0 + timedelta(minutes=270), "spike")
    ]


def test_settle_tells_a_held_level_again_past_settling_but_keeps_its_kind() -> None:
    series = _series(400)
    now = 390
    old = now - SETTLE_POINTS - 5
    held = {"kind_from": "classifier", "level_held": True}
    came_back = {"kind_from": "classifier", "level_held": False}
    stored = [
        dataclasses.replace(_result(old, old, 0.9, "level_shift"), engine_metadata=held),
        dataclasses.replace(
            _result(old + 1, old + 1, 0.9, "level_shift"), engine_metadata=came_back
        ),
        dataclasses.replace(_result(old + 2, old + 2, 0.9, "spike"), engine_metadata=held),
    ]

    def retell(result: AnomalyResult) -> AnomalyResult:
        return dataclasses.replace(result, explanation="... and came back after 3 h")

    pairs = settle(series, now, stored, retell)
    # only the level still held is told again; a level that came back, or a kind that is
    # no level shift, were settled for good
    assert [(o.window_start, n.explanation) for o, n in pairs] == [
        (T0 + timedelta(minutes=old), "... and came back after 3 h")
    ]

    def another_kind(result: AnomalyResult) -> AnomalyResult:
        return dataclasses.replace(result, anomaly_kind="drift", anomaly_label="trend")

    assert settle(series, now, stored[:1], another_kind) == []  # past settling, kinds stand


def test_a_level_that_held_for_hours_then_came_back_says_so_once_runs_have_seen_it(
    storage: StorageBackend,
) -> None:
    """A deploy that lifted CPU by 15 for three hours: the first runs can only say the new
    level "has stayed there"; runs after the return, past settling, say it came back."""
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    n, start = 3 * 1440, 2 * 1440 + 100
    values = 50.0 + np.random.default_rng(1).normal(0.0, 2.0, n)
    values[start : start + 180] += 15.0
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    detector = IncrementalDetector(storage, fleet_calibration=False)
    cuts = [0, 2 * 1440, *range(2 * 1440 + 5, n, 5), n]
    told = []
    for a, b in itertools.pairwise(cuts):
        storage.store_metrics([MetricSeries.from_arrays(key, ts[a:b], values[a:b])])
        told += [r.explanation for r in detector.run("t1").anomalies if r.explanation]
    assert any("has stayed there" in text for text in told)  # what the first runs could say
    rows = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    onset = [r for r in rows if _minutes([r])[0][0] in range(start, start + 10)]
    assert onset and all(r["anomaly_kind"] == "level_shift" for r in onset)
    assert all(r["explanation"].endswith("and came back after 3 h") for r in onset)


def test_a_spike_seen_by_one_minute_runs_is_named_once_it_has_ended(
    storage: StorageBackend,
) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    rng = np.random.default_rng(13)
    values = 40.0 + 5.0 * np.sin(np.arange(3100) * 2 * np.pi / 1440) + rng.normal(0, 1, 3100)
    values[3000:3004] += 40.0  # four minutes up, then back
    ts = START_NS + np.arange(3100, dtype=np.int64) * MINUTE_NS
    storage.store_metrics([MetricSeries.from_arrays(key, ts[:3000], values[:3000])])
    detector = IncrementalDetector(storage, fleet_calibration=False)
    detector.run("t1")
    first_told = []
    for i in range(3000, 3040):  # one new point per run, as a live fleet is scored
        storage.store_metrics([MetricSeries.from_arrays(key, ts[i : i + 1], values[i : i + 1])])
        first_told += [r.anomaly_kind for r in detector.run("t1").anomalies]
    (row,) = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    assert _minutes([row])[0][0] == 3000
    assert first_told[0] != "spike"  # its first minute alone could not tell ...
    assert row["anomaly_kind"] == "spike"  # ... the minutes after it did
    assert "rose to" in row["explanation"]
