"""Configuration of the metric simulator: one validated, frozen dataclass."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from backend.errors import ConfigError

__all__ = ["SimulatorConfig"]

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class SimulatorConfig:
    """How :class:`~backend.simulator.generator.MetricSimulator` builds series.

    Parameters
    ----------
    baseline_mean, baseline_std
        Mean and standard deviation of metrics without a realistic profile (unknown names):
        those are i.i.d. normal around ``baseline_mean``. Known metrics (cpu_usage, latency,
        ...) use their own profile, see :mod:`backend.simulator.profiles`.
    sampling_interval_seconds
        Spacing between points, in seconds (> 0).
    noise_level
        White-noise standard deviation of the realistic profiles, as a fraction of the
        profile's level (0.1 = 10 %); 0 gives the clean seasonal shape.
    inject_spikes
        Add random spikes (probability ``spike_probability`` per point, height
        ``spike_magnitude`` standard deviations), recorded in ``metadata["anomalies"]``.
    inject_trends
        Add one gradual drift starting in the last 70 % of the series that reaches
        ``spike_magnitude`` standard deviations by the end.
    inject_seasonal
        Add one seasonal change (a new periodic component) in the last 70 % of the series.
    spike_probability
        Per-point probability of a random spike, in [0, 1].
    spike_magnitude
        Size of injected anomalies, in standard deviations of the series.
    seed
        Root seed. The same seed and the same tenant/cluster/node/metric ids (and start time)
        give the same series; ``None`` draws a fresh seed per simulator.

    >>> SimulatorConfig(seed=7).sampling_interval_ns
    60000000000
    >>> SimulatorConfig(noise_level=-1)
    Traceback (most recent call last):
    ...
    backend.errors.ConfigError: noise_level=-1: must be a finite number >= 0
    """

    baseline_mean: float = 50.0
    baseline_std: float = 5.0
    sampling_interval_seconds: float = 60
    noise_level: float = 0.1
    inject_spikes: bool = False
    inject_trends: bool = False
    inject_seasonal: bool = False
    spike_probability: float = 0.01
    spike_magnitude: float = 3.0
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_finite("baseline_mean", self.baseline_mean)
        _check_finite("baseline_std", self.baseline_std, minimum=0.0)
        _check_finite("noise_level", self.noise_level, minimum=0.0)
        _check_finite("spike_magnitude", self.spike_magnitude)
        _check_finite("spike_probability", self.spike_probability, minimum=0.0)
        if self.spike_probability > 1.0:
            raise ConfigError("spike_probability", self.spike_probability, "must be in [0, 1]")
        _check_interval(self.sampling_interval_seconds)
        for name in ("inject_spikes", "inject_trends", "inject_seasonal"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, getattr(self, name), "must be True or False")
        _check_seed(self.seed)
        if self.seed is not None:
            object.__setattr__(self, "seed", int(self.seed))

    @property
    def sampling_interval_ns(self) -> int:
        """The sampling interval in integer nanoseconds (the unit of series timestamps)."""
        return round(float(self.sampling_interval_seconds) * NS_PER_SECOND)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_finite(name: str, value: Any, minimum: float | None = None) -> None:
    if not _is_number(value) or not math.isfinite(value):
        reason = "must be a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        raise ConfigError(name, value, reason)
    if minimum is not None and value < minimum:
        raise ConfigError(name, value, f"must be a finite number >= {minimum:g}")


def _check_interval(value: Any) -> None:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError("sampling_interval_seconds", value, "must be a number of seconds > 0")
    if round(float(value) * NS_PER_SECOND) < 1:
        raise ConfigError("sampling_interval_seconds", value, "must be at least one nanosecond")


def _check_seed(seed: Any) -> None:
    if seed is None:
        return
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "must be a non-negative integer or None")
