"""An alarm never reads "looks normal": where the explanation classifier sees nothing in
the raw values, the alarm says what the detector saw, in its own numbers."""

from __future__ import annotations

import numpy as np

from backend.analytics.explain import ExplanationClassifier
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.describe import describe_alarm
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
    assert "varies far more than usual" in swing


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
