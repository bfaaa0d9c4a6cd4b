"""Cut a series into windows, by point count or by duration, for engines to score one by one.

A :class:`TimeWindow` is a half-open slice of point indices ``[start_idx, end_idx)`` (like
Python slicing: ``end_idx`` is exclusive, ``size == end_idx - start_idx``) together with the
timestamps of the first and the last point *inside* it. Extraction is deterministic and works
on the series' int64 epoch-ns column, so cost grows with the number of windows, not points.

A *partial* window is one that runs past the end of the data. Extractors drop them unless
``include_partial_windows`` is set, and then add at most one: the trailing window holding the
points that no full window covers. Empty windows never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from backend.analytics._columns import FloatColumn, TimeColumn
from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries
from backend.errors import ValidationError

__all__ = ["SlidingWindowExtractor", "TimeBasedWindowExtractor", "TimeWindow"]


@dataclass(frozen=True)
class TimeWindow:
    """Points ``start_idx`` to ``end_idx - 1`` of a series (``end_idx`` is exclusive).

    ``start_time`` / ``end_time`` are the timestamps of the first and last point in the
    window, so ``series.timestamps[start_idx] == start_time`` and
    ``series.timestamps[end_idx - 1] == end_time``. ``window_number`` counts the windows an
    extractor returned, from 0.

    >>> w = TimeWindow(0, 3, datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 2), 0)
    >>> w.size
    3
    """

    start_idx: int
    end_idx: int
    start_time: datetime
    end_time: datetime
    window_number: int

    def __post_init__(self) -> None:
        _check_index("start_idx", self.start_idx, minimum=0)
        _check_index("end_idx", self.end_idx, minimum=self.start_idx + 1)
        _check_index("window_number", self.window_number, minimum=0)
        if to_epoch_ns(self.end_time) < to_epoch_ns(self.start_time):
            raise ValidationError(
                "end_time", self.end_time, f"is before start_time {self.start_time}"
            )

    @property
    def size(self) -> int:
        """Number of points in the window."""
        return self.end_idx - self.start_idx

    def as_slice(self) -> slice:
        """The window as a slice over the series' arrays."""
        return slice(self.start_idx, self.end_idx)


