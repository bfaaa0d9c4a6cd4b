"""Metric profiles: units, bounds, seasonality and correlation with load."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from backend.simulator._signals import day_of_week, hour_of_day
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.profiles import PROFILES, get_profile

MONDAY = datetime(2024, 1, 1)
WEEK_OF_5MIN = 7 * 288


def _week(metric: str, node: str = "node-1", **config: object) -> np.ndarray:
    sim = MetricSimulator(SimulatorConfig(seed=5, sampling_interval_seconds=300, **config))  # type: ignore[arg-type]
    return sim.generate("t", "c", node, metric, WEEK_OF_5MIN, MONDAY).values_array


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_values_respect_bounds(name: str) -> None:
    profile = PROFILES[name]
    for node in ("node-1", "node-2", "node-3"):
        values = _week(name, node, noise_level=0.5)
        assert np.isfinite(values).all()
        if profile.lower is not None:
            assert values.min() >= profile.lower
        if profile.upper is not None:
            assert values.max() <= profile.upper


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_documents_unit(name: str) -> None:
    assert PROFILES[name].unit and PROFILES[name].description


def _weekday_hour_spread(name: str) -> float:
    """Range of weekday hour-of-day means, in standard errors of one hourly mean."""
    sim = MetricSimulator(SimulatorConfig(seed=5, sampling_interval_seconds=300))
    series = sim.generate("t", "c", "node-1", name, WEEK_OF_5MIN, MONDAY)
    hours = hour_of_day(series.timestamps_ns).astype(int)
    weekday = day_of_week(series.timestamps_ns) < 5
    values = series.values_array
    means = np.array([values[(hours == h) & weekday].mean() for h in range(24)])
    per_hour = int(((hours == 0) & weekday).sum())
    noise = np.std(np.diff(values)) / np.sqrt(2)  # point-to-point noise, seasonality removed
    return float((means.max() - means.min()) / (noise / np.sqrt(per_hour)))


@pytest.mark.parametrize("name", ["cpu_usage", "throughput", "network_in", "latency"])
def test_profile_daily_seasonality_hour_means_differ(name: str) -> None:
    assert _weekday_hour_spread(name) > 10


def test_profile_generic_has_no_daily_seasonality() -> None:
    assert _weekday_hour_spread("queue_depth") < 8


def test_profile_weekly_seasonality_weekend_lower_for_throughput() -> None:
    sim = MetricSimulator(SimulatorConfig(seed=5, sampling_interval_seconds=300))
    series = sim.generate("t", "c", "node-1", "throughput", WEEK_OF_5MIN, MONDAY)
    weekend = day_of_week(series.timestamps_ns) >= 5
    assert series.values_array[weekend].mean() < 0.9 * series.values_array[~weekend].mean()


def test_profile_latency_correlates_with_throughput_on_same_node() -> None:
    latency, throughput = _week("latency"), _week("throughput")
    kernel = np.ones(12) / 12  # hourly means, to look past the noise
    smooth = [np.convolve(x, kernel, mode="valid") for x in (latency, throughput)]
    assert np.corrcoef(*smooth)[0, 1] > 0.5


def test_profile_memory_sawtooth_has_sharp_drops() -> None:
    values = _week("memory_used", noise_level=0.0)
    steps = np.diff(values)
    assert steps.min() < -5.0  # releases are sudden
    assert np.median(steps) > 0  # leaks are gradual


def test_profile_disk_io_is_bursty() -> None:
    values = _week("disk_io")
    assert values.max() > np.percentile(values, 50) * 2


def test_profile_error_rate_is_small_percent() -> None:
    values = _week("error_rate")
    assert np.median(values) < 2.0 and values.min() >= 0.0


def test_profile_noise_level_zero_is_smoother() -> None:
    quiet, loud = _week("cpu_usage", noise_level=0.0), _week("cpu_usage", noise_level=0.3)
    assert np.std(np.diff(quiet)) < np.std(np.diff(loud)) / 3


def test_get_profile_aliases_and_fallback() -> None:
    assert get_profile("cpu") is PROFILES["cpu_usage"]
    assert get_profile("memory") is PROFILES["memory_used"]
    assert get_profile("something_else").name == "generic"
