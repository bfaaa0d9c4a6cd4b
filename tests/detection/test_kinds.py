"""The detector's own kind naming (used when the explanation classifier is unavailable or
reads a spike where only a slow statistic alarmed)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import AnomalyKind, MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries, StreamingDetector
from backend.detection.streaming.kinds import SLOW_KINDS, guess_kind, returning_excursion
from backend.evaluation.fleet import evaluation_fleet_spec
from backend.simulator.fleet import simulate_fleet
from backend.simulator.generator import MetricSimulator, SimulatorConfig
from backend.simulator.injector import AnomalyInjector


def _spiky_scores() -> tuple[ScoredSeries, int]:
    ts = np.arange(400, dtype=np.int64) * 60 * 10**9
    x = 10.0 + np.random.default_rng(3).normal(0.0, 0.3, 400)
    x[300] += 8.0
    scored = StreamingDetector().score(ts, x)
    return scored, 300


def test_a_spike_is_a_spike() -> None:
    scored, at = _spiky_scores()
    assert guess_kind(scored, at, at) is AnomalyKind.SPIKE


def test_a_slow_statistic_names_its_own_kind() -> None:
    scored, at = _spiky_scores()
    for name, kind in (
        ("slow_shift", AnomalyKind.DRIFT),
        ("slow_volatility", AnomalyKind.SEASONAL),
        ("slow_swing", AnomalyKind.SEASONAL),
    ):
        statistic = scored.statistic.copy()
        statistic[at] = STATISTIC_NAMES.index(name)
        relabelled = dataclasses.replace(scored, statistic=statistic)
        assert guess_kind(relabelled, at, at) is kind
    assert set(SLOW_KINDS) == {
        STATISTIC_NAMES.index(n) for n in ("slow_shift", "slow_volatility", "slow_swing")
    }


def test_without_the_classifier_day_level_alarms_are_drifts() -> None:
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=2))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    alarms = DefaultAnomalyEngine({"use_classifier": False}).detect(series)
    slow = [r for r in alarms if r.engine_metadata["statistic"] == "slow_shift"]
    assert slow
    assert {r.anomaly_kind for r in slow} == {"drift"}
    assert all("its mean over the last day" in (r.explanation or "") for r in slow)


def _jump_at(values: np.ndarray, at: int, statistic: str = "point_up") -> ScoredSeries:
    """Scores of a hand-made series in which only point ``at`` alarms."""
    n = values.size
    scores = np.zeros(n)
    scores[at] = 0.8
    stats = np.zeros(n)
    stats[at] = STATISTIC_NAMES.index(statistic)
    zeros = np.zeros(n)
    z = np.zeros(n)
    z[at] = np.sign(values[at] - values[at - 1]) * 6.0
    ts = np.arange(n, dtype=np.int64) * 300 * 10**9
    return ScoredSeries(ts, values, scores, scores, zeros, zeros, zeros, z, values, stats)


def test_a_jump_back_from_a_short_dip_is_found_with_the_dip_start() -> None:
    values = np.full(60, 50.0)
    values[40:43] = 35.0  # a three-point dip; the jump back at 43 alarms
    assert returning_excursion(_jump_at(values, 43), 43, 43) == 40
    spike = np.full(60, 50.0)
    spike[40:42] = 70.0
    assert returning_excursion(_jump_at(spike, 42, "point_down"), 42, 42) == 40


def test_a_shift_a_release_or_a_slow_alarm_is_no_jump_back() -> None:
    shift = np.r_[np.full(40, 50.0), np.full(20, 65.0)]  # up and staying: nothing before it
    assert returning_excursion(_jump_at(shift, 40), 40, 40) is None
    ramp = 40.0 + (np.arange(60) % 30) * 0.8  # a sawtooth: slow rise, then a release
    assert returning_excursion(_jump_at(ramp, 30, "point_down"), 30, 30) is None
    long_dip = np.full(60, 50.0)
    long_dip[20:43] = 35.0  # longer than a dip the jump could end: a shift that came back
    assert returning_excursion(_jump_at(long_dip, 43), 43, 43) is None
    dip = np.full(60, 50.0)
    dip[40:43] = 35.0
    assert returning_excursion(_jump_at(dip, 43, "slow_shift"), 43, 43) is None


def test_a_memory_dip_that_alarms_as_it_ends_is_named_a_dip() -> None:
    simulator = MetricSimulator(SimulatorConfig(seed=1, sampling_interval_seconds=300))
    series = simulator.generate(
        "t1", "c1", "n1", "memory_used", num_points=3000, start_time=dt.datetime(2024, 1, 1)
    )
    dipped, _ = AnomalyInjector.inject_spike(series, 2200, magnitude=-3.0, duration=3)
    found = [r for r in DefaultAnomalyEngine().detect(dipped) if r.anomaly_kind == "dip"]
    assert any("dipped to" in (r.explanation or "") and "came back" in r.explanation for r in found)


def test_the_window_of_a_jump_back_holds_the_whole_dip() -> None:
    values = np.full(60, 50.0)
    values[40:43] = 35.0
    scored = _jump_at(values, 43)  # only the jump back scores
    series = MetricSeries.from_arrays(("t", "c", "n", "memory_used"), scored.timestamps_ns, values)
    engine = DefaultAnomalyEngine({"use_classifier": False})
    (result,) = engine.results_from_scores(series, scored)
    assert result.anomaly_kind == "dip"
    assert to_epoch_ns(result.window_start) == scored.timestamps_ns[40]
    assert to_epoch_ns(result.window_end) == scored.timestamps_ns[43]


def test_a_gap_judged_one_point_late_is_missing_data() -> None:
    """The detector hears a gap at the second point after it (the first may still turn out
    to be one of the gap's own points stamped late), so the alarm run starts a point after
    the hole in the timestamps and is named by its statistic."""
    ts = np.arange(2_000, dtype=np.int64) * 60 * 10**9
    ts[1_500:] += 90 * 60 * 10**9  # ninety minutes without data
    x = 10.0 + np.random.default_rng(4).normal(0.0, 0.3, 2_000)
    scored = StreamingDetector().score(ts, x)
    assert STATISTIC_NAMES[scored.statistic[1_501]] == "gap"
    assert guess_kind(scored, 1_501, 1_501) is AnomalyKind.MISSING_DATA
    series = MetricSeries.from_arrays(("t", "c", "n", "cpu_usage"), ts, x)
    at = series.timestamps[1_501]
    found = [r for r in DefaultAnomalyEngine().detect(series) if r.window_start <= at]
    assert found and found[-1].window_end >= at
    assert found[-1].anomaly_kind == AnomalyKind.MISSING_DATA.value
