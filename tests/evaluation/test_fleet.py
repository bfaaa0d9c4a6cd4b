from __future__ import annotations

from backend.detection.default_engine import DefaultAnomalyEngine
from backend.evaluation.fleet import evaluate_fleet, evaluation_fleet_spec
from backend.evaluation.report import fleet_table, fleet_to_dict
from backend.simulator.fleet import FleetSpec, simulate_fleet


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
