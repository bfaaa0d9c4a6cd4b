"""MetricSimulator.generate: grid, reproducibility, metadata and the inject_* flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.errors import ValidationError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig

T0 = datetime(2024, 1, 1)


def _sim(**kwargs: object) -> MetricSimulator:
    return MetricSimulator(SimulatorConfig(seed=11, **kwargs))  # type: ignore[arg-type]


def test_generate_points_every_sampling_interval() -> None:
    series = _sim(sampling_interval_seconds=300).generate("t", "c", "n", "cpu_usage", 10, T0)
    assert series.length == 10
    assert series.timestamps[0] == T0
    assert set(np.diff(series.timestamps_ns).tolist()) == {300 * 10**9}


def test_generate_same_seed_and_ids_same_series() -> None:
    first = _sim().generate("t", "c", "node-1", "latency", 500, T0)
    again = _sim().generate("t", "c", "node-1", "latency", 500, T0)
    assert first == again


def test_generate_independent_of_generation_order() -> None:
    sim = _sim()
    sim.generate("t", "c", "node-0", "latency", 50, T0)
    after_other = sim.generate("t", "c", "node-1", "latency", 50, T0)
    assert after_other == _sim().generate("t", "c", "node-1", "latency", 50, T0)


@pytest.mark.parametrize(
    "other",
    [
        ("t", "c", "node-2", "latency"),
        ("t", "c2", "node-1", "latency"),
        ("t2", "c", "node-1", "latency"),
        ("t", "c", "node-1", "throughput"),
    ],
)
def test_generate_different_ids_differ(other: tuple[str, str, str, str]) -> None:
    base = _sim().generate("t", "c", "node-1", "latency", 200, T0)
    assert not np.array_equal(base.values_array, _sim().generate(*other, 200, T0).values_array)


def test_generate_different_seeds_differ() -> None:
    a = MetricSimulator(SimulatorConfig(seed=1)).generate("t", "c", "n", "cpu_usage", 100, T0)
    b = MetricSimulator(SimulatorConfig(seed=2)).generate("t", "c", "n", "cpu_usage", 100, T0)
    assert not np.array_equal(a.values_array, b.values_array)


def test_generate_unseeded_simulators_differ() -> None:
    a = MetricSimulator().generate("t", "c", "n", "cpu_usage", 100, T0)
    b = MetricSimulator().generate("t", "c", "n", "cpu_usage", 100, T0)
    assert not np.array_equal(a.values_array, b.values_array)


def test_generate_start_none_is_now_floored_to_interval() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    series = _sim(sampling_interval_seconds=60).generate("t", "c", "n", "cpu_usage", 3)
    first = series.timestamps[0]
    assert first.second == 0 and first.microsecond == 0
    assert before - timedelta(seconds=61) <= first <= before + timedelta(seconds=1)


def test_generate_aware_start_gives_aware_timestamps() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    series = _sim().generate("t", "c", "n", "cpu_usage", 3, start)
    assert series.timestamps[0] == start and series.timestamps[0].tzinfo is not None


def test_generate_unknown_metric_uses_config_baseline() -> None:
    series = _sim(baseline_mean=200.0, baseline_std=10.0).generate(
        "t", "c", "n", "queue_depth", 5000, T0
    )
    values = series.values_array
    assert abs(values.mean() - 200.0) < 1.0
    assert abs(values.std() - 10.0) < 0.5
    assert series.metadata["unit"] is None and series.metadata["profile"] == "generic"


def test_generate_metadata_names_unit_bounds_and_seed() -> None:
    series = _sim().generate("t", "c", "n", "network_in", 5, T0)
    assert series.metadata["unit"] == "bytes/s"
    assert (series.metadata["lower"], series.metadata["upper"]) == (0.0, None)
    assert series.metadata["seed"] == 11 and series.metadata["anomalies"] == []


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("num_points", {"num_points": 0}),
        ("num_points", {"num_points": 2.5}),
        ("tenant_id", {"tenant_id": ""}),
        ("start_time", {"start_time": "not a time"}),
    ],
)
def test_generate_rejects_bad_argument_naming_it(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "tenant_id": "t",
        "cluster_id": "c",
        "node_id": "n",
        "metric_name": "cpu_usage",
        "num_points": 5,
        "start_time": T0,
    }
    with pytest.raises(ValidationError) as caught:
        _sim().generate(**{**args, **kwargs})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_generate_inject_spikes_labels_every_spike() -> None:
    series = _sim(inject_spikes=True, spike_probability=0.02, spike_magnitude=5.0).generate(
        "t", "c", "n", "queue_depth", 2000, T0
    )
    clean = _sim().generate("t", "c", "n", "queue_depth", 2000, T0)
    anomalies = series.metadata["anomalies"]
    assert 10 <= len(anomalies) <= 80
    changed = np.flatnonzero(series.values_array != clean.values_array)
    labelled = sorted({a["start_index"] for a in anomalies})
    assert changed.tolist() == labelled
    assert all(a["kind"] == "spike" for a in anomalies)


def test_generate_inject_trend_and_seasonal_after_warmup() -> None:
    series = _sim(inject_trends=True, inject_seasonal=True).generate(
        "t", "c", "n", "cpu_usage", 1000, T0
    )
    kinds = [a["kind"] for a in series.metadata["anomalies"]]
    assert kinds == ["drift", "seasonal"]
    assert all(a["start_index"] >= 300 for a in series.metadata["anomalies"])
