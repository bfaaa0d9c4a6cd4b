"""Realistic metric profiles, keyed by metric name.

Each profile documents its unit and bounds and turns timestamps plus the node's load shape
into values, vectorised. Node metrics: ``cpu_usage`` (percent), ``memory_used`` (percent),
``disk_io`` (operations per second), ``network_in`` / ``network_out`` (bytes per second).
Service metrics: ``latency`` (milliseconds), ``error_rate`` (percent of requests, 0–100) and
``throughput`` (requests per second). Any other name falls back to the generic profile:
i.i.d. normal values around the config's ``baseline_mean`` with ``baseline_std``.

Per-series parameters (levels, amplitudes) come from the series' own random generator, so
nodes differ; the daily phase and weekend dip come from the node, so the metrics of one node
move together (latency rises with throughput and CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from backend.simulator._signals import bursts, unit_ar1
from backend.simulator.config import SimulatorConfig

__all__ = [
    "NODE_METRICS",
    "PROFILES",
    "SERVICE_METRICS",
    "MetricProfile",
    "get_profile",
]

Synthesizer = Callable[[np.ndarray, np.ndarray, np.random.Generator, SimulatorConfig], np.ndarray]


@dataclass(frozen=True)
class MetricProfile:
    """How one kind of metric behaves: unit, bounds and a vectorised synthesizer.

    ``synthesize(t_ns, load, rng, config)`` returns raw values; the simulator clips them to
    ``[lower, upper]`` (``None`` = unbounded).
    """

    name: str
    unit: str | None
    lower: float | None
    upper: float | None
    description: str
    synthesize: Synthesizer

    def clip(self, values: np.ndarray) -> np.ndarray:
        """Values forced into the profile's bounds (a no-op for unbounded profiles)."""
        if self.lower is None and self.upper is None:
            return values
        return np.clip(values, self.lower, self.upper)


def _cpu_usage(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    idle, busy = rng.uniform(8.0, 20.0), rng.uniform(30.0, 50.0)
    mean = idle + busy * load + 2.0 * unit_ar1(rng, t_ns.size, 0.98)
    # Busier machines are noisier: the noise grows with load.
    noise = rng.standard_normal(t_ns.size) * config.noise_level * (15.0 + 25.0 * load)
    return mean + noise


def _memory_used(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    base, leak = rng.uniform(30.0, 50.0), rng.uniform(10.0, 25.0)
    period_s = rng.uniform(4.0, 12.0) * 3600.0
    phase_s = rng.uniform(0.0, period_s)
    seconds = t_ns.astype(np.float64) / 1e9
    sawtooth = ((seconds + phase_s) % period_s) / period_s  # leaks, then a GC/restart frees it
    noise = rng.standard_normal(t_ns.size) * config.noise_level * 8.0
    return base + leak * sawtooth + 5.0 * load + noise


def _disk_io(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    level = rng.uniform(50.0, 300.0)
    base = level * (0.5 + 0.5 * load)
    jitter = np.exp(rng.standard_normal(t_ns.size) * 2.0 * config.noise_level)
    return base * jitter + bursts(rng, t_ns.size, 0.004, level, 0.6)


def _network(low_exp: float, high_exp: float) -> Synthesizer:
    def synthesize(
        t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
    ) -> np.ndarray:
        level = 10.0 ** rng.uniform(low_exp, high_exp)
        # Student-t with 4 degrees of freedom (variance 2): heavier tails than normal.
        tails = rng.standard_t(4.0, t_ns.size) / np.sqrt(2.0)
        return level * (0.2 + 0.8 * load) * np.exp(2.0 * config.noise_level * tails)

    return synthesize


def _latency(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    base = rng.uniform(20.0, 120.0)
    congestion = 1.0 + 0.8 * load**2  # queueing: latency climbs faster than load
    return base * congestion * rng.lognormal(0.0, 2.0 * config.noise_level, t_ns.size)


def _error_rate(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    base = rng.uniform(0.05, 0.5) * (0.7 + 0.6 * load)
    jitter = rng.gamma(4.0, 0.25, t_ns.size) ** (10.0 * config.noise_level)
    return base * jitter + bursts(rng, t_ns.size, 0.002, 1.0, 0.8)


def _throughput(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    mean = rng.uniform(50.0, 1000.0) * (0.1 + 0.9 * load)
    spread = np.sqrt(mean) + 0.5 * config.noise_level * mean  # Poisson-like plus jitter
    return mean + rng.standard_normal(t_ns.size) * spread


def _generic(
    t_ns: np.ndarray, load: np.ndarray, rng: np.random.Generator, config: SimulatorConfig
) -> np.ndarray:
    return config.baseline_mean + config.baseline_std * rng.standard_normal(t_ns.size)


_ALL = (
    MetricProfile("cpu_usage", "percent", 0.0, 100.0,
                  "CPU busy share; daily and weekly cycle, load-dependent noise", _cpu_usage),
    MetricProfile("memory_used", "percent", 0.0, 100.0,
                  "memory in use; slow leak then release (sawtooth)", _memory_used),
    MetricProfile("disk_io", "ops/s", 0.0, None,
                  "disk operations per second; bursty", _disk_io),
    MetricProfile("network_in", "bytes/s", 0.0, None,
                  "bytes received; daily cycle, heavy-tailed noise", _network(6.0, 7.5)),
    MetricProfile("network_out", "bytes/s", 0.0, None,
                  "bytes sent; daily cycle, heavy-tailed noise", _network(5.5, 7.0)),
    MetricProfile("latency", "ms", 0.0, None,
                  "request latency; lognormal, rises with load", _latency),
    MetricProfile("error_rate", "percent", 0.0, 100.0,
                  "failed requests in percent; small with occasional bursts", _error_rate),
    MetricProfile("throughput", "requests/s", 0.0, None,
                  "requests per second; daily and weekly cycle", _throughput),
)  # fmt: skip

GENERIC = MetricProfile(
    "generic", None, None, None, "normal around baseline_mean with baseline_std", _generic
)
PROFILES: Mapping[str, MetricProfile] = MappingProxyType({p.name: p for p in _ALL})
NODE_METRICS = ("cpu_usage", "memory_used", "disk_io", "network_in", "network_out")
SERVICE_METRICS = ("latency", "error_rate", "throughput")
_ALIASES = {
    "cpu": "cpu_usage",
    "memory": "memory_used",
    "memory_usage": "memory_used",
    "disk": "disk_io",
}


def get_profile(metric_name: str) -> MetricProfile:
    """The profile for ``metric_name`` (a few short aliases accepted), else the generic one.

    >>> get_profile("cpu").unit, get_profile("cpu").upper
    ('percent', 100.0)
    >>> get_profile("queue_depth").name
    'generic'
    """
    return PROFILES.get(_ALIASES.get(metric_name, metric_name), GENERIC)
