"""Ground-truth labels: one labelled anomaly window per record, as objects or a table."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import AnomalyKind, SeriesKey

__all__ = ["LABEL_COLUMNS", "AnomalyLabel", "labels_frame"]

LABEL_COLUMNS = (
    "tenant_id", "cluster_id", "node_id", "metric_name", "kind", "label",
    "start_index", "end_index", "start_time", "end_time", "parameters",
)  # fmt: skip


@dataclass(frozen=True)
class AnomalyLabel:
    """One injected anomaly: which series, which kind, which window (indices inclusive).

    Indices refer to the series as it was when the anomaly was injected; the times are
    authoritative (for ``missing_data`` they bound the removed points).
    """

    tenant_id: str
    cluster_id: str
    node_id: str
    metric_name: str
    kind: str
    start_index: int
    end_index: int
    start_time: datetime
    end_time: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, key: SeriesKey, metadata: Mapping[str, Any]) -> AnomalyLabel:
        """Build from the dict an :class:`~backend.simulator.injector.AnomalyInjector` returns."""
        return cls(
            *key,
            str(metadata["kind"]),
            int(metadata["start_index"]),
            int(metadata["end_index"]),
            metadata["start_time"],
            metadata["end_time"],
            dict(metadata.get("parameters", {})),
        )

    @property
    def key(self) -> SeriesKey:
        """The labelled series."""
        return SeriesKey(self.tenant_id, self.cluster_id, self.node_id, self.metric_name)

    @property
    def label(self) -> str:
        """The coarse label (spike | trend | seasonal) detectors report for this kind."""
        return AnomalyKind(self.kind).label.value

    @property
    def start_ns(self) -> int:
        """Window start in epoch nanoseconds."""
        return to_epoch_ns(self.start_time)

    @property
    def end_ns(self) -> int:
        """Window end (inclusive) in epoch nanoseconds."""
        return to_epoch_ns(self.end_time)


def labels_frame(labels: Sequence[AnomalyLabel]) -> pd.DataFrame:
    """The labels as a table: :data:`LABEL_COLUMNS`, times as ``datetime64[ns, UTC]``,
    ``parameters`` as a JSON string (so the table writes to CSV and Parquet unchanged)."""
    columns: dict[str, Any] = {
        name: [getattr(label, name) for label in labels] for name in LABEL_COLUMNS[:5]
    }
    columns["label"] = [label.label for label in labels]
    for name in ("start_index", "end_index"):
        columns[name] = np.array([getattr(label, name) for label in labels], dtype=np.int64)
    for name, attr in (("start_time", "start_ns"), ("end_time", "end_ns")):
        ns = np.array([getattr(label, attr) for label in labels], dtype=np.int64)
        columns[name] = pd.to_datetime(ns, unit="ns", utc=True)
    columns["parameters"] = [json.dumps(dict(label.parameters), sort_keys=True) for label in labels]
    frame = pd.DataFrame(columns, columns=list(LABEL_COLUMNS))
    for name in LABEL_COLUMNS[:6]:
        frame[name] = frame[name].astype(object)
    return frame
