"""MultivariateNodeEngine: a node's metrics scored jointly."""

from __future__ import annotations

import pickle
from datetime import datetime

import numpy as np
import pytest

from backend.analytics.engine import EngineRegistry
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.detection.multivariate_engine import (
    NODE_METRIC,
    MultivariateNodeEngine,
    align_series,
)
from backend.errors import ConfigError, ValidationError
from backend.simulator import MetricSimulator, SimulatorConfig

MINUTE_NS = 60 * 10**9
BREAK = slice(640, 660)


def _node(n: int = 800, seed: int = 0, broken: bool = True) -> list[MetricSeries]:
    """CPU and network follow one load; in BREAK the CPU is busy while the network is quiet,
    both at values each metric shows every day."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * MINUTE_NS
    load = 50 + 25 * np.sin(np.arange(n) / 40.0) + rng.normal(0, 3, n)
    cpu = load + rng.normal(0, 2, n)
    net = 2 * load + rng.normal(0, 4, n)
    if broken:
        cpu[BREAK], net[BREAK] = 72.0, 2 * 30.0
    return [MetricSeries.from_arrays(("acme", "prod", "node-7", name), t, values)
            for name, values in (("cpu_usage", cpu), ("network_in", net))]  # fmt: skip


def _minute(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _flagged(results: list[AnomalyResult]) -> list[tuple[int, int]]:
    """(first, last) minute of day of each anomalous window."""
    return [(_minute(r.window_start), _minute(r.window_end)) for r in results if r.is_anomaly]


def test_detect_node_finds_correlation_break_with_usual_marginals() -> None:
    node = _node()
    for series in node:  # each value in the break is ordinary for that metric on its own
        train = series.values_array[:400]
        median, spread = np.median(train), 1.4826 * np.median(np.abs(train - np.median(train)))
        assert np.all(np.abs(series.values_array[BREAK] - median) / spread < 2.0)
    results = MultivariateNodeEngine().detect_node(node)
    assert _flagged(results) == [(600, 699)]
    assert all(r.metric_name == NODE_METRIC for r in results)
    per_metric = [MultivariateNodeEngine().detect(s) for s in node]
    assert all(_flagged(found) == [] for found in per_metric)


def test_detect_node_contributions_name_the_decoupled_metrics() -> None:
    flagged = [r for r in MultivariateNodeEngine().detect_node(_node()) if r.is_anomaly]
    shares = flagged[0].engine_metadata["contributions"]
    assert set(shares) == {"cpu_usage", "network_in"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert "cpu_usage" in flagged[0].explanation and "jointly unusual" in flagged[0].explanation


def test_detect_node_knn_method_finds_break() -> None:
    flagged = _flagged(MultivariateNodeEngine({"method": "knn"}).detect_node(_node()))
    assert flagged == [(600, 699)]


def _two_state_node() -> list[MetricSeries]:
    """A node that is idle or busy, never in between; in BREAK it sits half-busy."""
    rng = np.random.default_rng(0)
    n = 800
    busy = (np.arange(n) // 50) % 2 == 1
    cpu = np.where(busy, 80.0, 10.0) + rng.normal(0, 3, n)
    net = np.where(busy, 160.0, 20.0) + rng.normal(0, 6, n)
    cpu[BREAK], net[BREAK] = 45 + rng.normal(0, 3, 20), 90 + rng.normal(0, 6, 20)
    t = np.arange(n, dtype=np.int64) * MINUTE_NS
    return [MetricSeries.from_arrays(("acme", "prod", "node-9", name), t, values)
            for name, values in (("cpu_usage", cpu), ("network_in", net))]  # fmt: skip


def test_detect_node_knn_sees_gap_between_usual_states() -> None:
    node = _two_state_node()
    assert _flagged(MultivariateNodeEngine({"method": "knn"}).detect_node(node)) == [(600, 699)]
    # One covariance puts the half-busy point right at the mean: no alarm.
    assert _flagged(MultivariateNodeEngine().detect_node(node)) == []


def test_detect_node_on_simulated_node_rarely_alarms() -> None:
    sim = MetricSimulator(SimulatorConfig(seed=5))
    node = [sim.generate("acme", "prod", "node-3", metric, 2880, datetime(2024, 1, 1))
            for metric in ("cpu_usage", "memory_used", "network_in")]  # fmt: skip
    results = MultivariateNodeEngine({"window_size": 60}).detect_node(node)
    alarms = sum(r.is_anomaly for r in results)
    assert len(results) == 48
    assert alarms <= 5  # contamination 0.05 expects about 2 of 48 normal windows


def test_detect_node_one_result_per_window_in_time_order() -> None:
    results = MultivariateNodeEngine({"window_size": 50}).detect_node(_node(n=730))
    assert len(results) == 15  # 14 full windows and the 30-point tail
    starts = [r.window_start for r in results]
    assert starts == sorted(starts)
    assert all(0.0 <= r.anomaly_score <= 1.0 and r.window_end >= r.window_start for r in results)
    assert {(r.tenant_id, r.cluster_id, r.node_id) for r in results} == {("acme", "prod", "node-7")}


def test_detect_node_without_emit_normal_returns_only_anomalies() -> None:
    results = MultivariateNodeEngine({"emit_normal": False}).detect_node(_node())
    assert [r.is_anomaly for r in results] == [True]


def test_detect_node_is_deterministic_and_engine_pickles() -> None:
    engine = MultivariateNodeEngine({"method": "knn"})
    clone = pickle.loads(pickle.dumps(engine))
    first = [(r.window_start, r.anomaly_score, r.anomaly_kind) for r in engine.detect_node(_node())]
    again = [(r.window_start, r.anomaly_score, r.anomaly_kind) for r in clone.detect_node(_node())]
    assert first == again


def test_detect_node_with_train_points_has_no_look_ahead() -> None:
    engine = MultivariateNodeEngine({"train_points": 300, "window_size": 50})
    full = engine.detect_node(_node(n=800))
    head = engine.detect_node([s.slice(0, 600) for s in _node(n=800)])
    assert [r.anomaly_score for r in head] == [r.anomaly_score for r in full[:12]]


def test_detect_single_series_falls_back_to_robust_scores() -> None:
    series = _node(broken=False)[0]
    values = series.values_array.copy()
    values[500:503] += 150.0
    results = MultivariateNodeEngine().detect(series.with_arrays(series.timestamps_ns, values))
    flagged = [r for r in results if r.is_anomaly]
    assert [(r.metric_name, r.anomaly_kind) for r in flagged] == [("cpu_usage", "spike")]


def test_align_series_pairs_jittered_timestamps_and_drops_gaps() -> None:
    t = np.arange(10, dtype=np.int64) * MINUTE_NS
    a = MetricSeries.from_arrays(("t", "c", "n", "a"), t, np.arange(10.0))
    jitter = t + np.array([0, 5, -5, 10, 0, 0, 20, 0, 0, 0]) * 10**9
    b = MetricSeries.from_arrays(("t", "c", "n", "b"), np.delete(jitter, 4),
                                 np.delete(np.arange(10.0) * 10, 4))  # fmt: skip
    stamps, values = align_series([a, b])
    assert stamps.tolist() == np.delete(jitter, 4).tolist()  # the sparser series sets the grid
    assert values[:, 1].tolist() == (values[:, 0] * 10).tolist()


def test_detect_node_rejects_series_of_two_nodes() -> None:
    node = _node()
    other = MetricSeries.from_arrays(("acme", "prod", "node-8", "memory_used"),
                                     node[0].timestamps_ns, node[0].values_array)  # fmt: skip
    with pytest.raises(ValidationError, match="another node"):
        MultivariateNodeEngine().detect_node([*node, other])


def test_detect_node_rejects_too_little_training_data() -> None:
    with pytest.raises(ValidationError, match="training points"):
        MultivariateNodeEngine().detect_node([s.slice(0, 20) for s in _node()])


@pytest.mark.parametrize("method", ["mahalanobis", "knn"])
def test_values_whose_differences_overflow_are_rejected_naming_the_series(method: str) -> None:
    # ±1.7e308 are finite floats, but their differences are not: the scaling gave NaN,
    # which the knn method passed to scikit-learn (a bare ValueError about NaN input).
    node = _node()
    swing = np.where(np.arange(node[1].length) % 2 == 0, 1.7e308, -1.7e308)
    wild = node[1].with_arrays(node[1].timestamps_ns, swing)
    with pytest.raises(ValidationError, match="overflow") as raised:
        MultivariateNodeEngine({"method": method}).detect_node([node[0], wild])
    assert raised.value.field == "values" and "network_in" in str(raised.value)


@pytest.mark.parametrize(
    ("config", "field"),
    [({"method": "lof"}, "method"), ({"window_size": 0}, "window_size"),
     ({"contamination": 0.9}, "contamination"), ({"seed": -1}, "seed")],
)  # fmt: skip
def test_engine_rejects_bad_config(config: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MultivariateNodeEngine(config)
    assert caught.value.field == field


def test_registry_builds_multivariate_engine() -> None:
    engine = EngineRegistry.get("multivariate", {"window_size": 20})
    assert isinstance(engine, MultivariateNodeEngine)
    assert (engine.engine_name(), engine.window_size) == ("multivariate", 20)


def test_a_misspelt_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"neighbours.*did you mean 'neighbors'"):
        MultivariateNodeEngine({"neighbours": 5})


def test_detect_one_series_explains_it_alone() -> None:
    [cpu, _] = _node(broken=False)
    values = cpu.values_array.copy()
    values[600:603] = 400.0
    spiked = cpu.with_arrays(cpu.timestamps_ns, values)
    [flagged] = [r for r in MultivariateNodeEngine().detect(spiked) if r.is_anomaly]
    assert flagged.explanation is not None
    assert flagged.explanation.startswith("cpu_usage on node-7 is unusual at 1970-01-01 10:00 UTC")
    assert "jointly" not in flagged.explanation
