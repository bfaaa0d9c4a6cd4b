"""Incremental detection over stored data: resumes from saved state, stores results and roll-ups."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.fleet_calibration import FleetCalibration
from backend.detection.runner import (
    IncrementalDetector,
    fleet_calibration_key,
    fleet_calibration_name,
    load_fleet_calibration,
)
from backend.detection.state import FORMAT_VERSION
from backend.errors import StorageError
from backend.storage import InMemoryStorage, StorageBackend, open_storage

T0 = datetime(2024, 1, 1)
MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9


def _store(storage: StorageBackend, key: SeriesKey, values: np.ndarray, offset: int = 0) -> None:
    ts = START_NS + (offset + np.arange(values.shape[0], dtype=np.int64)) * MINUTE_NS
    storage.store_metrics([MetricSeries.from_arrays(key, ts, values)])


def _store_part(
    storage: StorageBackend, keys: list[SeriesKey], values: list[np.ndarray], part: slice
) -> None:
    """Store the same stretch (``part``) of every series of a fleet."""
    for key, series in zip(keys, values, strict=True):
        _store(storage, key, series[part], offset=part.start or 0)


def _normal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 40 + 5 * np.sin(np.arange(n) * 2 * np.pi / 1440) + rng.normal(0, 1, n)


@pytest.fixture
def storage(tmp_path: Path) -> StorageBackend:
    return open_storage(f"sqlite:///{tmp_path / 'runner.db'}")


def test_runner_finds_spike_and_stores_results_and_rollups(storage: StorageBackend) -> None:
    hot, calm = SeriesKey("t1", "c1", "n1", "cpu_usage"), SeriesKey("t1", "c1", "n2", "cpu_usage")
    values = _normal(2880, 1)
    values[2500:2503] += 60
    _store(storage, hot, values)
    _store(storage, calm, _normal(2880, 2))
    report = IncrementalDetector(storage).run("t1")
    assert report.series_processed == 2
    assert report.points_scored == 2 * 2880
    found = [r for r in report.anomalies if r.node_id == "n1"]
    assert any(
        r.window_start <= T0 + timedelta(minutes=2502)
        and r.window_end >= T0 + timedelta(minutes=2500)
        for r in found
    )
    stored = storage.query_anomalies("t1", min_score=0.0)
    assert len(stored) == len(report.results)
    nodes = storage.query_aggregated_scores("t1", level="node", latest_only=True)
    assert {s.node_id for s in nodes} == {"n1", "n2"}


def test_runner_second_run_scores_only_new_points(storage: StorageBackend) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    values = _normal(3000, 3)
    _store(storage, key, values[:2000])
    runner = IncrementalDetector(storage)
    assert runner.run("t1").points_scored == 2000
    assert runner.run("t1").points_scored == 0
    _store(storage, key, values[2000:], offset=2000)
    assert IncrementalDetector(storage).run("t1").points_scored == 1000


def test_runner_resumed_scores_match_one_pass(tmp_path: Path) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    values = _normal(3000, 4)
    values[2600:2604] -= 30
    split = open_storage(f"sqlite:///{tmp_path / 'split.db'}")
    _store(split, key, values[:1500])
    IncrementalDetector(split).run("t1")
    _store(split, key, values[1500:], offset=1500)
    resumed = IncrementalDetector(split).run("t1").results
    whole = InMemoryStorage()
    _store(whole, key, values)
    one_pass = [
        r
        for r in IncrementalDetector(whole).run("t1").results
        if r.window_start >= T0 + timedelta(minutes=1500)
    ]
    assert [(r.window_start, r.anomaly_score) for r in resumed] == [
        (r.window_start, r.anomaly_score) for r in one_pass
    ]


def test_runner_reset_rescores_from_since(storage: StorageBackend) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    _store(storage, key, _normal(2000, 5))
    runner = IncrementalDetector(storage)
    runner.run("t1")
    again = runner.run("t1", since=T0 + timedelta(minutes=1000), reset=True)
    assert again.points_scored == 1000
    # and the fleet calibration starts afresh: it learnt from what the reset rescores
    learnt = load_fleet_calibration(storage, DefaultAnomalyEngine(), "t1")
    assert learnt is not None and learnt.groups["cpu_usage"].points == again.points_scored


def test_runner_other_tenant_untouched(storage: StorageBackend) -> None:
    _store(storage, SeriesKey("t2", "c1", "n1", "cpu_usage"), _normal(500, 6))
    report = IncrementalDetector(storage).run("t1")
    assert report.series_processed == 0
    assert storage.query_aggregated_scores("t2") == []


def test_runner_resumes_a_counter(storage: StorageBackend) -> None:
    """A Prometheus-style counter is detected with counter handling; its saved state must
    load back under the same hyperparameters, so the next run goes on from the cursor."""
    key = SeriesKey("t1", "c1", "n1", "requests_total")
    values = np.cumsum(np.random.default_rng(7).poisson(50, 3000)).astype(np.float64)
    _store(storage, key, values[:2000])
    assert IncrementalDetector(storage).run("t1").points_scored == 2000
    _store(storage, key, values[2000:], offset=2000)
    again = IncrementalDetector(storage).run("t1")
    assert again.stats.errors == []
    assert (again.points_scored, again.states_relearnt) == (1000, 0)


def test_runner_reports_a_counter_with_negative_values_and_scores_the_rest(
    storage: StorageBackend,
) -> None:
    bad, good = SeriesKey("t1", "c1", "n1", "requests_total"), SeriesKey("t1", "c1", "n2", "cpu")
    _store(storage, bad, np.r_[np.arange(500.0), -5.0, np.arange(500.0)])
    _store(storage, good, _normal(1000, 3))
    report = IncrementalDetector(storage).run("t1")
    assert report.series_processed == 1 and report.points_scored == 1000
    assert len(report.stats.errors) == 1
    assert "requests_total" in report.stats.errors[0] and "values=-5.0" in report.stats.errors[0]


def _state_name() -> str:
    """The name the runner stores the default engine's detector state under."""
    engine = DefaultAnomalyEngine()
    return f"{engine.engine_name()}@{engine.engine_version()}"


