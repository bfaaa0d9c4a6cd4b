"""The baseline generator: one realistic, reproducible metric series at a time.

>>> from datetime import datetime
>>> sim = MetricSimulator(SimulatorConfig(seed=42))
>>> s = sim.generate("t1", "c1", "node-1", "cpu_usage", num_points=3,
...                  start_time=datetime(2024, 1, 1))
>>> s.length, s.timestamps[1], s.metadata["unit"]
(3, datetime.datetime(2024, 1, 1, 0, 1), 'percent')
>>> s == sim.generate("t1", "c1", "node-1", "cpu_usage", 3, datetime(2024, 1, 1))
True
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from backend.analytics._timeconv import is_aware, to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey, check_id
from backend.errors import ValidationError
from backend.simulator._seeding import derive_rng, fresh_entropy, key_uniforms
from backend.simulator._signals import Calendar
from backend.simulator.config import SimulatorConfig
from backend.simulator.injector import AnomalyInjector, series_std
from backend.simulator.profiles import get_profile

__all__ = ["MetricSimulator"]

MAX_POINTS = 50_000_000


class MetricSimulator:
    """Generates one metric of one node at a time; see :mod:`backend.simulator.profiles`.

    The random stream of a series is derived from the root seed and its four ids, so a series
    does not depend on which other series were generated before it, and different nodes (or
    metrics) differ. With ``config.seed=None`` a fresh root seed is drawn once per simulator.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config if config is not None else SimulatorConfig()
        self._entropy = self.config.seed if self.config.seed is not None else fresh_entropy()
        self._calendar: tuple[int, int, Calendar] | None = None  # the last grid's features

    @property
    def entropy(self) -> int:
        """The root seed in use (the configured one, or the one drawn for ``seed=None``)."""
        return self._entropy

    def generate(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        num_points: int = 1000,
        start_time: Any = None,
    ) -> MetricSeries:
        """One series of ``num_points`` points, one every ``sampling_interval_seconds``.

        ``start_time`` None means now, floored to the sampling interval. Naive datetimes mean
        UTC and give naive timestamps back; aware ones give aware (UTC) timestamps back.
        ``metadata`` holds ``unit``, ``lower``/``upper`` bounds, ``profile``, ``seed`` and
        ``anomalies`` (the labelled windows injected by the config's ``inject_*`` flags).
        """
        key = _checked_key(tenant_id, cluster_id, node_id, metric_name)
        t_ns = self._timestamps(num_points, start_time)
        rng = derive_rng(self._entropy, *key)
        profile = get_profile(metric_name)
        values = profile.clip(profile.synthesize(t_ns, self._load(key, t_ns), rng, self.config))
        metadata: dict[str, Any] = {
            "unit": profile.unit,
            "lower": profile.lower,
            "upper": profile.upper,
            "profile": profile.name,
            "seed": self._entropy,
            "anomalies": [],
        }
        aware = start_time is not None and is_aware(start_time)
        series = MetricSeries.from_arrays(key, t_ns, values, metadata, aware)
        return self._inject_configured(series, rng)

    def _timestamps(self, num_points: int, start_time: Any) -> np.ndarray:
        if not isinstance(num_points, int | np.integer) or isinstance(num_points, bool):
            raise ValidationError("num_points", num_points, "must be an integer")
        if not 1 <= num_points <= MAX_POINTS:
            raise ValidationError("num_points", num_points, f"must be in [1, {MAX_POINTS}]")
        step = self.config.sampling_interval_ns
        start_ns = _start_ns(start_time, step)
        return start_ns + np.arange(int(num_points), dtype=np.int64) * step

    def _load(self, key: SeriesKey, t_ns: np.ndarray) -> np.ndarray:
        cached = self._calendar
        if cached is None or cached[:2] != (int(t_ns[0]), t_ns.size):
            cached = (int(t_ns[0]), t_ns.size, Calendar.of(t_ns))
            self._calendar = cached
        return cached[2].load(*_node_load(self._entropy, *key[:3]))

    def _inject_configured(self, series: MetricSeries, rng: np.random.Generator) -> MetricSeries:
        config, n = self.config, series.length
        if config.inject_spikes and n > 0:
            indices = np.flatnonzero(rng.random(n) < config.spike_probability)
            series, _ = AnomalyInjector.inject_spikes(series, indices, config.spike_magnitude)
        earliest = int(0.3 * n)
        if config.inject_trends and n >= 4:
            start = int(rng.integers(earliest, n - 1))
            slope = config.spike_magnitude * series_std(series.values_array) / (n - start)
            series, _ = AnomalyInjector.inject_trend(series, start, slope)
        if config.inject_seasonal and n >= 8:
            start = int(rng.integers(earliest, n - 4))
            amplitude = max(abs(config.spike_magnitude) / 2.0, 1.0)
            series, _ = AnomalyInjector.inject_seasonal_change(series, start, amplitude=amplitude)
        return series


@functools.lru_cache(maxsize=4096)
def _node_load(entropy: int, tenant_id: str, cluster_id: str, node_id: str) -> tuple[float, ...]:
    """A node's peak hour, night floor and weekend factor (shared by all its metrics)."""
    peak, floor, weekend, _ = key_uniforms(entropy, tenant_id, cluster_id, node_id).tolist()
    return (12.0 + 6.0 * peak, 0.15 + 0.25 * floor, 0.55 + 0.3 * weekend)


def _checked_key(tenant_id: str, cluster_id: str, node_id: str, metric_name: str) -> SeriesKey:
    return SeriesKey(
        check_id("tenant_id", tenant_id),
        check_id("cluster_id", cluster_id),
        check_id("node_id", node_id),
        check_id("metric_name", metric_name),
    )


def _start_ns(start_time: Any, step_ns: int) -> int:
    if start_time is None:
        now_ns = to_epoch_ns(np.datetime64("now", "ns"))
        return now_ns - now_ns % step_ns
    try:
        return to_epoch_ns(start_time)
    except (TypeError, ValueError) as exc:
        raise ValidationError("start_time", start_time, f"not a timestamp ({exc})") from None
