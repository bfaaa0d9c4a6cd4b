"""An alarm never reads "looks normal": where the explanation classifier sees nothing in
the raw values, the alarm says what the detector saw, in its own numbers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.explain import ExplanationClassifier
from backend.analytics.types import AnomalyKind, MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine, _detector_text
from backend.detection.describe import (
    daily_means,
    describe_alarm,
    describe_day_level,
    describe_swing,
    describe_variation,
    distance_from_day_mean,
    recent_variation,
)
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.evaluation.fleet import evaluation_fleet_spec
from backend.simulator.fleet import simulate_fleet


def test_a_fall_names_the_value_the_expectation_and_a_sane_band() -> None:
    text = describe_alarm("cpu_usage", "node-1", "point_down", 15.6, 24.8, 16.2, 41.4, 600.0, "%")
    assert text == (
        "cpu_usage on node-1 fell to 15.6 % where about 24.8 % was expected "
        "(values below 16.2 % are unusual here), for 10 min"
    )


def test_only_the_edge_on_the_side_the_value_moved_is_named() -> None:
    """A memory band reaching 180.9 % or a dip's upper edge ten times the usual is no help:
    a fall names the lower edge, a rise the upper one, each only where it is sane."""
    fall = describe_alarm("memory_used", "n", "point_down", 48.5, 61.4, 48.7, 180.9, 0.0, "%")
    assert fall.endswith("was expected (values below 48.7 % are unusual here)")
    rise = describe_alarm("memory_used", "n", "point_up", 57.7, 52.5, 33.4, 57.6, 0.0, "%")
    assert rise.endswith("was expected (values above 57.6 % are unusual here)")
    wild = describe_alarm("disk_io", "n", "point_up", 90.0, 80.0, -5e6, 95.0, 0.0, "ops/s")
    assert wild.endswith("(values above 95.0 ops/s are unusual here)")  # the far side is not read
    insane = describe_alarm("disk_io", "n", "point_down", 9.0, 80.0, -5e6, 95.0, 0.0, "ops/s")
    assert insane.endswith("where about 80.0 ops/s was expected")


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


def test_distance_from_day_mean_is_trailing_and_follows_time_not_points() -> None:
    hour = 3_600 * 10**9
    t = np.array([0, 1, 2, 3, 10, 11]) * hour  # a 7-hour gap
    v = np.array([2.0, 4.0, 6.0, 8.0, 1.0, 3.0])
    away = distance_from_day_mean(t, v, 3 * hour)
    # the mean of the points in (t − 3 h, t]: the gap leaves the later points on their own
    assert away.tolist() == [0.0, 1.0, 2.0, 2.0, 0.0, 1.0]
    assert distance_from_day_mean(t[:0], v[:0], hour).shape == (0,)


def test_a_new_cycle_is_told_by_its_swing_against_the_usual() -> None:
    text = describe_swing("error_rate", "node-2", 0.205, 0.0234, 14_400.0, "%")
    assert text == (
        "error_rate on node-2 has taken up a new cycle of hours: it swings further from its "
        "daily mean than it used to, by 0.205 % on average over the last 4 h: 8.8 times the "
        "usual 0.0234 %"
    )
    bare = "error_rate on node-2 has taken up a new cycle of hours: it swings further from "
    for recent, usual in ((0.205, float("nan")), (0.01, 0.0234), (0.205, 0.0)):
        assert describe_swing("error_rate", "node-2", recent, usual, 14_400.0, "%") == (
            bare + "its daily mean than it used to"
        )  # no history to compare with, or numbers that would contradict the sentence


def test_a_swing_alarm_reports_the_swing_not_the_value_at_its_point() -> None:
    """Before, a swing alarm read "(now 45.3 %, expected about 44.3 %)": the value at the
    alarm's point, which says nothing of a swing (and once read "now 0.0607 %, expected
    about 0.276 %" under "swings further"). Found by search in small simulated fleets."""
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=5))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    assert [label.kind for label in fleet.labels if label.key == series.key] == ["seasonal"]
    engine = DefaultAnomalyEngine()
    swings = [r for r in engine.detect(series) if r.engine_metadata["statistic"] == "slow_swing"]
    told = [r for r in swings if "new cycle of hours" in (r.explanation or "")]
    assert told  # the case this test is about still occurs
    scored = engine.score_series(series)
    day = 24 * 3_600 * 10**9
    span = round(1.0 / engine.params.alpha_swing)  # the points the swing statistic averages
    away = np.abs(distance_from_day_mean(scored.timestamps_ns, scored.expected, day))
    for result in told:
        assert result.anomaly_kind == "seasonal"
        text = result.explanation or ""
        assert "expected about" not in text
        assert "on average over the last 4 h" in text  # alpha_swing 1/48 at 5-minute steps
        ratio = float(text.split(": ")[-1].split(" times")[0])
        assert ratio > 1.5
        peak_ns = to_epoch_ns(result.engine_metadata["peak_timestamp"])  # naive UTC
        peak = int(np.searchsorted(scored.timestamps_ns, peak_ns))
        recent = float(away[peak + 1 - span : peak + 1].mean())
        assert f"by {recent:.1f} ops/s" in text