def _stored_state(storage: StorageBackend, key: SeriesKey) -> bytes:
    saved = storage.load_detector_state(key, _state_name())
    assert saved is not None
    return saved


def test_runner_relearns_a_state_it_cannot_use(storage: StorageBackend) -> None:
    """After an upgrade (another state format) or a change of hyperparameters, detection
    goes on from where it stopped with a detector relearnt on the stored history, instead
    of failing every run; only the new points are scored."""
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    values = _normal(4000, 8)
    values[3500:3503] += 60
    _store(storage, key, values[:2000])
    IncrementalDetector(storage).run("t1")
    saved = _stored_state(storage, key)
    old_format = saved[:12] + struct.pack("<H", FORMAT_VERSION - 1) + saved[14:]
    storage.save_detector_state(key, _state_name(), old_format)
    _store(storage, key, values[2000:3000], offset=2000)
    upgraded = IncrementalDetector(storage).run("t1")
    assert upgraded.stats.errors == []
    assert (upgraded.points_scored, upgraded.states_relearnt) == (1000, 1)
    assert _stored_state(storage, key) != old_format  # saved again in the current format
    _store(storage, key, values[3000:], offset=3000)
    retuned = IncrementalDetector(storage, engine=DefaultAnomalyEngine({"log_scale": 9.0}))
    report = retuned.run("t1")
    assert (report.points_scored, report.states_relearnt) == (1000, 1)
    assert any(
        r.window_start <= T0 + timedelta(minutes=3502)
        and r.window_end >= T0 + timedelta(minutes=3500)
        for r in report.anomalies
    )


def _two_metric_tenant(storage: StorageBackend, tenant: str, seed: int) -> list[SeriesKey]:
    rng = np.random.default_rng(seed)
    keys = []
    for node in ("n1", "n2"):
        cpu, disk = (
            SeriesKey(tenant, "c1", node, "cpu_usage"),
            SeriesKey(tenant, "c1", node, "disk_io"),
        )
        _store(storage, cpu, _normal(2880, int(rng.integers(1000))))
        _store(storage, disk, 100 * np.exp(rng.standard_t(3, 2880) * 0.3))  # heavy-tailed
        keys += [cpu, disk]
    return keys


def _calibration(storage: StorageBackend, tenant: str) -> FleetCalibration | None:
    return load_fleet_calibration(storage, DefaultAnomalyEngine(), tenant)


