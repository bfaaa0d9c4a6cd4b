"""Random placement: every injected anomaly leaves the series' own normal variation."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.errors import ValidationError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.injector import AnomalyInjector, series_bounds, series_std
from backend.simulator.placement import NormalVariation, inject_random
from backend.simulator.profiles import PROFILES

T0 = datetime(2024, 1, 1)
DAYS = 6
METRICS = tuple(PROFILES)
SEEDS = (0, 1, 2)


def _clean(metric: str, seed: int) -> MetricSeries:
    """Six days at five minutes: daily cycles, bursts and bounds as in the evaluation fleet."""
    config = SimulatorConfig(seed=seed, sampling_interval_seconds=300)
    return MetricSimulator(config).generate("t", "c", f"n{seed}", metric, DAYS * 288, T0)


def _inject(metric: str, seed: int, kind: str) -> tuple[MetricSeries, MetricSeries, dict]:
    clean = _clean(metric, seed)
    rng = np.random.default_rng([seed, METRICS.index(metric), len(kind)])
    injected, meta = inject_random(clean, kind, rng)
    return clean, injected, meta


def _residual(clean: MetricSeries) -> np.ndarray:
    """Deviations of the clean series from its usual pattern (the rolling median)."""
    return clean.values_array - NormalVariation.of_series(clean).usual


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind", ["spike", "dip"])
def test_spike_or_dip_leaves_the_pre_anomaly_range(metric: str, kind: str) -> None:
    for seed in SEEDS:
        clean, injected, meta = _inject(metric, seed, kind)
        start, end = meta["start_index"], meta["end_index"]
        usual = NormalVariation.of_series(clean).usual
        before = _residual(clean)[:start]
        window = injected.values_array[start : end + 1] - usual[start : end + 1]
        lower, _ = series_bounds(clean)
        if meta["kind"] == "spike":
            assert window.min() > before.max(), (metric, seed, meta["parameters"])
        else:  # beyond the lowest normal stray, or pinned at the bound below it
            pinned = injected.values_array[start : end + 1] == lower
            assert np.all((window < before.min()) | pinned), (metric, seed, meta["parameters"])
            assert window.max() < np.percentile(before, 1.0)


@pytest.mark.parametrize("metric", METRICS)
def test_level_shift_leaves_the_band_and_the_daily_wander(metric: str) -> None:
    for seed in SEEDS:
        clean, injected, meta = _inject(metric, seed, "level_shift")
        start = meta["start_index"]
        change = injected.values_array[start:] - clean.values_array[start:]
        amount = meta["parameters"]["shift_amount"]
        # Not bent by the bounds: the whole span moves by the same amount.
        assert np.mean(np.isclose(change, amount)) > 0.95, (metric, seed)
        residual = _residual(clean)  # the band of the whole clean series
        band = np.percentile(residual, 99.0) if amount > 0 else -np.percentile(residual, 1.0)
        usual = NormalVariation.of_series(clean).usual
        wander = np.percentile(np.abs(usual[288:start] - usual[: start - 288]), 99.0)
        assert abs(amount) > max(band, 0.9 * wander), (metric, seed, meta["parameters"])


@pytest.mark.parametrize("metric", METRICS)
def test_drift_ends_outside_the_normal_range(metric: str) -> None:
    for seed in SEEDS:
        clean, injected, meta = _inject(metric, seed, "drift")
        start, n = meta["start_index"], clean.length
        change = injected.values_array - clean.values_array
        last_fifth = change[start + int(0.8 * (n - start)) :]
        residual = _residual(clean)  # the band of the whole clean series
        up = meta["parameters"]["slope"] > 0
        band = np.percentile(residual, 99.0) if up else -np.percentile(residual, 1.0)
        assert np.all(np.abs(last_fifth) > band), (metric, seed, meta["parameters"])
        assert np.all(np.sign(last_fifth) == np.sign(meta["parameters"]["slope"]))


@pytest.mark.parametrize("metric", METRICS)
def test_seasonal_swing_crests_leave_the_band(metric: str) -> None:
    for seed in SEEDS:
        clean, _, meta = _inject(metric, seed, "seasonal")
        params = meta["parameters"]
        swing = params["amplitude"] * params["std"]
        residual = _residual(clean)  # the band of the whole clean series
        band = max(np.percentile(residual, 99.0), -np.percentile(residual, 1.0))
        assert swing > band + params["sizing"]["noise"], (metric, seed, params)


def test_bursty_metric_spike_clears_its_largest_burst() -> None:
    # The case: error-rate bursts reach far above the usual level; a spike must too.
    clean, injected, meta = _inject("error_rate", 0, "spike")
    start, end = meta["start_index"], meta["end_index"]
    residual = _residual(clean)
    usual = injected.values_array - (clean.values_array - residual)
    assert usual[start : end + 1].min() > 1.25 * residual.max()


def test_dip_on_series_near_zero_flips_to_a_visible_spike() -> None:
    values = 0.02 + np.random.default_rng(4).gamma(2.0, 0.05, 2000)
    stamps = [T0 + timedelta(minutes=5 * i) for i in range(values.size)]
    series = MetricSeries("t", "c", "n", "error_rate", stamps, values)
    injected, meta = inject_random(series, "dip", np.random.default_rng(1))
    assert meta["kind"] == "spike"
    assert meta["parameters"]["direction_flipped"] is True
    assert meta["parameters"]["sizing"]["direction_flipped"] is True
    start = meta["start_index"]
    assert injected.values_array[start] > values.max()


def test_labels_record_the_scales_and_size_in_value_units() -> None:
    _, injected, meta = _inject("cpu_usage", 0, "level_shift")
    sizing = meta["parameters"]["sizing"]
    assert {"noise", "band_up", "band_down", "reach_up", "reach_down", "wander", "delta"} <= set(
        sizing
    )
    assert sizing["delta"] == meta["parameters"]["shift_amount"]
    assert injected.metadata["anomalies"][-1]["parameters"]["sizing"] == sizing


def test_sizes_follow_the_noise_not_the_daily_swing() -> None:
    # Same noise, ten times the daily swing: the old std-based sizes grew tenfold, these do not.
    t = np.arange(DAYS * 288)
    noise = np.random.default_rng(2).normal(0.0, 1.0, t.size)
    stamps = [T0 + timedelta(minutes=5 * int(i)) for i in t]
    sizes = []
    for swing in (5.0, 50.0):
        values = 500.0 + swing * np.sin(2 * np.pi * t / 288) + noise
        series = MetricSeries("t", "c", "n", "queue", stamps, values)
        _, meta = inject_random(series, "level_shift", np.random.default_rng(3))
        sizes.append(abs(meta["parameters"]["shift_amount"]) / series_std(values))
        assert abs(meta["parameters"]["shift_amount"]) < 15.0
    assert sizes[1] < sizes[0] / 5


def test_injector_records_sizing_and_rejects_a_non_mapping() -> None:
    clean = _clean("cpu_usage", 0)
    _, meta = AnomalyInjector.inject_spike(clean, 500, 4.0, 2, sizing={"why": "test"})
    assert meta["parameters"]["sizing"] == {"why": "test"}
    with pytest.raises(ValidationError) as caught:
        AnomalyInjector.inject_level_shift(clean, 500, 3.0, sizing=[1, 2])  # type: ignore[arg-type]
    assert caught.value.field == "sizing"


def test_normal_variation_is_in_local_noise_units() -> None:
    # Noise that grows with the level (busy hours): the local scale follows it.
    t = np.arange(DAYS * 288)
    level = 100.0 + 80.0 * np.sin(2 * np.pi * t / 288)
    values = level * (1.0 + 0.05 * np.random.default_rng(5).standard_normal(t.size))
    normal = NormalVariation.of(values, 288)
    busy, quiet = int(np.argmax(level[:288])), int(np.argmin(level[:288]))
    assert normal.local[busy] > 3.0 * normal.local[quiet]
    assert 2.0 < normal.band_up < 4.0 and 2.0 < normal.band_down < 4.0
