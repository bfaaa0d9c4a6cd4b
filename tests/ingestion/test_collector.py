"""MetricCollector over a real source."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.errors import ValidationError
from backend.ingestion.collector import MetricCollector
from backend.ingestion.sources import SimulatorSource
from backend.simulator.generator import SimulatorConfig

START, END = datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 30)


def collector() -> MetricCollector:
    return MetricCollector(SimulatorSource(SimulatorConfig(seed=2)))


def test_collect_metric_returns_requested_series() -> None:
    series = collector().collect_metric("acme", "prod", "n1", "throughput", START, END)

    assert (series.tenant_id, series.cluster_id, series.node_id, series.metric_name) == (
        "acme", "prod", "n1", "throughput",
    )  # fmt: skip
    assert series.time_range == (START, END)


def test_collect_cluster_metrics_one_series_per_node_in_order() -> None:
    series_list = collector().collect_cluster_metrics(
        "acme", "prod", ["n3", "n1", "n2"], "cpu_usage", START, END
    )

    assert [s.node_id for s in series_list] == ["n3", "n1", "n2"]
    assert series_list[0] != series_list[1]


def test_collect_cluster_metrics_empty_node_list() -> None:
    assert collector().collect_cluster_metrics("acme", "prod", [], "cpu_usage", START, END) == []


def test_collect_cluster_metrics_bad_node_raises() -> None:
    with pytest.raises(ValidationError, match="node_id"):
        collector().collect_cluster_metrics("acme", "prod", ["n1", ""], "cpu_usage", START, END)
