"""Reading a labelled corpus in NAB's own layout.

A corpus directory holds ``data/<group>/<file>.csv`` (``timestamp,value``) and
``labels/combined_windows.json`` mapping ``"<group>/<file>.csv"`` to ``[[start, end], ...]``.
Windows are turned into inclusive point-index ranges once, here, so every scorer downstream
works on integer indices only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backend.errors import IngestionError, ValidationError

__all__ = [
    "LabelledSeries",
    "load_corpus",
    "read_series_csv",
    "strictly_increasing",
    "windows_to_indices",
]


@dataclass(frozen=True, eq=False)
class LabelledSeries:
    """One series of a corpus with its anomaly windows as inclusive ``(start, end)`` indices."""

    name: str
    timestamps_ns: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]

    @property
    def length(self) -> int:
        """Number of points."""
        return int(self.values.shape[0])


def strictly_increasing(ts_ns: np.ndarray) -> np.ndarray:
    """Timestamps nudged forward by whole nanoseconds where they repeat or go back.

    Real exports repeat timestamps (NAB has a daylight-saving hour written as twelve equal
    rows); every row is kept, in file order, and time still only moves forward.

    >>> strictly_increasing(np.array([10, 20, 20, 20, 30], dtype=np.int64)).tolist()
    [10, 20, 21, 22, 30]
    """
    steps = np.arange(ts_ns.shape[0], dtype=np.int64)
    return np.maximum.accumulate(ts_ns - steps) + steps


def read_series_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``timestamp,value`` CSV as (int64 epoch-ns, float64) arrays in file order; repeated
    timestamps are made strictly increasing (see :func:`strictly_increasing`)."""
    try:
        frame = pd.read_csv(path, usecols=["timestamp", "value"])
    except (OSError, ValueError) as exc:
        raise IngestionError(f"cannot read {path}: {exc}") from None
    stamps = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)
    ts_ns = strictly_increasing(stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64))
    values = frame["value"].to_numpy(dtype=np.float64)
    if values.size and not np.isfinite(values).all():
        raise ValidationError("value", str(path), "contains NaN or infinite values")
    return ts_ns, values


def windows_to_indices(ts_ns: np.ndarray, windows: list[list[str]]) -> tuple[tuple[int, int], ...]:
    """Inclusive index ranges: first point at or after a start, last at or before an end.

    >>> ts = np.arange(10, dtype=np.int64) * 1_000_000_000
    >>> windows_to_indices(ts, [["1970-01-01 00:00:02", "1970-01-01 00:00:04.5"]])
    ((2, 4),)
    """
    out = []
    for start, end in windows:
        start_ns = int(pd.Timestamp(start).value)
        end_ns = int(pd.Timestamp(end).value)
        lo = int(np.searchsorted(ts_ns, start_ns, side="left"))
        hi = int(np.searchsorted(ts_ns, end_ns, side="right")) - 1
        if lo <= hi:
            out.append((lo, hi))
    return tuple(out)


def load_corpus(dataset_dir: Path | str) -> list[LabelledSeries]:
    """Every labelled series of a NAB-layout directory, sorted by name."""
    root = Path(dataset_dir)
    labels_path = root / "labels" / "combined_windows.json"
    if not labels_path.is_file():
        raise ValidationError("dataset_dir", str(root), "has no labels/combined_windows.json")
    with labels_path.open() as handle:
        labels: dict[str, list[list[str]]] = json.load(handle)
    corpus = []
    for name in sorted(labels):
        path = root / "data" / name
        if not path.is_file():
            raise ValidationError("dataset_dir", str(path), "labelled file is missing")
        ts_ns, values = read_series_csv(path)
        windows = windows_to_indices(ts_ns, labels[name])
        corpus.append(LabelledSeries(name, ts_ns, values, windows))
    return corpus
