from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.errors import ValidationError
from backend.evaluation.fleet import evaluate_fleet, evaluation_fleet_spec, sweep_fleet
from backend.evaluation.report import (
    fleet_metric_table,
    fleet_sweep_table,
    fleet_sweep_to_dict,
    fleet_table,
    fleet_to_dict,
)
from backend.simulator.fleet import FleetSpec, SimulatedFleet, simulate_fleet
from backend.simulator.injector import AnomalyInjector
from backend.simulator.labels import AnomalyLabel


def test_evaluate_fleet_counts_every_label() -> None:
    fleet = simulate_fleet(FleetSpec.for_series_count(24, anomaly_ratio=0.5, seed=3))
    result = evaluate_fleet(DefaultAnomalyEngine(), fleet)
    assert result.events == len(fleet.labels) and result.series == 24
    assert 0 <= result.detected <= result.events
    assert set(result.per_kind) == {label.kind for label in fleet.labels}
    assert fleet_to_dict(result)["recall"] == result.recall
    assert fleet_table(result).row_count == len(result.per_kind)


def test_evaluation_fleet_spec_length_and_freq_explicit() -> None:
    spec = evaluation_fleet_spec(12, seed=1, num_points=600, freq="1min")
    fleet = simulate_fleet(spec)
    assert len(fleet.series) == 12
    assert all(s.length <= 600 for s in fleet.series)
    steps = {int(s.timestamps_ns[1] - s.timestamps_ns[0]) for s in fleet.series}
    assert steps == {60 * 10**9}


def _flat_series(metric: str, values: np.ndarray) -> MetricSeries:
    ts = np.datetime64("2024-01-01T00:00", "ns") + np.arange(values.size) * np.timedelta64(5, "m")
    return MetricSeries.from_arrays(SeriesKey("t", "c", "n", metric), ts, values)


def test_false_alarms_and_detections_are_kept_per_metric() -> None:
    rng = np.random.default_rng(5)
    quiet = 50.0 + rng.normal(0.0, 1.0, 1200)
    labelled = _flat_series("cpu_usage", quiet.copy())
    labelled, meta = AnomalyInjector.inject_spike(labelled, 900, magnitude=40.0, duration=3)
    unlabelled = quiet.copy()
    unlabelled[800:803] += 40.0  # an unlabelled burst: every alarm on it is a false one
    other = _flat_series("disk_io", unlabelled)
    label = AnomalyLabel.from_metadata(labelled.key, meta)
    fleet = SimulatedFleet(FleetSpec.for_series_count(2), (labelled, other), (label,), 0)

    result = evaluate_fleet(DefaultAnomalyEngine(), fleet)

    cpu, disk = result.per_metric["cpu_usage"], result.per_metric["disk_io"]
    assert (cpu.events, cpu.detected, cpu.false_alarms) == (1, 1, 0)
    assert (disk.events, disk.detected) == (0, 0) and disk.false_alarms >= 1
    assert disk.normal_points == 1200 and cpu.normal_points < 1200
    assert result.false_alarms == cpu.false_alarms + disk.false_alarms
    # cpu has no false alarm and counts as half of one: the spread is disk's count over 0.5
    assert result.false_alarm_spread == pytest.approx(
        disk.false_alarms / 0.5 * cpu.normal_points / disk.normal_points
    )


def test_per_metric_figures_add_up_to_the_fleet_figures() -> None:
    fleet = simulate_fleet(FleetSpec.for_series_count(16, anomaly_ratio=0.5, seed=4))
    result = evaluate_fleet(DefaultAnomalyEngine(), fleet)
    metrics = result.per_metric.values()
    assert set(result.per_metric) == {s.metric_name for s in fleet.series}
    assert sum(m.series for m in metrics) == result.series
    assert sum(m.events for m in metrics) == result.events
    assert sum(m.detected for m in metrics) == result.detected
    assert sum(m.false_alarms for m in metrics) == result.false_alarms
    assert sum(m.normal_points for m in metrics) == result.normal_points
    as_dict = fleet_to_dict(result)
    assert set(as_dict["per_metric"]) == set(result.per_metric)
    assert all("false_alarms_per_10k" in m for m in as_dict["per_metric"].values())
    assert fleet_metric_table(result).row_count == len(result.per_metric)


def test_sweep_fleet_runs_the_engine_at_each_threshold() -> None:
    fleet = simulate_fleet(FleetSpec.for_series_count(24, anomaly_ratio=0.5, seed=3))
    results = sweep_fleet(DefaultAnomalyEngine(), fleet, [0.7, 0.4, 0.5, 0.4])
    assert [r.threshold for r in results] == [0.4, 0.5, 0.7]  # sorted, repeats once
    own = evaluate_fleet(DefaultAnomalyEngine(), fleet)
    assert own.threshold == 0.5
    at_half = results[1]
    assert (at_half.detected, at_half.false_alarms) == (own.detected, own.false_alarms)
    # a looser threshold alarms at least as often as a stricter one
    assert results[0].alarms >= results[1].alarms >= results[2].alarms
    rows = fleet_sweep_to_dict(results)
    assert [row["threshold"] for row in rows] == [0.4, 0.5, 0.7]
    assert rows[1]["recall"] == own.recall
    assert fleet_sweep_table(results, 0.5).row_count == 3


@pytest.mark.parametrize("thresholds", [[], [0.5, 1.2], [-0.1]])
def test_sweep_fleet_refuses_bad_thresholds(thresholds: list[float]) -> None:
    fleet = simulate_fleet(FleetSpec.for_series_count(2, seed=3))
    with pytest.raises(ValidationError, match="thresholds"):
        sweep_fleet(DefaultAnomalyEngine(), fleet, thresholds)
