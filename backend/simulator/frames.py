"""Long-format table of many series, built columnar (no per-point Python).

One row per point with columns :data:`LONG_COLUMNS`: ``timestamp`` is
``datetime64[ns, UTC]``, ``is_anomaly`` is True inside a labelled window and
``anomaly_kind`` names the kind there ("" elsewhere). ``missing_data`` windows have no
points, so they appear only in the labels table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backend.analytics.types import MetricSeries, SeriesKey
from backend.simulator.labels import AnomalyLabel
from backend.simulator.placement import ANOMALY_KINDS

__all__ = ["KIND_CODES", "LONG_COLUMNS", "LongColumns", "long_columns", "long_frame"]

LONG_COLUMNS = (
    "tenant_id", "cluster_id", "node_id", "metric_name", "timestamp", "value",
    "is_anomaly", "anomaly_kind",
)  # fmt: skip
KIND_CODES: tuple[str, ...] = ("", *ANOMALY_KINDS)  # code 0 = no anomaly


@dataclass(frozen=True)
class LongColumns:
    """The long format as numpy columns: each row's series position, its data and marks.

    ``key_parts[name][series_index]`` gives a row's id column; ``KIND_CODES[kind_codes]`` its
    anomaly kind. Writers (pandas, Arrow) turn this into their own tables cheaply.
    """

    keys: tuple[SeriesKey, ...]
    series_index: np.ndarray
    timestamps_ns: np.ndarray
    values: np.ndarray
    is_anomaly: np.ndarray
    kind_codes: np.ndarray

    def key_parts(self, name: str) -> np.ndarray:
        """One id column (``tenant_id`` ...) per series, as an object array."""
        return np.array([getattr(key, name) for key in self.keys], dtype=object)


def long_columns(
    series: Sequence[MetricSeries], labels: Sequence[AnomalyLabel] = ()
) -> LongColumns:
    """Concatenate ``series`` and mark the points inside ``labels``' windows."""
    lengths = np.array([s.length for s in series], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    ts_ns = _concat([s.timestamps_ns for s in series], np.int64)
    is_anomaly = np.zeros(ts_ns.size, dtype=bool)
    kind_codes = np.zeros(ts_ns.size, dtype=np.int8)
    position = {s.key: i for i, s in enumerate(series)}
    for label in labels:  # one slice per labelled window, not per point
        index = position.get(label.key)
        if index is None:
            continue
        lo, hi = int(offsets[index]), int(offsets[index + 1])
        first = lo + int(np.searchsorted(ts_ns[lo:hi], label.start_ns, side="left"))
        last = lo + int(np.searchsorted(ts_ns[lo:hi], label.end_ns, side="right"))
        is_anomaly[first:last] = True
        kind_codes[first:last] = KIND_CODES.index(label.kind)
    return LongColumns(
        keys=tuple(s.key for s in series),
        series_index=np.repeat(np.arange(len(series), dtype=np.int32), lengths),
        timestamps_ns=ts_ns,
        values=_concat([s.values_array for s in series], np.float64),
        is_anomaly=is_anomaly,
        kind_codes=kind_codes,
    )


def long_frame(series: Sequence[MetricSeries], labels: Sequence[AnomalyLabel] = ()) -> pd.DataFrame:
    """Stack ``series`` into one long pandas table (string columns are ``object``).

    >>> from datetime import datetime
    >>> s = MetricSeries("t", "c", "n", "m", [datetime(2024, 1, 1, 0, i) for i in range(3)],
    ...                  [1.0, 9.0, 1.0])
    >>> lab = AnomalyLabel("t", "c", "n", "m", "spike", 1, 1, datetime(2024, 1, 1, 0, 1),
    ...                    datetime(2024, 1, 1, 0, 1))
    >>> long_frame([s], [lab])["anomaly_kind"].tolist()
    ['', 'spike', '']
    """
    cols = long_columns(series, labels)
    data = {name: cols.key_parts(name)[cols.series_index] for name in LONG_COLUMNS[:4]}
    frame = pd.DataFrame(data)
    frame["timestamp"] = pd.to_datetime(cols.timestamps_ns, unit="ns", utc=True)
    frame["value"] = cols.values
    frame["is_anomaly"] = cols.is_anomaly
    frame["anomaly_kind"] = np.array(KIND_CODES, dtype=object)[cols.kind_codes]
    return frame


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.empty(0, dtype)