def test_runner_keeps_a_fleet_calibration_per_tenant(storage: StorageBackend) -> None:
    _two_metric_tenant(storage, "t1", 7)
    _two_metric_tenant(storage, "t2", 8)
    report = IncrementalDetector(storage).run("t1")
    learnt = _calibration(storage, "t1")
    assert learnt is not None and _calibration(storage, "t2") is None  # tenants kept apart
    assert set(learnt.groups) == {"cpu_usage", "disk_io"}
    assert sum(t.points for t in learnt.groups.values()) == report.points_scored
    IncrementalDetector(storage).run("t2")
    assert _calibration(storage, "t1").to_bytes() == learnt.to_bytes()  # type: ignore[union-attr]


def test_runner_builds_on_the_calibration_of_earlier_runs(storage: StorageBackend) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    values = _normal(3000, 9)
    _store(storage, key, values[:2000])
    IncrementalDetector(storage).run("t1")
    _store(storage, key, values[2000:], offset=2000)
    IncrementalDetector(storage).run("t1")
    learnt = _calibration(storage, "t1")
    assert learnt is not None and learnt.groups["cpu_usage"].points == 3000


def test_runner_carries_where_each_series_ended_into_the_next_run(
    storage: StorageBackend,
) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu_usage") for i in range(3)]
    values = [_normal(2100, 200 + i) for i in range(3)]
    _store_part(storage, keys, values, slice(0, 2000))
    IncrementalDetector(storage).run("t1")
    first = _calibration(storage, "t1")
    assert first is not None and set(first.carried) == {str(k) for k in keys}
    _store_part(storage, keys, values, slice(2000, 2001))  # a live tick: one new point each
    IncrementalDetector(storage).run("t1")
    later = _calibration(storage, "t1")
    assert later is not None
    for key in keys:  # the end moved on by the one new point
        before, after = first.carried[str(key)], later.carried[str(key)]
        np.testing.assert_array_equal(after.peaks[:-1], before.peaks[1:])
        assert after.z != before.z


def test_runner_drops_the_end_of_a_series_silent_for_a_week(storage: StorageBackend) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu_usage") for i in range(3)]
    values = [_normal(2100, 300 + i) for i in range(3)]
    _store_part(storage, keys, values, slice(0, 2000))
    IncrementalDetector(storage).run("t1")
    eight_days = 8 * 1440  # minutes
    for key, series in zip(keys[:2], values[:2], strict=True):  # n2 sends nothing more
        _store(storage, key, series[2000:], offset=2000 + eight_days)
    IncrementalDetector(storage).run("t1")
    later = _calibration(storage, "t1")
    assert later is not None and set(later.carried) == {str(k) for k in keys[:2]}


def test_runner_keeps_the_pooled_residual_tail_of_a_fleet(storage: StorageBackend) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu_usage") for i in range(12)]
    values = [_normal(1500, 100 + i) for i in range(12)]
    _store_part(storage, keys, values, slice(0, 1000))
    IncrementalDetector(storage).run("t1")
    learnt = _calibration(storage, "t1")
    assert learnt is not None
    tally = learnt.residuals["cpu_usage"]
    params = DefaultAnomalyEngine().params
    # one-minute points: heard after the warm-up's points and the learning period's hours
    warmup = max(params.warmup_points, int(params.warmup_hours * 60)) + params.probe_points
    assert tally.series == 12  # seen together: a fleet
    assert tally.points == 12 * (1000 - warmup)  # every scored point, no warm-up point
    _store_part(storage, keys, values, slice(1000, 1500))
    IncrementalDetector(storage).run("t1")
    later = _calibration(storage, "t1")
    assert later is not None and later.residuals["cpu_usage"].points == 12 * (1500 - warmup)


def test_runner_without_fleet_calibration_reports_the_engines_own_scores(
    storage: StorageBackend,
) -> None:
    keys = _two_metric_tenant(storage, "t1", 10)
    report = IncrementalDetector(storage, fleet_calibration=False).run("t1")
    engine = DefaultAnomalyEngine()
    expected = []
    for key in keys:
        expected += engine.detect(storage.get_metric_series(*key, None, None))
    got = sorted((str(r.key), r.window_start, r.anomaly_score) for r in report.anomalies)
    assert got == sorted((str(r.key), r.window_start, r.anomaly_score) for r in expected)
    assert _calibration(storage, "t1") is None


def test_runner_reads_past_an_unreadable_calibration(storage: StorageBackend) -> None:
    _two_metric_tenant(storage, "t1", 11)
    name = fleet_calibration_name(DefaultAnomalyEngine())
    storage.save_detector_state(fleet_calibration_key("t1"), name, b"written by another release")
    report = IncrementalDetector(storage).run("t1")
    assert report.series_processed == 4 and not report.stats.errors
    assert _calibration(storage, "t1") is not None


