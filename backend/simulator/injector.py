"""Anomaly injection with labelled ground truth.

Every injector returns a *new* series and a metadata dict describing the labelled window:
``kind`` (spike, dip, drift, level_shift, missing_data, seasonal), ``label`` (the coarse
spike | trend | seasonal label), ``start_index`` and ``end_index`` (inclusive, indices of the
input series), ``start_time`` and ``end_time`` (timestamps of those points) and
``parameters``. The same dict is appended to ``metadata["anomalies"]`` of the new series, so
the ground truth travels with the data. The input series is never modified.

Values stay within the metric's bounds (percentages in [0, 100], counters >= 0), taken from
``metadata["lower"]``/``["upper"]`` or else from the metric's profile. When clipping would
hide more than half of a spike or level shift (say a +30 spike on CPU at 95 %), the
direction is reversed so the anomaly stays visible: the spike becomes a dip and the
metadata says so (``kind`` and ``parameters["direction_flipped"]``).

The additive injectors (spike, trend, level shift, seasonal change) take an optional
keyword-only ``sizing`` mapping: how a caller chose the size (the random placement in
:mod:`backend.simulator.placement` measures it against the series' own normal variation). It
is recorded as ``parameters["sizing"]``; when it says ``direction_flipped``, so does the label.

>>> from datetime import datetime
>>> s = MetricSeries("t", "c", "n", "queue", [datetime(2024, 1, 1, 0, m) for m in range(5)],
...                  [10.0, 11.0, 9.0, 10.0, 10.0])
>>> spiked, meta = AnomalyInjector.inject_spike(s, 2, magnitude=5.0, duration=1)
>>> meta["kind"], meta["start_index"], meta["end_index"], spiked.values[2] > 12
('spike', 2, 2, True)
>>> s.values[2]
9.0
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backend.analytics.types import AnomalyKind, MetricSeries
from backend.errors import ValidationError
from backend.simulator.profiles import get_profile

__all__ = ["AnomalyInjector", "series_bounds", "series_std"]

_VISIBLE_SHARE = 0.5


def series_std(values: np.ndarray) -> float:
    """Standard deviation used as the unit of anomaly sizes.

    A constant series has no spread, so it falls back to 10 % of its mean magnitude (at
    least 1.0): an anomaly on a flat line must still be visible.

    >>> series_std(np.array([1.0, 3.0]))
    1.0
    >>> series_std(np.array([50.0, 50.0]))
    5.0
    """
    std = float(np.std(values)) if values.size else 0.0
    if std > 0.0 and math.isfinite(std):
        return std
    mean = float(np.mean(np.abs(values))) if values.size else 0.0
    return max(0.1 * mean, 1.0)


def series_bounds(series: MetricSeries) -> tuple[float | None, float | None]:
    """The value bounds of a series: from its metadata, else from its metric's profile."""
    metadata = series.metadata
    if "lower" in metadata or "upper" in metadata:
        return metadata.get("lower"), metadata.get("upper")
    profile = get_profile(series.metric_name)
    return profile.lower, profile.upper


