"""A simulated fleet scored in many short runs, as a live deployment scores it, compared
with the one-pass evaluation of the same fleet."""

from __future__ import annotations

import pytest

from backend.detection.default_engine import DefaultAnomalyEngine
from backend.errors import ValidationError
from backend.evaluation.fleet import evaluate_fleet
from backend.evaluation.live import evaluate_fleet_live
from backend.simulator import FleetSpec, simulate_fleet


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    spec = FleetSpec(nodes_per_cluster=6, num_points=2880, freq="1min", anomaly_ratio=0.5,
                     seed=3)  # fmt: skip
    return simulate_fleet(spec)


def test_live_runs_find_what_one_pass_finds_and_name_it_as_well(fleet) -> None:  # type: ignore[no-untyped-def]
    engine = DefaultAnomalyEngine()
    once = evaluate_fleet(engine, fleet)
    live = evaluate_fleet_live(engine, fleet, run_points=1)  # one run per new minute
    assert live.events == once.events and live.series == once.series
    # the first half is one run in both; the second is scored a point at a time
    assert abs(live.detected - once.detected) <= max(2, once.detected // 10)
    # anomalies are told again as the minutes after them arrive: kinds hold up live
    assert live.kind_accuracy >= once.kind_accuracy - 0.1
    assert live.kind_accuracy >= 0.8


def test_live_evaluation_refuses_bad_settings(fleet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="run_points"):
        evaluate_fleet_live(DefaultAnomalyEngine(), fleet, run_points=0)
    with pytest.raises(ValidationError, match="history_fraction"):
        evaluate_fleet_live(DefaultAnomalyEngine(), fleet, run_points=5, history_fraction=1.0)
