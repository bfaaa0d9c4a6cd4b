"""The collector: asks a :class:`~backend.ingestion.sources.MetricSource` for series.

It adds nothing but the documented fan-out over a cluster's nodes, so sources stay one-method
plug-ins and every caller (pipeline, CLI, tests) collects the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.analytics.types import MetricSeries
from backend.ingestion.sources import MetricSource

__all__ = ["MetricCollector"]


class MetricCollector:
    """Collects metrics from one source.

    >>> from datetime import datetime
    >>> from backend.simulator.config import SimulatorConfig
    >>> from backend.ingestion.sources import SimulatorSource
    >>> collector = MetricCollector(SimulatorSource(SimulatorConfig(seed=3)))
    >>> series = collector.collect_cluster_metrics(
    ...     "t1", "c1", ["n1", "n2"], "cpu_usage", datetime(2024, 1, 1), datetime(2024, 1, 1, 1))
    >>> [(s.node_id, s.length) for s in series]
    [('n1', 61), ('n2', 61)]
    """

    def __init__(self, source: MetricSource) -> None:
        self.source = source

    def collect_metric(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> MetricSeries:
        """One series from the source."""
        return self.source.collect(
            tenant_id, cluster_id, node_id, metric_name, start_time, end_time
        )

    def collect_cluster_metrics(
        self,
        tenant_id: str,
        cluster_id: str,
        node_ids: Iterable[str],
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> list[MetricSeries]:
        """The metric for every node, in ``node_ids`` order; a failing node raises."""
        return [
            self.collect_metric(tenant_id, cluster_id, node_id, metric_name, start_time, end_time)
            for node_id in node_ids
        ]
