"""Data contracts every pipeline stage speaks: series, anomaly results, aggregated scores.

Series are columnar: int64 epoch-ns timestamps and float64 values in read-only numpy arrays,
exposed to callers as list-like views. Everything is validated on construction and errors name
the field, the value and the reason (they are ``ValueError`` subclasses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np

from backend.analytics._columns import FloatColumn, TimeColumn
from backend.analytics._timeconv import (
    from_epoch_ns,
    is_aware,
    to_epoch_ns,
    to_epoch_ns_array,
    utc_now,
)
from backend.errors import ValidationError

__all__ = [
    "AggregatedAnomalyScore",
    "AnomalyKind",
    "AnomalyResult",
    "AnomalyType",
    "MetricPoint",
    "MetricSeries",
    "ScoreContribution",
    "SeriesKey",
]

MAX_ID_LENGTH = 256


class AnomalyType(StrEnum):
    """The coarse anomaly label existing consumers accept (exactly these four values)."""

    SPIKE = "spike"
    TREND = "trend"
    SEASONAL = "seasonal"
    NORMAL = "normal"


class AnomalyKind(StrEnum):
    """The finer kind that travels beside the label in stored results, the API and explanations."""

    SPIKE = "spike"
    DIP = "dip"
    LEVEL_SHIFT = "level_shift"
    DRIFT = "drift"
    SEASONAL = "seasonal"
    MISSING_DATA = "missing_data"

    @property
    def label(self) -> AnomalyType:
        """The coarse label this kind maps to."""
        return _KIND_TO_LABEL[self]


_KIND_TO_LABEL = {
    AnomalyKind.SPIKE: AnomalyType.SPIKE,
    AnomalyKind.DIP: AnomalyType.SPIKE,
    AnomalyKind.LEVEL_SHIFT: AnomalyType.TREND,
    AnomalyKind.DRIFT: AnomalyType.TREND,
    AnomalyKind.SEASONAL: AnomalyType.SEASONAL,
    AnomalyKind.MISSING_DATA: AnomalyType.SPIKE,
}
_LABEL_TO_DEFAULT_KIND = {
    AnomalyType.SPIKE: AnomalyKind.SPIKE,
    AnomalyType.TREND: AnomalyKind.DRIFT,
    AnomalyType.SEASONAL: AnomalyKind.SEASONAL,
}


class SeriesKey(NamedTuple):
    """Identity of one series; a tuple, so keys never collide the way joined strings can."""

    tenant_id: str
    cluster_id: str
    node_id: str
    metric_name: str

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.cluster_id}/{self.node_id}/{self.metric_name}"


def check_id(field_name: str, value: Any) -> str:
    """Validate an identifier (tenant, cluster, node, metric): a non-empty printable string."""
    if not isinstance(value, str):
        raise ValidationError(field_name, value, "must be a string")
    if not value or not value.strip():
        raise ValidationError(field_name, value, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(field_name, value, f"longer than {MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise ValidationError(field_name, value, "contains control characters")
    return value


def _check_unit_interval(field_name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(field_name, value, "must be a number") from None
    if not (0.0 <= number <= 1.0):
        raise ValidationError(field_name, value, "must be in [0, 1]")
    return number


def _check_datetime(field_name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return from_epoch_ns(to_epoch_ns(value))
    except (TypeError, ValueError) as exc:
        raise ValidationError(field_name, value, f"not a timestamp ({exc})") from None


@dataclass(frozen=True)
class MetricPoint:
    """One observation; kept for compatibility, hot paths use :class:`MetricSeries` arrays."""

    timestamp: datetime
    value: float
    unit: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", _check_datetime("timestamp", self.timestamp))
        try:
            value = float(self.value)
        except (TypeError, ValueError):
            raise ValidationError("value", self.value, "must be a number") from None
        if not math.isfinite(value):
            raise ValidationError("value", self.value, "must be finite")
        object.__setattr__(self, "value", value)


@dataclass(frozen=True, eq=False)
class MetricSeries:
    """One metric of one node over time, columnar inside.

    ``timestamps`` accepts datetimes (naive = UTC), ISO strings, epoch seconds, or numpy
    ``datetime64``/number arrays; ``values`` any sequence or array of finite numbers.
    Timestamps must be strictly increasing.

    >>> from datetime import datetime
    >>> s = MetricSeries("t1", "c1", "n1", "cpu_usage",
    ...                  [datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 1)], [10, 12.5])
    >>> s.length, max(s.values), s.timestamps[0]
    (2, 12.5, datetime.datetime(2024, 1, 1, 0, 0))
    """

    tenant_id: str
    cluster_id: str
    node_id: str
    metric_name: str
    timestamps: Any
    values: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("tenant_id", "cluster_id", "node_id", "metric_name"):
            check_id(name, getattr(self, name))
        aware = _infer_awareness(self.timestamps)
        ts_ns = _timestamps_array(self.timestamps)
        values = _values_array(self.values)
        _check_aligned(ts_ns, values)
        ts_ns.setflags(write=False)
        values.setflags(write=False)
        object.__setattr__(self, "timestamps", TimeColumn(ts_ns, aware))
        object.__setattr__(self, "values", FloatColumn(values))
        object.__setattr__(self, "metadata", dict(self.metadata or {}))

    @classmethod
    def from_arrays(
        cls,
        key: SeriesKey,
        timestamps_ns: np.ndarray,
        values: np.ndarray,
        metadata: Mapping[str, Any] | None = None,
        aware: bool = False,
    ) -> MetricSeries:
        """Build from int64 epoch-ns and float64 arrays (the columnar fast path)."""
        series = cls(
            *key, np.asarray(timestamps_ns, dtype="datetime64[ns]"), values, dict(metadata or {})
        )
        if aware:
            object.__setattr__(series, "timestamps", TimeColumn(series.timestamps_ns, True))
        return series

    @property
    def key(self) -> SeriesKey:
        """The series identity."""
        return SeriesKey(self.tenant_id, self.cluster_id, self.node_id, self.metric_name)

    @property
    def timestamps_ns(self) -> np.ndarray:
        """Timestamps as a read-only int64 epoch-nanosecond array."""
        return self.timestamps.to_numpy()

    @property
    def values_array(self) -> np.ndarray:
        """Values as a read-only float64 array."""
        return self.values.to_numpy()

    @property
    def aware(self) -> bool:
        """Whether timestamps are echoed back as timezone-aware datetimes."""
        return bool(self.timestamps.aware)

    @property
    def length(self) -> int:
        """Number of points."""
        return len(self.values)

    def __len__(self) -> int:
        return self.length

    @property
    def time_range(self) -> tuple[datetime, datetime] | tuple[None, None]:
        """First and last timestamp (``(None, None)`` when empty)."""
        if self.length == 0:
            return (None, None)
        return (self.timestamps[0], self.timestamps[-1])

    def slice(self, start: int, stop: int) -> MetricSeries:
        """Points ``start`` to ``stop - 1`` as a new series (no copy of the arrays)."""
        return self.with_arrays(self.timestamps_ns[start:stop], self.values_array[start:stop])

    def with_arrays(self, timestamps_ns: np.ndarray, values: np.ndarray) -> MetricSeries:
        """Same identity and metadata, new data."""
        return MetricSeries.from_arrays(self.key, timestamps_ns, values, self.metadata, self.aware)

    def to_points(self) -> list[MetricPoint]:
        """Per-point objects, for callers at the edges that want them."""
        unit = self.metadata.get("unit")
        return [MetricPoint(t, v, unit) for t, v in zip(self.timestamps, self.values, strict=True)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricSeries):
            return NotImplemented
        return (
            self.key == other.key
            and np.array_equal(self.timestamps_ns, other.timestamps_ns)
            and np.array_equal(self.values_array, other.values_array)
            and self.metadata == other.metadata
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MetricSeries({self.key}, n={self.length})"


def _infer_awareness(timestamps: Any) -> bool:
    if isinstance(timestamps, TimeColumn):
        return timestamps.aware
    return is_aware(timestamps)


def _timestamps_array(timestamps: Any) -> np.ndarray:
    if isinstance(timestamps, TimeColumn):
        return np.array(timestamps.to_numpy(), dtype=np.int64)
    if timestamps is None:
        raise ValidationError("timestamps", None, "must be a sequence of timestamps")
    try:
        return to_epoch_ns_array(timestamps)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError("timestamps", _preview(timestamps), str(exc)) from None


def _values_array(values: Any) -> np.ndarray:
    if isinstance(values, FloatColumn):
        return np.array(values.to_numpy(), dtype=np.float64)
    if values is None or isinstance(values, str | bytes):
        raise ValidationError("values", values, "must be a sequence of numbers")
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError("values", _preview(values), f"not numeric ({exc})") from None
    if array.ndim != 1:
        raise ValidationError("values", _preview(values), "must be one-dimensional")
    return array


def _check_aligned(ts_ns: np.ndarray, values: np.ndarray) -> None:
    if ts_ns.shape[0] != values.shape[0]:
        raise ValidationError(
            "values",
            f"{values.shape[0]} values",
            f"length differs from timestamps ({ts_ns.shape[0]})",
        )
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise ValidationError(f"values[{bad}]", float(values[bad]), "must be finite (no NaN/inf)")
    if ts_ns.shape[0] > 1:
        steps = np.diff(ts_ns)
        if (steps <= 0).any():
            bad = int(np.argmax(steps <= 0)) + 1
            raise ValidationError(
                f"timestamps[{bad}]",
                from_epoch_ns(int(ts_ns[bad])),
                "timestamps must be strictly increasing",
            )


def _preview(values: Any) -> Any:
    try:
        return list(values[:3])
    except Exception:
        return values


@dataclass(frozen=True)
class AnomalyResult:
    """What an engine says about one window of one series.

    ``anomaly_label`` is one of spike | trend | seasonal | normal; ``anomaly_kind`` carries the
    finer kind (spike, dip, level_shift, drift, seasonal, missing_data) beside it.
    """

    tenant_id: str
    cluster_id: str
    node_id: str
    metric_name: str
    window_start: datetime
    window_end: datetime
    anomaly_score: float
    anomaly_label: str
    magnitude: float | None = None
    explanation: str | None = None
    timestamp_detected: datetime = field(default_factory=utc_now)
    engine_metadata: dict[str, Any] = field(default_factory=dict)
    anomaly_kind: str | None = None

    def __post_init__(self) -> None:
        for name in ("tenant_id", "cluster_id", "node_id", "metric_name"):
            check_id(name, getattr(self, name))
        start = _check_datetime("window_start", self.window_start)
        end = _check_datetime("window_end", self.window_end)
        if to_epoch_ns(end) < to_epoch_ns(start):
            raise ValidationError("window_end", end, f"is before window_start {start}")
        object.__setattr__(self, "window_start", start)
        object.__setattr__(self, "window_end", end)
        object.__setattr__(
            self, "anomaly_score", _check_unit_interval("anomaly_score", self.anomaly_score)
        )
        label = _check_label(self.anomaly_label)
        object.__setattr__(self, "anomaly_label", label.value)
        if self.magnitude is not None:
            object.__setattr__(self, "magnitude", _check_unit_interval("magnitude", self.magnitude))
        object.__setattr__(self, "anomaly_kind", _check_kind(self.anomaly_kind, label))
        object.__setattr__(self, "engine_metadata", dict(self.engine_metadata or {}))

    @property
    def is_anomaly(self) -> bool:
        """True unless the label is ``normal``."""
        return self.anomaly_label != AnomalyType.NORMAL.value

    @property
    def key(self) -> SeriesKey:
        """Identity of the series this result is about."""
        return SeriesKey(self.tenant_id, self.cluster_id, self.node_id, self.metric_name)


def _check_label(label: Any) -> AnomalyType:
    try:
        return AnomalyType(label.value if isinstance(label, AnomalyType) else label)
    except ValueError:
        allowed = ", ".join(t.value for t in AnomalyType)
        raise ValidationError("anomaly_label", label, f"must be one of {allowed}") from None


def _check_kind(kind: Any, label: AnomalyType) -> str | None:
    if kind is None:
        default = _LABEL_TO_DEFAULT_KIND.get(label)
        return default.value if default else None
    try:
        parsed = AnomalyKind(kind.value if isinstance(kind, AnomalyKind) else kind)
    except ValueError:
        allowed = ", ".join(k.value for k in AnomalyKind)
        raise ValidationError("anomaly_kind", kind, f"must be one of {allowed}") from None
    if label is AnomalyType.NORMAL:
        raise ValidationError("anomaly_kind", kind, "a normal result has no anomaly kind")
    return parsed.value


@dataclass(frozen=True)
class ScoreContribution:
    """How much one component (a metric, node or cluster) drove an aggregated score.

    ``share`` is the component's part of the aggregate in [0, 1]; shares of one score sum to 1
    when the aggregate is positive.
    """

    component: str
    score: float
    weight: float = 1.0
    share: float = 0.0

    def __post_init__(self) -> None:
        check_id("component", self.component)
        object.__setattr__(self, "score", _check_unit_interval("score", self.score))
        object.__setattr__(self, "share", _check_unit_interval("share", self.share))
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ValidationError("weight", self.weight, "must be a finite number >= 0")


@dataclass(frozen=True)
class AggregatedAnomalyScore:
    """A rolled-up score: node level (node_id set), cluster level (node_id None) or tenant level
    (cluster_id None). ``contributors`` records which metrics / nodes / clusters drove it.
    """

    tenant_id: str
    aggregate_score: float
    cluster_id: str | None = None
    node_id: str | None = None
    aggregation_strategy: str = "max"
    num_metrics_analyzed: int = 0
    num_anomalies_detected: int = 0
    timestamp: datetime = field(default_factory=utc_now)
    contributors: tuple[ScoreContribution, ...] = ()

    def __post_init__(self) -> None:
        check_id("tenant_id", self.tenant_id)
        if self.cluster_id is not None:
            check_id("cluster_id", self.cluster_id)
        if self.node_id is not None:
            check_id("node_id", self.node_id)
            if self.cluster_id is None:
                raise ValidationError("cluster_id", None, "a node-level score needs its cluster_id")
        object.__setattr__(
            self, "aggregate_score", _check_unit_interval("aggregate_score", self.aggregate_score)
        )
        strategy = getattr(self.aggregation_strategy, "value", self.aggregation_strategy)
        object.__setattr__(self, "aggregation_strategy", str(strategy))
        for name in ("num_metrics_analyzed", "num_anomalies_detected"):
            count = getattr(self, name)
            if not isinstance(count, int | np.integer) or count < 0:
                raise ValidationError(name, count, "must be a non-negative integer")
        object.__setattr__(self, "timestamp", _check_datetime("timestamp", self.timestamp))
        object.__setattr__(self, "contributors", tuple(self.contributors))

    @property
    def level(self) -> str:
        """``node``, ``cluster`` or ``tenant``."""
        if self.node_id is not None:
            return "node"
        return "cluster" if self.cluster_id is not None else "tenant"

    def top_contributors(self, n: int = 3) -> list[ScoreContribution]:
        """The components that drove this score most, largest share first."""
        return sorted(self.contributors, key=lambda c: (-c.share, -c.score, c.component))[:n]