class SlidingWindowExtractor:
    """Windows of ``window_size_points`` points, a new one every ``stride_points`` points.

    ``stride_points=None`` means the window size (non-overlapping windows); a stride larger
    than the window skips points between windows. With ``include_partial_windows`` the
    points after the last full window form one shorter trailing window (a series shorter
    than one window then yields a single window holding all of it).

    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> s = MetricSeries("t", "c", "n", "cpu", [t0 + timedelta(minutes=i) for i in range(7)],
    ...                  [1.0] * 7)
    >>> [(w.start_idx, w.end_idx) for w in SlidingWindowExtractor(3).extract(s)]
    [(0, 3), (3, 6)]
    >>> ext = SlidingWindowExtractor(3, stride_points=2, include_partial_windows=True)
    >>> [(w.start_idx, w.end_idx) for w in ext.extract(s)]
    [(0, 3), (2, 5), (4, 7)]
    >>> [(w.start_idx, w.end_idx) for w in SlidingWindowExtractor(4, 4, True).extract(s)]
    [(0, 4), (4, 7)]
    """

    def __init__(
        self,
        window_size_points: int = 100,
        stride_points: int | None = None,
        include_partial_windows: bool = False,
    ) -> None:
        self.window_size_points = _check_index("window_size_points", window_size_points, 1)
        stride = window_size_points if stride_points is None else stride_points
        self.stride_points = _check_index("stride_points", stride, 1)
        self.include_partial_windows = bool(include_partial_windows)

    @property
    def config(self) -> dict[str, Any]:
        """The hyperparameters; ``SlidingWindowExtractor(**ext.config)`` behaves the same."""
        return {
            "window_size_points": self.window_size_points,
            "stride_points": self.stride_points,
            "include_partial_windows": self.include_partial_windows,
        }

    def extract(self, series: MetricSeries) -> list[TimeWindow]:
        """The windows of ``series`` in time order (empty list for an empty series)."""
        starts, ends = self.bounds(len(series))
        return _build_windows(series, starts, ends)

    def bounds(self, n_points: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and exclusive end indices of the windows over ``n_points`` points."""
        size, stride = self.window_size_points, self.stride_points
        n_full = 0 if n_points < size else (n_points - size) // stride + 1
        starts = np.arange(n_full, dtype=np.int64) * stride
        ends = starts + size
        tail = n_full * stride
        covered = int(ends[-1]) if n_full else 0
        if self.include_partial_windows and tail < n_points and covered < n_points:
            starts = np.append(starts, tail)
            ends = np.append(ends, n_points)
        return starts, ends

    def extract_window_data(
        self, series: MetricSeries, window: TimeWindow
    ) -> tuple[TimeColumn, FloatColumn]:
        """The window's ``(timestamps, values)``.

        Both are read-only list-like views (``len``, indexing, iteration, comparison with
        lists) and ``numpy.asarray`` of them returns the underlying arrays without copying.
        """
        return _window_data(series, window)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"SlidingWindowExtractor({args})"


class TimeBasedWindowExtractor:
    """Windows of ``window_duration``, a new one every ``stride_duration``, aligned to the
    first timestamp of the series.

    Window ``k`` holds the points with ``t0 + k·stride <= t < t0 + k·stride + duration``.
    Windows that fall entirely inside a gap in the data are skipped. A window is *partial*
    when it ends after the data does: later than the last timestamp plus one sampling step
    (the median spacing of the series), so a final window whose last sample is on time
    counts as full.

    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> minutes = [0, 1, 2, 3, 10, 11, 12, 13]
    >>> s = MetricSeries("t", "c", "n", "cpu", [t0 + timedelta(minutes=m) for m in minutes],
    ...                  [1.0] * 8)
    >>> ext = TimeBasedWindowExtractor(timedelta(minutes=2))
    >>> [(w.start_idx, w.end_idx) for w in ext.extract(s)]
    [(0, 2), (2, 4), (4, 6), (6, 8)]
    >>> ext.extract(s)[2].start_time
    datetime.datetime(2024, 1, 1, 0, 10)
    """

    def __init__(
        self,
        window_duration: timedelta,
        stride_duration: timedelta | None = None,
        include_partial_windows: bool = False,
    ) -> None:
        self.window_duration = _check_duration("window_duration", window_duration)
        stride = window_duration if stride_duration is None else stride_duration
        self.stride_duration = _check_duration("stride_duration", stride)
        self.include_partial_windows = bool(include_partial_windows)

    @property
    def config(self) -> dict[str, Any]:
        """The hyperparameters; ``TimeBasedWindowExtractor(**ext.config)`` behaves the same."""
        return {
            "window_duration": self.window_duration,
            "stride_duration": self.stride_duration,
            "include_partial_windows": self.include_partial_windows,
        }

    def extract(self, series: MetricSeries) -> list[TimeWindow]:
        """The non-empty windows of ``series`` in time order."""
        starts, ends = self.bounds(series.timestamps_ns)
        return _build_windows(series, starts, ends)

    def bounds(self, timestamps_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and exclusive end indices of the non-empty windows over sorted timestamps."""
        ts = np.asarray(timestamps_ns, dtype=np.int64)
        if ts.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        duration, stride = _ns(self.window_duration), _ns(self.stride_duration)
        grid = _occupied_grid(ts - ts[0], duration, stride)
        window_starts = ts[0] + grid * stride
        starts = np.searchsorted(ts, window_starts, side="left")
        ends = np.searchsorted(ts, window_starts + duration, side="left")
        step = int(np.median(np.diff(ts))) if ts.size > 1 else 0
        full = window_starts + duration <= ts[-1] + step
        return _keep_full_and_tail(starts, ends, full, self.include_partial_windows)

    def extract_window_data(
        self, series: MetricSeries, window: TimeWindow
    ) -> tuple[TimeColumn, FloatColumn]:
        """The window's ``(timestamps, values)`` as list-like views (see the sliding one)."""
        return _window_data(series, window)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"TimeBasedWindowExtractor({args})"


def _occupied_grid(rel_ns: np.ndarray, duration: int, stride: int) -> np.ndarray:
    """Grid numbers ``k`` of the windows holding at least one point, ascending.

    Point ``t`` lies in windows ``(t - duration) // stride + 1 .. t // stride``; the union
    of these runs is expanded without visiting the empty windows inside gaps.
    """
    first = np.maximum((rel_ns - duration) // stride + 1, 0)
    last = rel_ns // stride
    covered = first <= last
    first, last = first[covered], last[covered]
    breaks = np.flatnonzero(first[1:] > last[:-1] + 1) + 1
    run_first = first[np.r_[0, breaks]]
    run_last = last[np.r_[breaks - 1, last.size - 1]]
    lengths = run_last - run_first + 1
    offsets = np.cumsum(lengths) - lengths
    position = np.arange(int(lengths.sum()), dtype=np.int64)
    return np.repeat(run_first - offsets, lengths) + position


def _keep_full_and_tail(
    starts: np.ndarray, ends: np.ndarray, full: np.ndarray, include_partial: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Full windows, plus the first partial one when asked and it adds uncovered points."""
    keep = full.copy()
    if include_partial and not full.all():
        first_partial = int(np.argmin(full))
        covered = int(ends[full].max()) if full.any() else 0
        if ends[first_partial] > covered:
            keep[first_partial] = True
    return starts[keep], ends[keep]


def _build_windows(series: MetricSeries, starts: np.ndarray, ends: np.ndarray) -> list[TimeWindow]:
    times = series.timestamps
    return [
        TimeWindow(start, end, times[start], times[end - 1], number)
        for number, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))
    ]


def _window_data(series: MetricSeries, window: TimeWindow) -> tuple[TimeColumn, FloatColumn]:
    if window.end_idx > len(series):
        raise ValidationError(
            "window.end_idx", window.end_idx, f"beyond the series' {len(series)} points"
        )
    part = window.as_slice()
    return series.timestamps[part], series.values[part]


def _check_index(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(name, value, "must be an integer")
    if value < minimum:
        raise ValidationError(name, value, f"must be >= {minimum}")
    return int(value)


def _check_duration(name: str, value: Any) -> timedelta:
    if not isinstance(value, timedelta):
        raise ValidationError(name, value, "must be a datetime.timedelta")
    if value <= timedelta(0):
        raise ValidationError(name, value, "must be positive")
    return value


def _ns(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000_000 + (
        duration.microseconds * 1000
    )
