"""Fleets: layout, reproducibility, every anomaly kind, and labels that match the values."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
import pytest

from backend.errors import ValidationError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.fleet import (
    DEFAULT_METRICS,
    FleetSpec,
    generate_multi_node_scenario,
    simulate_fleet,
)
from backend.simulator.placement import ANOMALY_KINDS

T0 = datetime(2024, 1, 1)


def _spec(**kwargs: object) -> FleetSpec:
    base: dict[str, object] = {
        "nodes_per_cluster": 6,
        "num_points": 300,
        "seed": 9,
        "anomaly_ratio": 0.3,
    }
    return FleetSpec(**{**base, **kwargs})  # type: ignore[arg-type]


def test_fleet_spec_lays_out_full_grid() -> None:
    spec = FleetSpec(tenants=2, clusters_per_tenant=3, nodes_per_cluster=4, metrics=("a", "b"))
    keys = spec.series_keys()
    assert len(keys) == len(set(keys)) == spec.total_series == 2 * 3 * 4 * 2
    per_cluster = Counter((k.tenant_id, k.cluster_id) for k in keys)
    assert len(per_cluster) == 6 and set(per_cluster.values()) == {8}


def test_fleet_spec_for_series_count_exact_and_balanced() -> None:
    spec = FleetSpec.for_series_count(1000, tenants=1, clusters_per_tenant=2)
    keys = spec.series_keys()
    assert len(keys) == 1000
    nodes = Counter(
        k.cluster_id for k in {(k.tenant_id, k.cluster_id, k.node_id): k for k in keys}.values()
    )
    assert sorted(nodes.values()) == [62, 63]
    assert {k.metric_name for k in keys} == set(DEFAULT_METRICS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tenants": 0}, "tenants"),
        ({"metrics": ()}, "metrics"),
        ({"metrics": ("a", "a")}, "metrics"),
        ({"freq": "often"}, "freq"),
        ({"anomaly_ratio": 1.5}, "anomaly_ratio"),
        ({"anomaly_kinds": ("spike", "boom")}, "anomaly_kinds"),
        ({"num_points": 10}, "num_points"),
        ({"n_series": 10_000}, "n_series"),
        ({"seed": -1}, "seed"),
        ({"start_time": "yesterday-ish"}, "start_time"),
        ({"warmup_fraction": 0.95}, "warmup_fraction"),
    ],
)
def test_fleet_spec_rejects_bad_field_naming_it(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(**kwargs)
    assert caught.value.field == field


def test_simulate_fleet_same_seed_same_fleet() -> None:
    first, again = simulate_fleet(_spec()), simulate_fleet(_spec())
    assert first.series == again.series
    assert first.labels == again.labels


def test_simulate_fleet_other_seed_differs() -> None:
    first, other = simulate_fleet(_spec()), simulate_fleet(_spec(seed=10))
    assert not np.array_equal(first.series[0].values_array, other.series[0].values_array)


def test_simulate_fleet_series_share_grid_from_start() -> None:
    fleet = simulate_fleet(_spec(freq="5min", anomaly_ratio=0.0))
    for series in fleet.series:
        assert series.timestamps[0] == T0
        assert set(np.diff(series.timestamps_ns).tolist()) == {300 * 10**9}


def test_simulate_fleet_injects_every_kind_after_warmup() -> None:
    fleet = simulate_fleet(_spec(anomaly_ratio=0.1))
    assert set(fleet.anomaly_counts()) == set(ANOMALY_KINDS)
    assert all(label.start_index >= 0.3 * 300 for label in fleet.labels)
    assert len({label.key for label in fleet.labels}) == len(fleet.labels)


def test_simulate_fleet_ratio_sets_anomalous_share() -> None:
    fleet = simulate_fleet(_spec(nodes_per_cluster=20, anomaly_ratio=0.25))
    assert len(fleet.labels) == round(0.25 * fleet.spec.total_series)


def test_simulate_fleet_zero_ratio_no_labels() -> None:
    fleet = simulate_fleet(_spec(anomaly_ratio=0.0))
    assert fleet.labels == () and fleet.anomaly_counts() == {}
    assert not fleet.to_frame()["is_anomaly"].any()


def test_simulate_fleet_labels_consistent_with_values() -> None:
    spec = _spec(noise_level=0.1)
    fleet = simulate_fleet(spec)
    clean = MetricSimulator(SimulatorConfig(seed=9, noise_level=0.1))
    by_key = {s.key: s for s in fleet.series}
    labelled = {label.key: label for label in fleet.labels}
    for key, series in by_key.items():
        baseline = clean.generate(*key, num_points=300, start_time=T0)
        label = labelled.get(key)
        if label is None:
            assert series == baseline
            continue
        assert series.metadata["anomalies"][0]["kind"] == label.kind
        if label.kind == "missing_data":
            assert series.length == 300 - (label.end_index - label.start_index + 1)
            continue
        changed = np.flatnonzero(series.values_array != baseline.values_array)
        assert changed.size > 0
        assert changed.min() >= label.start_index and changed.max() <= label.end_index


def test_simulate_fleet_frame_marks_exactly_labelled_points() -> None:
    fleet = simulate_fleet(_spec())
    frame = fleet.to_frame()
    assert len(frame) == fleet.n_points
    marked = frame[frame["is_anomaly"]]
    expected = sum(
        label.end_index - label.start_index + 1
        for label in fleet.labels
        if label.kind != "missing_data"
    )
    assert len(marked) == expected
    assert set(marked["anomaly_kind"]) == set(fleet.anomaly_counts()) - {"missing_data"}
    assert set(frame.loc[~frame["is_anomaly"], "anomaly_kind"]) == {""}


def test_simulate_fleet_reports_progress() -> None:
    calls: list[tuple[int, int]] = []
    simulate_fleet(
        _spec(anomaly_ratio=0.0), progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1] == (48, 48)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_labels_frame_has_one_row_per_label() -> None:
    fleet = simulate_fleet(_spec())
    table = fleet.labels_frame()
    assert len(table) == len(fleet.labels)
    assert str(table["start_time"].dtype) == "datetime64[ns, UTC]"
    assert (table["end_index"] >= table["start_index"]).all()


def test_generate_multi_node_scenario_documented_shape() -> None:
    series = generate_multi_node_scenario("t1", "c1", num_nodes=10, num_points=200, seed=4)
    assert len(series) == 10 and len({s.node_id for s in series}) == 10
    assert {(s.tenant_id, s.cluster_id, s.metric_name) for s in series} == {
        ("t1", "c1", "cpu_usage")
    }
    anomalous = [s for s in series if s.metadata["anomalies"]]
    assert len(anomalous) == 2
    assert all(s.metadata["anomalies"][0]["kind"] in {"spike", "dip"} for s in anomalous)


def test_generate_multi_node_scenario_zero_ratio_is_clean() -> None:
    series = generate_multi_node_scenario("t1", "c1", 4, 50, anomaly_node_ratio=0.0, seed=1)
    assert all(s.metadata["anomalies"] == [] for s in series)


def test_generate_multi_node_scenario_reproducible_with_seed() -> None:
    first = generate_multi_node_scenario("t1", "c1", 3, 100, seed=2, start_time=T0)
    again = generate_multi_node_scenario("t1", "c1", 3, 100, seed=2, start_time=T0)
    assert first == again
