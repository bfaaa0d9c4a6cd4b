"""Where metrics come from: the :class:`MetricSource` plug-in point and the simulator source.

A source answers one question, ``collect(tenant, cluster, node, metric, start, end)``, with one
:class:`~backend.analytics.types.MetricSeries`. Collectors and pipelines only ever see this
protocol, so a simulator, recorded files (:class:`~backend.ingestion.files.FileSource`) or a
scraper are interchangeable.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries
from backend.errors import ValidationError
from backend.simulator.generator import MetricSimulator, SimulatorConfig

__all__ = ["MetricSource", "SimulatorSource"]


@runtime_checkable
class MetricSource(Protocol):
    """Anything that can produce one series for a time range (bounds inclusive)."""

    def collect(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> MetricSeries:
        """The series' points with ``start_time <= t <= end_time``."""
        ...


class SimulatorSource:
    """Synthetic metrics from :class:`~backend.simulator.generator.MetricSimulator`.

    Points start at ``start_time`` and follow every ``sampling_interval_seconds`` up to and
    including ``end_time``. With a seeded config the same request gives the same series.

    >>> from datetime import datetime
    >>> source = SimulatorSource(SimulatorConfig(seed=1))
    >>> s = source.collect("t1", "c1", "n1", "cpu_usage",
    ...                    datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 10))
    >>> s.length, s.timestamps[-1]
    (11, datetime.datetime(2024, 1, 1, 0, 10))
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config
        self._simulator = MetricSimulator(config)

    def collect(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> MetricSeries:
        """Generate the points of ``[start_time, end_time]``."""
        num_points = self._num_points(start_time, end_time)
        return self._simulator.generate(
            tenant_id, cluster_id, node_id, metric_name, num_points, start_time
        )

    def _num_points(self, start_time: Any, end_time: Any) -> int:
        if start_time is None or end_time is None:
            field = "start_time" if start_time is None else "end_time"
            raise ValidationError(field, None, "the simulator needs both time bounds")
        start_ns, end_ns = to_epoch_ns(start_time), to_epoch_ns(end_time)
        if end_ns < start_ns:
            raise ValidationError("end_time", end_time, f"is before start_time {start_time}")
        return (end_ns - start_ns) // self._simulator.config.sampling_interval_ns + 1
