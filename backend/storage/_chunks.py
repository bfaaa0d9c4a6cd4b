"""Columnar point chunks: split series by day, encode timestamps compactly, merge on write.

Persistent backends keep one row per (series, UTC day) holding packed little-endian arrays, so a
10,080-point series is a handful of rows rather than 10,080, and retention can drop whole days.
Everything here is pure numpy: no I/O, no database.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from backend.analytics._timeconv import NS_PER_DAY

__all__ = [
    "DAY_NS",
    "TS_RAW",
    "TS_REGULAR",
    "Chunk",
    "bounds_slice",
    "decode_timestamps",
    "decode_values",
    "encode_timestamps",
    "merge_points",
    "regular_step",
    "split_by_day",
]

DAY_NS = NS_PER_DAY
TS_RAW = 0
"""Timestamps stored as ``n`` little-endian int64 values."""
TS_REGULAR = 1
"""Timestamps stored as (first, step): an evenly spaced run, 16 bytes whatever its length."""

_REGULAR = struct.Struct("<qq")


class Chunk(NamedTuple):
    """The points of one series that fall in one UTC day."""

    day: int
    timestamps_ns: np.ndarray
    values: np.ndarray


def split_by_day(timestamps_ns: np.ndarray, values: np.ndarray) -> Iterator[Chunk]:
    """Cut sorted points at UTC day boundaries (views, no copies).

    Binary search for each midnight costs O(days x log n), not a pass over every point.

    >>> ts = np.array([0, DAY_NS - 1, DAY_NS, 3 * DAY_NS])
    >>> [(c.day, c.timestamps_ns.size) for c in split_by_day(ts, np.zeros(4))]
    [(0, 2), (1, 1), (3, 1)]
    """
    n = int(timestamps_ns.size)
    if n == 0:
        return
    first_day = int(timestamps_ns[0]) // DAY_NS
    last_day = int(timestamps_ns[-1]) // DAY_NS
    midnights = np.arange(first_day + 1, last_day + 1, dtype=np.int64) * DAY_NS
    cuts = np.searchsorted(timestamps_ns, midnights).tolist()
    starts, stops = [0, *cuts], [*cuts, n]
    for day, start, stop in zip(range(first_day, last_day + 1), starts, stops, strict=True):
        if stop > start:
            yield Chunk(day, timestamps_ns[start:stop], values[start:stop])


def regular_step(timestamps_ns: np.ndarray) -> int | None:
    """The constant spacing of the points, or None if they are not evenly spaced.

    >>> regular_step(np.array([0, 60, 120])), regular_step(np.array([0, 60, 100]))
    (60, None)
    """
    if timestamps_ns.size < 2:
        return None
    first = int(timestamps_ns[0])
    step = int(timestamps_ns[1]) - first
    if int(timestamps_ns[-1]) != first + step * (timestamps_ns.size - 1):
        return None
    return step if bool((np.diff(timestamps_ns) == step).all()) else None


def encode_timestamps(timestamps_ns: np.ndarray, step: int | None = None) -> tuple[int, bytes]:
    """(codec, blob): evenly spaced runs shrink to 16 bytes, others stay raw int64.

    ``step`` is the known spacing when the caller already checked a longer run these points
    are cut from, which saves checking every chunk again.

    >>> encode_timestamps(np.array([10, 20, 30]))[0] == TS_REGULAR
    True
    >>> encode_timestamps(np.array([10, 20, 35]))[0] == TS_RAW
    True
    """
    if timestamps_ns.size >= 3:
        if step is None:
            step = regular_step(timestamps_ns)
        if step is not None:
            return TS_REGULAR, _REGULAR.pack(int(timestamps_ns[0]), step)
    return TS_RAW, np.ascontiguousarray(timestamps_ns, dtype="<i8").tobytes()


def decode_timestamps(codec: int, blob: bytes, n: int) -> np.ndarray:
    """Inverse of :func:`encode_timestamps`; ``n`` is the stored point count.

    >>> codec, blob = encode_timestamps(np.array([10, 20, 30]))
    >>> decode_timestamps(codec, blob, 3).tolist()
    [10, 20, 30]
    """
    if codec == TS_REGULAR:
        first, step = _REGULAR.unpack(blob)
        return first + step * np.arange(n, dtype=np.int64)
    if codec == TS_RAW:
        return np.frombuffer(blob, dtype="<i8")
    raise ValueError(f"unknown timestamp codec {codec}")


def decode_values(blob: bytes) -> np.ndarray:
    """Packed little-endian float64 values (a read-only view of the blob)."""
    return np.frombuffer(blob, dtype="<f8")


def merge_points(
    old_ts: np.ndarray, old_values: np.ndarray, new_ts: np.ndarray, new_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union of two sorted runs by timestamp; on equal timestamps the new value wins.

    This is what makes writes idempotent: re-writing points replaces them in place.

    >>> ts, vs = merge_points(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]),
    ...                       np.array([3, 4]), np.array([30.0, 40.0]))
    >>> ts.tolist(), vs.tolist()
    ([1, 2, 3, 4], [1.0, 2.0, 30.0, 40.0])
    """
    if old_ts.size == 0:
        return new_ts, new_values
    if new_ts.size == 0:
        return old_ts, old_values
    if old_ts[-1] < new_ts[0]:
        return np.concatenate([old_ts, new_ts]), np.concatenate([old_values, new_values])
    if new_ts[-1] < old_ts[0]:
        return np.concatenate([new_ts, old_ts]), np.concatenate([new_values, old_values])
    keep = ~_contained(old_ts, new_ts)
    if not keep.any():
        return new_ts, new_values
    ts = np.concatenate([old_ts[keep], new_ts])
    values = np.concatenate([old_values[keep], new_values])
    order = np.argsort(ts, kind="stable")
    return ts[order], values[order]


def _contained(needles: np.ndarray, sorted_haystack: np.ndarray) -> np.ndarray:
    """Boolean mask: which needles occur in the sorted haystack (binary search, no hashing)."""
    idx = np.searchsorted(sorted_haystack, needles)
    idx = np.minimum(idx, sorted_haystack.size - 1)
    return np.asarray(sorted_haystack[idx] == needles)


def bounds_slice(timestamps_ns: np.ndarray, start_ns: int | None, end_ns: int | None) -> slice:
    """Index range of sorted timestamps with ``start_ns <= t <= end_ns`` (None: unbounded).

    >>> bounds_slice(np.array([1, 2, 3, 4]), 2, 3)
    slice(1, 3, None)
    """
    lo = 0 if start_ns is None else int(np.searchsorted(timestamps_ns, start_ns, side="left"))
    hi = (
        int(timestamps_ns.size)
        if end_ns is None
        else int(np.searchsorted(timestamps_ns, end_ns, side="right"))
    )
    return slice(lo, max(lo, hi))