class _ResultsRefused(InMemoryStorage):
    """Storage whose result writes fail once (a lost connection, a full disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = True

    def replace_anomaly_results(self, tenant_id: str, superseded: Any, results: Any) -> int:
        if self.refuse:
            raise StorageError("results", "refused for the test")
        return super().replace_anomaly_results(tenant_id, superseded, results)


def test_runner_saves_a_detector_only_once_its_results_are_stored() -> None:
    storage = _ResultsRefused()
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu_usage") for i in range(3)]
    for i, key in enumerate(keys):
        values = _normal(2000, 13 + i)
        values[1500] += 60.0  # an anomaly whose result must be stored
        _store(storage, key, values)
    failed = IncrementalDetector(storage).run("t1")
    assert len(failed.stats.errors) == 3 and failed.series_processed == 0
    assert all(storage.load_detector_state(key, _state_name()) is None for key in keys)
    storage.refuse = False
    again = IncrementalDetector(storage).run("t1")
    assert again.points_scored == 6000 and len(again.anomalies) >= 3  # nothing was lost


class _StatesUnreadable(InMemoryStorage):
    """Storage whose bulk state reads fail (a lost connection)."""

    def load_detector_states(self, engine: str, keys: Any) -> dict[SeriesKey, bytes]:
        raise StorageError("states", "refused for the test")


def test_runner_skips_series_whose_states_cannot_be_read() -> None:
    storage = _StatesUnreadable()
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu_usage") for i in range(3)]
    for i, key in enumerate(keys):
        _store(storage, key, _normal(500, 30 + i))
    report = IncrementalDetector(storage).run("t1")
    # not scored as new series (which would score their history again): reported, kept
    assert report.series_processed == 0 and len(report.stats.errors) == 3
    assert all(storage.load_detector_state(key, _state_name()) is None for key in keys)


class _CountingWrites(InMemoryStorage):
    """Storage that counts the calls a run makes to write results and states."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def replace_anomaly_results(self, tenant_id: str, superseded: Any, results: Any) -> int:
        self.calls.append("results")
        return super().replace_anomaly_results(tenant_id, superseded, results)

    def save_detector_state(self, key: SeriesKey, engine: str, state: bytes) -> None:
        self.calls.append("state")
        super().save_detector_state(key, engine, state)

    def save_detector_states(self, engine: str, states: Any) -> None:
        self.calls.append(f"states x{len(states)}")
        super().save_detector_states(engine, states)


def test_runner_writes_a_batch_of_series_at_once() -> None:
    storage = _CountingWrites()
    for i in range(5):
        values = _normal(1500, 20 + i)
        values[1200] += 60.0
        _store(storage, SeriesKey("t1", "c1", f"n{i}", "cpu_usage"), values)
    report = IncrementalDetector(storage, fleet_calibration=False).run("t1")
    assert report.series_processed == 5 and len(report.anomalies) >= 5
    assert storage.calls.count("results") == 1 and "states x5" in storage.calls