class AnomalyInjector:
    """Static injectors; each returns ``(new_series, metadata)``."""

    @staticmethod
    def inject_spike(
        series: MetricSeries,
        spike_index: int,
        magnitude: float = 3.0,
        duration: int = 3,
        *,
        sizing: Mapping[str, Any] | None = None,
    ) -> tuple[MetricSeries, dict[str, Any]]:
        """Add ``magnitude`` standard deviations to ``duration`` points from ``spike_index``.

        A negative magnitude makes a dip (kind ``dip``). A window running past the end of the
        series is cut at the last point (``parameters["duration"]`` is the applied length).
        ``sizing`` (how a caller chose the size, see :mod:`backend.simulator.placement`) is
        recorded as ``parameters["sizing"]``.
        """
        start = _check_index("spike_index", spike_index, series.length)
        _check_count("duration", duration)
        stop = min(start + int(duration), series.length)
        std = series_std(series.values_array)
        delta = _check_number("magnitude", magnitude) * std
        kind, other = ("dip", "spike") if magnitude < 0 else ("spike", "dip")
        params = {"magnitude": float(magnitude), "duration": stop - start, "std": std}
        params = _with_sizing(params, sizing)
        return _additive(series, kind, start, stop, np.full(stop - start, delta), params, other)

    @staticmethod
    def inject_spikes(
        series: MetricSeries, spike_indices: Sequence[int] | np.ndarray, magnitude: float = 3.0
    ) -> tuple[MetricSeries, list[dict[str, Any]]]:
        """One-point spikes at many indices in one vectorised pass; one metadata dict each.

        Same rules as :meth:`inject_spike` with ``duration=1`` (sizes use the std of the
        input series), but the series is rebuilt once rather than once per spike.
        """
        indices = _check_indices("spike_indices", spike_indices, series.length)
        std = series_std(series.values_array)
        delta = _check_number("magnitude", magnitude) * std
        lower, upper = series_bounds(series)
        values = np.array(series.values_array, dtype=np.float64)
        base = values[indices]
        forward, reverse = _clip(base + delta, lower, upper), _clip(base - delta, lower, upper)
        hidden = np.abs(forward - base) < _VISIBLE_SHARE * abs(delta)
        flipped = hidden & (np.abs(reverse - base) > np.abs(forward - base))
        values[indices] = np.where(flipped, reverse, forward)
        params = {"magnitude": float(magnitude), "duration": 1, "std": std}
        labels = [
            _window_label(
                series,
                _spike_kind(magnitude, bool(flip)),
                int(i),
                int(i) + 1,
                {**params, "direction_flipped": bool(flip), "mean_change": float(change)},
            )
            for i, flip, change in zip(indices, flipped, values[indices] - base, strict=True)
        ]
        return _with_labels(series, series.timestamps_ns, values, labels), labels

    @staticmethod
    def inject_trend(
        series: MetricSeries,
        start_index: int,
        slope: float = 0.1,
        *,
        sizing: Mapping[str, Any] | None = None,
    ) -> tuple[MetricSeries, dict[str, Any]]:
        """Gradual drift: add ``slope`` (value units per point) times the points elapsed.

        The drift starts at ``start_index`` and lasts to the end of the series (kind ``drift``).
        """
        start = _check_index("start_index", start_index, series.length)
        steps = np.arange(1, series.length - start + 1, dtype=np.float64)
        delta = _check_number("slope", slope) * steps
        params = _with_sizing({"slope": float(slope)}, sizing)
        return _additive(series, "drift", start, series.length, delta, params, "drift")

    @staticmethod
    def inject_level_shift(
        series: MetricSeries,
        shift_index: int,
        shift_amount: float = 20.0,
        *,
        sizing: Mapping[str, Any] | None = None,
    ) -> tuple[MetricSeries, dict[str, Any]]:
        """Add ``shift_amount`` (value units) from ``shift_index`` to the end (``level_shift``)."""
        start = _check_index("shift_index", shift_index, series.length)
        delta = np.full(series.length - start, _check_number("shift_amount", shift_amount))
        params = _with_sizing({"shift_amount": float(shift_amount)}, sizing)
        return _additive(series, "level_shift", start, series.length, delta, params, "level_shift")

    @staticmethod
    def inject_missing(
        series: MetricSeries, start_index: int, length: int
    ) -> tuple[MetricSeries, dict[str, Any]]:
        """Remove ``length`` points from ``start_index``, leaving a gap (``missing_data``).

        A series cannot hold NaN, so missing data is a hole in the timestamps; the labelled
        window gives the indices and timestamps of the removed points.
        """
        start = _check_index("start_index", start_index, series.length)
        _check_count("length", length)
        if start + int(length) > series.length:
            reason = f"start_index {start} + length runs past the series end ({series.length})"
            raise ValidationError("length", length, reason)
        stop = start + int(length)
        keep = np.ones(series.length, dtype=bool)
        keep[start:stop] = False
        params = {"length": int(length)}
        return _labelled(
            series,
            series.timestamps_ns[keep],
            series.values_array[keep],
            "missing_data",
            start,
            stop,
            params,
        )

    @staticmethod
    def inject_seasonal_change(
        series: MetricSeries,
        start_index: int,
        period_points: int | None = None,
        amplitude: float = 2.0,
        duration: int | None = None,
        phase: float = 0.0,
        *,
        sizing: Mapping[str, Any] | None = None,
    ) -> tuple[MetricSeries, dict[str, Any]]:
        """A new periodic component appears (kind ``seasonal``): the periodicity changes.

        From ``start_index`` for ``duration`` points (default: to the end) a cosine wave of
        ``period_points`` points (default: a quarter of the window, at least 4) and
        ``amplitude`` standard deviations is added, like a cron job that starts to run. It
        starts at its crest, so the change shows from the first point.
        """
        start = _check_index("start_index", start_index, series.length)
        if duration is not None:
            _check_count("duration", duration)
        stop = series.length if duration is None else min(start + duration, series.length)
        period = max(4, (stop - start) // 4) if period_points is None else period_points
        _check_count("period_points", period, minimum=2)
        angle = 2.0 * math.pi * np.arange(stop - start) / period + _check_number("phase", phase)
        std = series_std(series.values_array)
        delta = _check_number("amplitude", amplitude) * std * np.cos(angle)
        params = {
            "period_points": int(period),
            "amplitude": float(amplitude),
            "phase": float(phase),
            "std": std,
        }
        params = _with_sizing(params, sizing)
        return _additive(series, "seasonal", start, stop, delta, params, None)


def _additive(
    series: MetricSeries,
    kind: str,
    start: int,
    stop: int,
    delta: np.ndarray,
    params: dict[str, Any],
    flipped_kind: str | None,
) -> tuple[MetricSeries, dict[str, Any]]:
    lower, upper = series_bounds(series)
    values = np.array(series.values_array, dtype=np.float64)
    segment = values[start:stop]
    applied = _clip(segment + delta, lower, upper)
    flipped = False
    if flipped_kind is not None and delta.size:
        realised = float(np.mean(np.abs(applied - segment)))
        if realised < _VISIBLE_SHARE * float(np.mean(np.abs(delta))):
            reverse = _clip(segment - delta, lower, upper)
            if float(np.mean(np.abs(reverse - segment))) > realised:
                applied, kind, flipped = reverse, flipped_kind, True
    change = float(np.mean(applied - segment)) if delta.size else 0.0
    values[start:stop] = applied
    # A caller that already reversed the direction to keep the anomaly visible says so.
    flipped = flipped or bool(params.get("sizing", {}).get("direction_flipped", False))
    params = {**params, "direction_flipped": flipped, "mean_change": change}
    return _labelled(series, series.timestamps_ns, values, kind, start, stop, params)


def _with_sizing(params: dict[str, Any], sizing: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` plus a copy of the caller's sizing record (if any) under ``"sizing"``."""
    if sizing is None:
        return params
    if not isinstance(sizing, Mapping):
        raise ValidationError("sizing", sizing, "must be a mapping (or None)")
    return {**params, "sizing": dict(sizing)}


def _labelled(
    original: MetricSeries,
    timestamps_ns: np.ndarray,
    values: np.ndarray,
    kind: str,
    start: int,
    stop: int,
    params: dict[str, Any],
) -> tuple[MetricSeries, dict[str, Any]]:
    label = _window_label(original, kind, start, stop, params)
    return _with_labels(original, timestamps_ns, values, [label]), label


def _window_label(
    original: MetricSeries, kind: str, start: int, stop: int, params: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": AnomalyKind(kind).label.value,
        "start_index": start,
        "end_index": stop - 1,
        "start_time": original.timestamps[start],
        "end_time": original.timestamps[stop - 1],
        "parameters": params,
    }


def _with_labels(
    original: MetricSeries,
    timestamps_ns: np.ndarray,
    values: np.ndarray,
    labels: list[dict[str, Any]],
) -> MetricSeries:
    """The new series; its ``metadata["anomalies"]`` gets copies of ``labels`` appended."""
    anomalies = [*original.metadata.get("anomalies", []), *copy.deepcopy(labels)]
    metadata = {**original.metadata, "anomalies": anomalies}
    return MetricSeries.from_arrays(original.key, timestamps_ns, values, metadata, original.aware)


def _spike_kind(magnitude: float, flipped: bool) -> str:
    upward = (magnitude >= 0) != flipped
    return "spike" if upward else "dip"


def _clip(values: np.ndarray, lower: float | None, upper: float | None) -> np.ndarray:
    if lower is None and upper is None:
        return values
    return np.clip(values, lower, upper)


def _check_index(name: str, value: Any, length: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValidationError(name, value, "must be an integer index")
    if length == 0:
        raise ValidationError(name, value, "the series is empty")
    if not 0 <= int(value) < length:
        raise ValidationError(name, value, f"must be in [0, {length - 1}] for this series")
    return int(value)


def _check_indices(name: str, values: Any, length: int) -> np.ndarray:
    indices = np.asarray(values)
    if indices.size == 0:
        return np.empty(0, dtype=np.int64)
    if indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise ValidationError(name, values, "must be a one-dimensional sequence of integers")
    if indices.min() < 0 or indices.max() >= length:
        raise ValidationError(name, values, f"indices must be in [0, {length - 1}]")
    if np.unique(indices).size != indices.size:
        raise ValidationError(name, values, "indices must be unique")
    return np.sort(indices.astype(np.int64))


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValidationError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def _check_number(name: str, value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValidationError(name, value, "must be a finite number")
    return float(value)
