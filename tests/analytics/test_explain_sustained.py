"""ExplanationClassifier on long histories: a late alarm inside a sustained change is named by
the change (drift, level shift), a spike on an old cycle stays a spike."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from backend.analytics.explain import AnomalyKind, ExplanationClassifier
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.simulator import AnomalyInjector, MetricSimulator, SimulatorConfig

T0 = datetime(2024, 1, 1)  # a Monday
DAY = 288  # five-minute points


def _week(metric: str, seed: int) -> MetricSeries:
    config = SimulatorConfig(seed=seed, sampling_interval_seconds=300)
    return MetricSimulator(config).generate("acme", "prod", f"n{seed}", metric, 7 * DAY, T0)


def _flag(series: MetricSeries, first: int, last: int) -> AnomalyResult:
    start, end = series.timestamps[first], series.timestamps[last]
    return AnomalyResult(*series.key, start, end, 0.9, "spike")


def _noise(series: MetricSeries) -> float:
    return 1.4826 * float(np.median(np.abs(np.diff(series.values_array)))) / np.sqrt(2.0)


def _kind(series: MetricSeries, first: int, last: int) -> AnomalyKind | None:
    return ExplanationClassifier().classify(series, _flag(series, first, last)).anomaly_kind


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("metric", ["cpu_usage", "throughput", "latency"])
def test_late_alarm_in_a_drift_is_a_drift(metric: str, seed: int) -> None:
    base = _week(metric, seed)
    start, late = 2 * DAY, 4 * DAY + 17  # Wednesday to Friday: no weekend in between
    # The detector fires once the drift has grown, here to 8 noise std: one point, two days in.
    series, _ = AnomalyInjector.inject_trend(base, start, 8.0 * _noise(base) / (late - start))
    assert _kind(series, late, late) is AnomalyKind.DRIFT


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("metric", ["cpu_usage", "disk_io", "error_rate"])
def test_burst_days_after_a_shift_is_the_shift(metric: str, seed: int) -> None:
    base = _week(metric, seed)
    start = 3 * DAY + 40
    shifted, _ = AnomalyInjector.inject_level_shift(base, start, 10.0 * _noise(base))
    burst = start + 2 * DAY
    series, _ = AnomalyInjector.inject_spike(shifted, burst, magnitude=3.0, duration=1)
    assert _kind(series, burst, burst) is AnomalyKind.LEVEL_SHIFT


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("metric", ["cpu_usage", "throughput", "network_in", "disk_io"])
def test_spike_late_in_a_long_history_stays_a_spike(metric: str, seed: int) -> None:
    # On a weekday: a first weekend would itself read as a level change (no week seen yet).
    base = _week(metric, seed)
    at = 4 * DAY + 100 + 7 * seed
    series, _ = AnomalyInjector.inject_spike(base, at, magnitude=6.0, duration=2)
    assert _kind(series, at, at + 1) is AnomalyKind.SPIKE


@pytest.mark.parametrize("seed", range(1, 9))
def test_spike_on_a_leak_and_release_cycle_is_no_new_seasonality(seed: int) -> None:
    # Memory leaks, then a release drops it: that cycle swung long before the spike, so the
    # swings after it are no change of seasonality.
    base = _week("memory_used", seed)
    at = 4 * DAY + 31 * seed
    series, _ = AnomalyInjector.inject_spike(base, at, magnitude=3.0, duration=3)
    assert _kind(series, at, at + 2) is not AnomalyKind.SEASONAL


def test_short_history_keeps_the_local_view() -> None:
    # Two days are too few to know the daily rhythm: no look back beyond the local baseline.
    base = _week("cpu_usage", 1)
    short = MetricSeries.from_arrays(
        base.key, base.timestamps_ns[: 2 * DAY], base.values_array[: 2 * DAY], base.metadata
    )
    series, _ = AnomalyInjector.inject_spike(short, DAY + 150, magnitude=6.0, duration=2)
    assert _kind(series, DAY + 150, DAY + 151) is AnomalyKind.SPIKE


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("metric", ["cpu_usage", "throughput"])
def test_spike_against_a_first_weekend_dip_stays_a_spike(metric: str, seed: int) -> None:
    # Saturday: load, and so the level, is lower than on any day seen so far; a spike up is
    # not part of that (downward) change.
    base = _week(metric, seed)
    at = 5 * DAY + 100 + 7 * seed
    series, _ = AnomalyInjector.inject_spike(base, at, magnitude=6.0, duration=2)
    assert _kind(series, at, at + 1) is AnomalyKind.SPIKE


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("metric", ["throughput", "cpu_usage"])
def test_a_plateau_of_hours_that_ended_is_no_change_under_way(metric: str, seed: int) -> None:
    # An outage cut traffic to 30 % for four hours, then it came back. The level around the
    # alarm is the plateau itself, but without it the series is where it always was: the
    # alarm is a shift down that came back, not a sustained change.
    base = _week(metric, seed)
    at = 4 * DAY + 100
    values = base.values_array.copy()
    values[at : at + 48] *= 0.3
    series = base.with_arrays(base.timestamps_ns, values)
    found = ExplanationClassifier().classify(series, _flag(series, at, at + 1))
    assert found.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    assert found.observed_value is not None and found.baseline_value is not None
    assert found.observed_value < 0.5 * found.baseline_value
    assert "shifted down" in found.description
    assert found.description.endswith("and came back after 4 h")