class _CountingReads(InMemoryStorage):
    """Storage that counts how a run reads series, and can refuse the next batch read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []
        self.refuse_next = False

    def get_metric_series(self, *args: Any, **kwargs: Any) -> MetricSeries:
        self.reads.append(1)
        return super().get_metric_series(*args, **kwargs)

    def get_metric_series_batch(self, tenant_id: str, keys: Any, *args: Any) -> Any:
        if self.refuse_next:
            self.refuse_next = False
            raise StorageError("series", "refused for the test")
        self.reads.append(-len(keys))  # one batch read of len(keys) series
        return dict(InMemoryStorage.get_metric_series_batch(self, tenant_id, keys, *args))


def test_runner_reads_the_series_of_a_tick_in_batches() -> None:
    storage = _CountingReads()
    keys = [SeriesKey("t1", "c1", f"n{i:03d}", "cpu_usage") for i in range(250)]
    _store_part(storage, keys, [_normal(300, i) for i in range(250)], slice(0, 290))
    detector = IncrementalDetector(storage, fleet_calibration=False)
    detector.run("t1")
    _store_part(storage, keys, [_normal(300, i) for i in range(250)], slice(290, 300))
    storage.reads.clear()
    report = detector.run("t1")
    assert report.series_processed == 250 and report.points_scored == 2500
    # every series resumes from the same cursor: three batch reads (100 + 100 + 50)
    assert [r for r in storage.reads if r < 0] == [-100, -100, -50]


def test_runner_reports_the_series_of_a_failed_batch_read() -> None:
    storage = _CountingReads()
    keys = [SeriesKey("t1", "c1", f"n{i:03d}", "cpu_usage") for i in range(150)]
    _store_part(storage, keys, [_normal(300, i) for i in range(150)], slice(0, 300))
    storage.refuse_next = True
    report = IncrementalDetector(storage, fleet_calibration=False).run("t1")
    assert len(report.stats.errors) == 100 and report.series_processed == 50
    assert all("refused for the test" in error for error in report.stats.errors)
    again = IncrementalDetector(storage, fleet_calibration=False).run("t1")
    assert again.series_processed == 100 and again.points_scored == 100 * 300  # none lost


def test_runner_scores_each_series_for_its_metric_threshold(storage: StorageBackend) -> None:
    """A metric's own threshold is the alarm level its series is scored for: a drift still
    alarms under a stricter threshold (it waits for a larger change), and changing the
    threshold later goes on from the saved state (the alarm level is not part of what the
    state learnt), scoring only the new points."""
    key = SeriesKey("t1", "c1", "n1", "memory_used")
    values = 50.0 + np.random.default_rng(2).normal(0.0, 2.0, 4032)
    values[2000:3000] += np.linspace(0.0, 30.0, 1000)
    values[3000:] += 30.0
    ts = START_NS + np.arange(4032, dtype=np.int64) * 5 * MINUTE_NS
    storage.store_metrics([MetricSeries.from_arrays(key, ts[:3500], values[:3500])])
    strict = DetectionConfig(metric_thresholds={"memory_*": 0.6})
    report = IncrementalDetector(storage, config=strict, fleet_calibration=False).run("t1")
    drift_from = T0 + timedelta(minutes=5 * 2000)
    alarms = [r for r in report.anomalies if r.window_start >= drift_from]
    assert alarms and all(r.anomaly_score >= 0.6 for r in report.anomalies)
    storage.store_metrics([MetricSeries.from_arrays(key, ts[3500:], values[3500:])])
    relaxed = IncrementalDetector(storage, fleet_calibration=False).run("t1")
    assert (relaxed.points_scored, relaxed.states_relearnt) == (532, 0)


def test_a_stuck_value_seen_by_short_runs_says_how_long_it_has_held(
    storage: StorageBackend,
) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    values = _normal(3100, 31)
    values[3000:] = 41.5  # the exporter hangs, re-sending its last sample
    _store(storage, key, values[:3000])
    runner = IncrementalDetector(storage, fleet_calibration=False)
    runner.run("t1")
    texts = []
    for first in range(3000, 3100, 5):  # runs of 5 new points
        _store(storage, key, values[first : first + 5], offset=first)
        texts += [r.explanation or "" for r in runner.run("t1").anomalies]
    stuck = [text for text in texts if "has reported the same value" in text]
    assert stuck, texts
    held = int(stuck[0].split("(")[1].split(" samples")[0])
    assert held >= 20  # the alarm comes once the run is long enough: not "2 samples"


@pytest.mark.parametrize(("days", "usual"), [(8, "usual at 00:00"), (1, "usual before")])
def test_a_run_tells_an_anomaly_against_the_same_hour_of_earlier_days(
    days: int, usual: str
) -> None:
    """Scoring resumes from the saved state, but an anomaly to tell is read again with
    ``explain_context`` of history: a day's context alone cannot show the daily cycle."""
    storage = InMemoryStorage()
    key = SeriesKey("t1", "c1", "n1", "cpu_usage")
    n = 1440 * 4 + 100
    values = 40 + 25 * np.sin(np.arange(n) * 2 * np.pi / 1440)
    values += np.random.default_rng(5).normal(0, 1, n)
    values[5760:5764] += 30  # four minutes up, just after midnight of the fifth day
    _store(storage, key, values[:5700])
    runner = IncrementalDetector(
        storage, fleet_calibration=False, explain_context=timedelta(days=days)
    )
    runner.run("t1")
    for first in range(5700, n, 5):
        _store(storage, key, values[first : first + 5], offset=first)
        runner.run("t1")
    (row,) = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    assert row["anomaly_kind"] == "spike"
    assert f"({usual}: " in row["explanation"]
