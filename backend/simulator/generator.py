"""The documented entry point of the simulator (SPEC §6).

Existing scripts import :class:`SimulatorConfig`, :class:`MetricSimulator`,
:class:`AnomalyInjector` and :func:`generate_multi_node_scenario` from here; each lives in its
own sibling module (config, baseline, injector, fleet) and is re-exported unchanged.
"""

from __future__ import annotations

from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.fleet import generate_multi_node_scenario
from backend.simulator.injector import AnomalyInjector

__all__ = [
    "AnomalyInjector",
    "MetricSimulator",
    "SimulatorConfig",
    "generate_multi_node_scenario",
]
