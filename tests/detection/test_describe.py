"""An alarm never reads "looks normal": where the explanation classifier sees nothing in
the raw values, the alarm says what the detector saw, in its own numbers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from backend.analytics.explain import ExplanationClassifier
from backend.analytics.types import AnomalyKind
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.describe import (
    daily_means,
    describe_alarm,
    describe_day_level,
    describe_variation,
    recent_variation,
)
from backend.evaluation.fleet import evaluation_fleet_spec
from backend.simulator.fleet import simulate_fleet


def test_a_fall_names_the_value_the_expectation_and_a_sane_band() -> None:
    text = describe_alarm("cpu_usage", "node-1", "point_down", 15.6, 24.8, 16.2, 41.4, 600.0, "%")
    assert text == (
        "cpu_usage on node-1 fell to 15.6 % where about 24.8 % was expected "
        "(values outside 16.2 – 41.4 % are unusual here), for 10 min"
    )


def test_a_band_far_beyond_the_values_is_left_out() -> None:
    """A bursty series' band can reach 10^14 on a 0–100 % metric: no one can act on that."""
    text = describe_alarm("cpu_usage", "node-1", "pair", 93.0, 0.2, -1.2, 2.5e14, 0.0, "%")
    assert text == "cpu_usage on node-1 rose to 93.0 % where about 0.2 % was expected"


def test_slow_statistics_say_what_changed() -> None:
    drift = describe_alarm("latency", "n", "slow_shift", 142.0, 117.0, 90.0, 150.0, 0.0, "ms")
    assert "daily level it has not shown before" in drift
    swing = describe_alarm("memory_used", "n", "slow_swing", 44.0, 45.8, 30.0, 60.0, 0.0, "%")
    assert "new cycle of hours" in swing
    volatile = describe_alarm("disk_io", "n", "slow_volatility", 4.0, 5.0, 1.0, 9.0, 0.0)
    assert "varies far more than usual" in volatile


def test_daily_means_cover_whole_days_only() -> None:
    day = 24 * 3_600 * 10**9
    t = np.arange(0, 3 * 24 + 12) * 3_600 * 10**9  # hourly, 3.5 days
    v = np.r_[np.full(12, 9.0), np.full(24, 1.0), np.full(24, 2.0), np.full(24, 4.0)]
    last, earlier = daily_means(t, v, int(t[-1]), day)
    assert last == 4.0
    assert earlier == [2.0, 1.0]  # the half day at the start is no day's mean


def test_a_drift_is_told_in_daily_means() -> None:
    up = describe_day_level("latency", "node-9", 142.3, [131.0, 120.5, 117.2], "ms")
    assert up == (
        "latency on node-9 has drifted up: its mean over the last day, 142.3 ms, is beyond "
        "those of the 3 days before (117.2 – 131.0 ms)"
    )
    down = describe_day_level("latency", "node-9", 99.0, [117.2], "ms")
    assert down.startswith("latency on node-9 has drifted down")
    assert "the day before (117.2 – 117.2 ms)" in down
    inside = describe_day_level("latency", "node-9", 120.0, [117.2, 131.0], "ms")
    assert "drifted" not in inside
    assert "its mean over the last day is 120.0 ms" in inside


def test_variation_is_relative_to_the_usual() -> None:
    recent, usual = recent_variation(np.r_[np.ones(48), np.full(24, -3.0)], 71, 24, 200)
    assert (recent, usual) == (3.0, 1.0)
    text = describe_variation("disk_io", "node-3", recent, usual, 7_200.0)
    assert text.endswith("strayed 3.0 times as far from the expected as they usually do")
    assert describe_variation("disk_io", "node-3", 1.0, float("nan"), 7_200.0) == (
        "disk_io on node-3 varies far more than usual"
    )


def test_a_drift_heard_by_the_day_level_is_never_a_spike() -> None:
    """The classifier reads the largest point of the day the alarm averaged; on bursty
    disk IO that is a burst. The detector heard a day-long mean leave its range, so the
    alarm is a drift, told in daily means (found by search in small simulated fleets)."""
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=11))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    assert [label.kind for label in fleet.labels if label.key == series.key] == ["drift"]
    alarm = next(
        r
        for r in DefaultAnomalyEngine().detect(series)
        if r.engine_metadata["statistic"] == "slow_shift"
    )
    evidence = dataclasses.replace(alarm, window_start=alarm.window_start - timedelta(days=1))
    assert ExplanationClassifier().classify(series, evidence).anomaly_kind in (
        AnomalyKind.SPIKE,
        AnomalyKind.DIP,
    )  # the case this test is about still occurs
    assert alarm.anomaly_kind == "drift"
    assert alarm.explanation is not None
    assert alarm.explanation.startswith("disk_io on node-002 has drifted up: its mean over")
    assert "the 7 days before" in alarm.explanation


def test_an_alarm_the_classifier_reads_as_normal_says_what_the_detector_saw() -> None:
    # found by search: on this simulated network series (Student-t noise on a log scale)
    # the detector alarms on a fall the classifier's linear spread calls ordinary
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=2))
    series = next(
        s for s in fleet.series if s.node_id == "node-001" and s.metric_name == "network_in"
    )
    engine = DefaultAnomalyEngine()
    alarms = [r for r in engine.detect(series) if r.is_anomaly]
    assert alarms
    assert not any("looks normal" in (r.explanation or "") for r in alarms)
    classifier = ExplanationClassifier()
    read_as_normal = [r for r in alarms if classifier.classify(series, r).anomaly_kind is None]
    assert read_as_normal  # the case this test is about still occurs
    for result in read_as_normal:
        observed = result.engine_metadata["modelled"]
        assert result.explanation is not None
        assert "where about" in result.explanation
        assert result.anomaly_kind in ("spike", "dip", "level_shift", "drift")
        moved = "rose" if observed >= result.engine_metadata["expected"] else "fell"
        assert f"network_in on node-001 {moved} to" in result.explanation
        assert np.isfinite(observed)
