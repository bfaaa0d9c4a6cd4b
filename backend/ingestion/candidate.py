"""A series as it arrives at an edge (file, HTTP), before it is known to be valid.

:class:`~backend.analytics.types.MetricSeries` refuses unsorted or non-finite data with one
exception, which is right inside the platform but useless at an edge that must say *which* row
of *which* file is wrong and keep the other series. A :class:`SeriesCandidate` holds the raw
columns, where they came from (file and row numbers) and any problems found while reading them;
the pipeline validates it and only then builds the series.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.ingestion.results import ValidationIssue

__all__ = ["SeriesCandidate"]


@dataclass(frozen=True, eq=False)
class SeriesCandidate:
    """Raw columns of one series plus provenance.

    Parameters
    ----------
    key
        The series identity as read (may be invalid, e.g. an empty node id).
    timestamps_ns, values
        int64 epoch-ns and float64 arrays of equal length.
    metadata
        Passed on to the built series (e.g. ``unit``).
    origin
        Where the data came from (a file path), for messages.
    rows
        Row number in ``origin`` of each point (1-based data rows, header excluded).
    issues
        Problems found while reading (unparsable rows); any of them rejects the candidate.

    >>> c = SeriesCandidate(SeriesKey("t", "c", "n", "cpu_usage"), np.array([60, 0]) * 10**9,
    ...                     np.array([2.0, 1.0]))
    >>> c.sorted().to_series().values
    [1.0, 2.0]
    """

    key: SeriesKey
    timestamps_ns: np.ndarray
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None
    rows: np.ndarray | None = None
    issues: tuple[ValidationIssue, ...] = ()

    @classmethod
    def from_series(cls, series: MetricSeries) -> SeriesCandidate:
        """Wrap an already built series (no copy)."""
        return cls(series.key, series.timestamps_ns, series.values_array, series.metadata)

    @property
    def tenant_id(self) -> str:
        """The tenant the data claims to belong to."""
        return self.key.tenant_id

    @property
    def name(self) -> str:
        """``tenant/cluster/node/metric``, for messages."""
        return str(self.key)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def sorted(self) -> SeriesCandidate:
        """The same points in increasing time order (stable, rows follow their points)."""
        order = np.argsort(self.timestamps_ns, kind="stable")
        rows = None if self.rows is None else self.rows[order]
        return replace(
            self, timestamps_ns=self.timestamps_ns[order], values=self.values[order], rows=rows
        )

    def to_series(self) -> MetricSeries:
        """Build the series; call after validation (raises ``ValidationError`` otherwise)."""
        return MetricSeries.from_arrays(self.key, self.timestamps_ns, self.values, self.metadata)
