"""The simulator's public surface: pinned names, documented entry points."""

from __future__ import annotations

import backend.simulator as simulator
from backend.errors import CSVReplayError as TreeCSVReplayError
from backend.simulator import csv_replay, generator


def test_simulator_all_is_pinned() -> None:
    assert sorted(simulator.__all__) == sorted(
        [
            "ANOMALY_KINDS",
            "DEFAULT_METRICS",
            "LONG_COLUMNS",
            "NODE_METRICS",
            "PROFILES",
            "SERVICE_METRICS",
            "AnomalyInjector",
            "AnomalyLabel",
            "CSVMetricLoader",
            "CSVReplayError",
            "CSVScenarioReplayer",
            "ExportResult",
            "FleetSpec",
            "MetricProfile",
            "MetricSimulator",
            "SimulatedFleet",
            "SimulatorConfig",
            "generate_multi_node_scenario",
            "get_profile",
            "labels_frame",
            "long_frame",
            "read_labels",
            "read_long_frame",
            "simulate_fleet",
            "write_fleet",
        ]
    )
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None


def test_generator_exposes_documented_names() -> None:
    for name in (
        "SimulatorConfig",
        "MetricSimulator",
        "AnomalyInjector",
        "generate_multi_node_scenario",
    ):
        assert getattr(generator, name) is getattr(simulator, name)


def test_csv_replay_error_is_the_tree_error() -> None:
    assert csv_replay.CSVReplayError is TreeCSVReplayError
