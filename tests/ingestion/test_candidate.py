"""SeriesCandidate: raw columns with provenance."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.ingestion.candidate import SeriesCandidate

KEY = SeriesKey("t", "c", "n", "cpu_usage")


def test_candidate_sorted_keeps_rows_with_points() -> None:
    candidate = SeriesCandidate(KEY, np.array([30, 10, 20]), np.array([3.0, 1.0, 2.0]),
                                rows=np.array([5, 6, 7]))  # fmt: skip

    ordered = candidate.sorted()

    assert ordered.timestamps_ns.tolist() == [10, 20, 30]
    assert ordered.values.tolist() == [1.0, 2.0, 3.0]
    assert ordered.rows is not None
    assert ordered.rows.tolist() == [6, 7, 5]
    assert candidate.timestamps_ns.tolist() == [30, 10, 20]


def test_candidate_round_trips_series() -> None:
    series = MetricSeries(*KEY, [0, 60], [1.0, 2.0], {"unit": "percent"})

    candidate = SeriesCandidate.from_series(series)

    assert (candidate.name, candidate.tenant_id, len(candidate)) == (str(KEY), "t", 2)
    assert candidate.to_series() == series
    assert candidate.to_series().metadata == {"unit": "percent"}


def test_candidate_to_series_refuses_invalid_arrays() -> None:
    candidate = SeriesCandidate(KEY, np.array([0, 1]), np.array([1.0, np.nan]))

    with pytest.raises(ValueError, match="finite"):
        candidate.to_series()