def _up_to_first_day_level_alarm(series: MetricSeries) -> MetricSeries:
    """``series`` up to its first alarm of the day level, and a day beyond it."""
    scored = DefaultAnomalyEngine().score_series(series)
    alarm = int(np.flatnonzero(scored.statistic == STATISTIC_NAMES.index("slow_shift"))[0])
    keep = alarm + 1 + 288  # a day of 5-minute points
    return series.with_arrays(series.timestamps_ns[:keep], series.values_array[:keep])


def test_a_drift_heard_by_the_day_level_is_never_a_spike() -> None:
    """The classifier reads the largest point of the day the alarm averaged; on bursty
    disk IO that is a burst. The detector heard a day-long mean leave its range, so the
    alarm is a drift, told in daily means (found by search in small simulated fleets)."""
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=11))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    assert [label.kind for label in fleet.labels if label.key == series.key] == ["drift"]
    # up to the alarm: later alarms on the same drift would join it, told as they read it
    series = _up_to_first_day_level_alarm(series)
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


def test_a_day_level_alarm_in_an_incremental_run_names_the_days_before_its_points() -> None:
    """A live run scores only its newest points; the daily means it compares with come from
    the context read before them, so the text is the one a single pass gives."""
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=11))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    series = _up_to_first_day_level_alarm(series)
    engine = DefaultAnomalyEngine()
    scored = engine.score_series(series)
    alarm = int(np.flatnonzero(scored.statistic == STATISTIC_NAMES.index("slow_shift"))[0])
    newest = ScoredSeries(
        *(getattr(scored, f.name)[alarm - 3 :] for f in dataclasses.fields(scored))
    )
    live = next(r for r in engine.results_from_scores(series, newest) if r.is_anomaly)
    one_pass = next(
        r for r in engine.detect(series) if r.engine_metadata["statistic"] == "slow_shift"
    )
    assert live.explanation == one_pass.explanation
    assert live.explanation is not None and "the 7 days before" in live.explanation


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


def _tail(scored: ScoredSeries, n: int) -> ScoredSeries:
    """The last ``n`` points of ``scored``: what a live run scores, resumed from state."""
    return ScoredSeries(*(getattr(scored, f.name)[-n:] for f in dataclasses.fields(scored)))


def test_a_live_runs_volatility_alarm_reads_its_usual_from_the_context() -> None:
    """A live run scores only its new points; the usual variation comes from the context
    read with them (it said "varies far more than usual" with no number)."""
    rng = np.random.default_rng(8)
    n, louder = 4 * 288, 36  # four days of five-minute points, the last three hours louder
    values = 50.0 + rng.normal(0.0, 1.0, n)
    values[-louder:] = 50.0 + rng.normal(0.0, 3.0, louder)
    ts = 1_704_067_200 * 10**9 + np.arange(n, dtype=np.int64) * 300 * 10**9
    series = MetricSeries.from_arrays(("t", "c", "node-3", "disk_io"), ts, values)
    engine = DefaultAnomalyEngine()
    whole = engine.score_series(series)
    slow = STATISTIC_NAMES.index("slow_volatility")
    live = _tail(dataclasses.replace(whole, statistic=np.full(n, slow, dtype=np.int8)), 12)
    params = engine.params_for(series)
    text = _detector_text(series, live, 0, 11, 11, params)
    ratio = float(text.split("strayed ")[1].split(" times")[0])
    assert ratio > 1.5  # three times the noise (the scale has begun to follow it)
    alone = series.slice(n - 12, n)  # without the context: nothing to compare with
    assert _detector_text(alone, live, 0, 11, 11, params) == (
        "disk_io on node-3 varies far more than usual"
    )
