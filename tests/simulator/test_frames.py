"""Long-format frames and label tables built from series."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from backend.analytics.types import MetricSeries
from backend.simulator.frames import LONG_COLUMNS, long_columns, long_frame
from backend.simulator.injector import AnomalyInjector
from backend.simulator.labels import LABEL_COLUMNS, AnomalyLabel, labels_frame

T0 = datetime(2024, 1, 1)


def _series(node: str, n: int = 10) -> MetricSeries:
    stamps = [T0 + timedelta(minutes=i) for i in range(n)]
    return MetricSeries("t", "c", node, "m", stamps, np.arange(n, dtype=float))


def test_long_frame_columns_and_dtypes() -> None:
    frame = long_frame([_series("a"), _series("b", 4)])
    assert tuple(frame.columns) == LONG_COLUMNS
    assert len(frame) == 14
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["is_anomaly"].dtype == bool
    assert frame["node_id"].tolist() == ["a"] * 10 + ["b"] * 4
    assert frame["timestamp"].iloc[10] == frame["timestamp"].iloc[0]


def test_long_frame_marks_label_window_by_time() -> None:
    series, meta = AnomalyInjector.inject_spike(_series("a"), 3, magnitude=4.0, duration=2)
    label = AnomalyLabel.from_metadata(series.key, meta)
    frame = long_frame([series, _series("b")], [label])
    assert np.flatnonzero(frame["is_anomaly"].to_numpy()).tolist() == [3, 4]
    assert frame["anomaly_kind"].iloc[3] == "spike"


def test_long_frame_missing_window_marks_nothing() -> None:
    series, meta = AnomalyInjector.inject_missing(_series("a"), 3, 2)
    label = AnomalyLabel.from_metadata(series.key, meta)
    cols = long_columns([series], [label])
    assert cols.values.size == 8 and not cols.is_anomaly.any()


def test_long_frame_empty_input() -> None:
    frame = long_frame([])
    assert tuple(frame.columns) == LONG_COLUMNS and len(frame) == 0


def test_anomaly_label_coarse_label_and_times() -> None:
    label = AnomalyLabel("t", "c", "n", "m", "level_shift", 2, 5, T0, T0 + timedelta(minutes=3))
    assert label.label == "trend"
    assert label.end_ns - label.start_ns == 180 * 10**9


def test_labels_frame_empty_has_columns() -> None:
    table = labels_frame([])
    assert tuple(table.columns) == LABEL_COLUMNS and len(table) == 0
