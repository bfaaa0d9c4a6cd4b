"""Simulated cloud metrics with labelled anomalies (SPEC §6).

Build one series with :class:`MetricSimulator`, inject anomalies with
:class:`AnomalyInjector`, simulate whole fleets with :func:`simulate_fleet`, write them with
:func:`write_fleet`, and replay recorded CSV files with :mod:`backend.simulator.csv_replay`.
"""

from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.csv_replay import CSVMetricLoader, CSVReplayError, CSVScenarioReplayer
from backend.simulator.export import ExportResult, read_labels, read_long_frame, write_fleet
from backend.simulator.fleet import (
    DEFAULT_METRICS,
    FleetSpec,
    SimulatedFleet,
    generate_multi_node_scenario,
    simulate_fleet,
)
from backend.simulator.frames import LONG_COLUMNS, long_frame
from backend.simulator.injector import AnomalyInjector
from backend.simulator.labels import AnomalyLabel, labels_frame
from backend.simulator.placement import ANOMALY_KINDS
from backend.simulator.profiles import (
    NODE_METRICS,
    PROFILES,
    SERVICE_METRICS,
    MetricProfile,
    get_profile,
)

__all__ = [
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
