"""Roll-up math and the read-side stitching of tiers: pure numpy, no I/O.

A roll-up summarises points per epoch-aligned bucket (count, min, max, mean); roll-ups of
disjoint or overlapping point sets merge exactly. Reads put hourly means, then 5-minute means,
then raw points end to end, each tier answering the days the tenant's watermarks give it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FIVE_MINUTES_S",
    "HOUR_S",
    "RESOLUTIONS_S",
    "Rollup",
    "TierDays",
    "decode_rollup",
    "encode_rollup",
    "merge_rollups",
    "stitch_tiers",
    "summarise",
    "tier_days",
]

FIVE_MINUTES_S = 300
HOUR_S = 3600
RESOLUTIONS_S = (FIVE_MINUTES_S, HOUR_S)
_NS = 1_000_000_000
_HEADER = struct.Struct("<i")


@dataclass(frozen=True)
class Rollup:
    """Per-bucket summaries at one resolution: bucket start (epoch ns), count, min, max, mean."""

    bucket_ns: np.ndarray
    count: np.ndarray
    min: np.ndarray
    max: np.ndarray
    mean: np.ndarray

    def __len__(self) -> int:
        return int(self.bucket_ns.size)


def summarise(timestamps_ns: np.ndarray, values: np.ndarray, resolution_s: int) -> Rollup:
    """Summaries of sorted points per ``resolution_s`` bucket (buckets aligned to the epoch).

    >>> r = summarise(np.array([0, 60, 299, 300]) * 10**9, np.array([1.0, 3.0, 2.0, 7.0]), 300)
    >>> r.bucket_ns.tolist(), r.count.tolist(), r.min.tolist(), r.max.tolist(), r.mean.tolist()
    ([0, 300000000000], [3, 1], [1.0, 7.0], [3.0, 7.0], [2.0, 7.0])
    """
    width = resolution_s * _NS
    buckets = np.floor_divide(timestamps_ns, width) * width
    if buckets.size == 0:
        return _empty_rollup()
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    counts = np.diff(np.r_[starts, buckets.size]).astype(np.int64)
    return Rollup(
        buckets[starts].astype(np.int64),
        counts,
        np.minimum.reduceat(values, starts),
        np.maximum.reduceat(values, starts),
        np.add.reduceat(values, starts) / counts,
    )


def merge_rollups(old: Rollup, new: Rollup) -> Rollup:
    """Union by bucket; a bucket in both combines (counts add, means weighted by count).

    >>> a = Rollup(np.array([0]), np.array([2]), np.array([1.0]), np.array([3.0]), np.array([2.0]))
    >>> b = Rollup(np.array([0, 9]), np.array([1, 1]), np.array([8.0, 5.0]),
    ...            np.array([8.0, 5.0]), np.array([8.0, 5.0]))
    >>> m = merge_rollups(a, b)
    >>> m.count.tolist(), m.min.tolist(), m.max.tolist(), m.mean.tolist()
    ([3, 1], [1.0, 5.0], [8.0, 5.0], [4.0, 5.0])
    """
    if len(old) == 0:
        return new
    if len(new) == 0:
        return old
    buckets = np.concatenate([old.bucket_ns, new.bucket_ns])
    unique, where = np.unique(buckets, return_inverse=True)
    counts = np.concatenate([old.count, new.count])
    sums = np.concatenate([old.mean * old.count, new.mean * new.count])
    total = np.bincount(where, weights=counts, minlength=unique.size).astype(np.int64)
    mins = np.full(unique.size, np.inf)
    maxs = np.full(unique.size, -np.inf)
    np.minimum.at(mins, where, np.concatenate([old.min, new.min]))
    np.maximum.at(maxs, where, np.concatenate([old.max, new.max]))
    means = np.bincount(where, weights=sums, minlength=unique.size) / total
    return Rollup(unique.astype(np.int64), total, mins, maxs, means)


def encode_rollup(rollup: Rollup) -> bytes:
    """One blob: bucket count, then the five little-endian columns."""
    parts = [_HEADER.pack(len(rollup))]
    parts += [np.ascontiguousarray(rollup.bucket_ns, "<i8").tobytes()]
    parts += [np.ascontiguousarray(rollup.count, "<i8").tobytes()]
    parts += [
        np.ascontiguousarray(c, "<f8").tobytes() for c in (rollup.min, rollup.max, rollup.mean)
    ]
    return b"".join(parts)


def decode_rollup(blob: bytes) -> Rollup:
    """Inverse of :func:`encode_rollup`.

    >>> r = summarise(np.array([0, 10**9]), np.array([1.0, 2.0]), 300)
    >>> decode_rollup(encode_rollup(r)).mean.tolist()
    [1.5]
    """
    (n,) = _HEADER.unpack_from(blob)
    offset = _HEADER.size
    columns = []
    for dtype in ("<i8", "<i8", "<f8", "<f8", "<f8"):
        columns.append(np.frombuffer(blob, dtype=dtype, count=n, offset=offset))
        offset += 8 * n
    return Rollup(*columns)


def _empty_rollup() -> Rollup:
    ints, floats = np.empty(0, np.int64), np.empty(0, np.float64)
    return Rollup(ints, ints, floats, floats, floats)


@dataclass(frozen=True)
class TierDays:
    """Inclusive day ranges to read from each tier (empty when first > last)."""

    raw: tuple[int, int]
    five_minute: tuple[int, int]
    hourly: tuple[int, int]


def tier_days(
    first_day: int, last_day: int, raw_from: int | None, five_from: int | None
) -> TierDays:
    """Which days of [first_day, last_day] each tier answers, given the tenant's watermarks.

    >>> tier_days(0, 100, raw_from=50, five_from=20)
    TierDays(raw=(50, 100), five_minute=(20, 49), hourly=(0, 19))
    >>> tier_days(0, 100, raw_from=None, five_from=None).raw
    (0, 100)
    >>> tier_days(0, 100, raw_from=50, five_from=None)
    TierDays(raw=(50, 100), five_minute=(0, 49), hourly=(0, -1))
    """
    if raw_from is None:
        return TierDays((first_day, last_day), (1, 0), (1, 0))
    five = first_day if five_from is None else min(five_from, raw_from)
    return TierDays(
        (max(first_day, raw_from), last_day),
        (max(first_day, five), min(last_day, raw_from - 1)),
        (first_day, min(last_day, five - 1)),
    )


def stitch_tiers(
    hourly: Rollup | None, five_minute: Rollup | None, raw: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """One ascending series from disjoint tiers: bucket means of the roll-ups, then raw points."""
    parts = [r for r in (hourly, five_minute) if r is not None and len(r)]
    if not parts:
        return raw
    ts = np.concatenate([*(r.bucket_ns for r in parts), raw[0]])
    values = np.concatenate([*(r.mean for r in parts), raw[1]])
    return ts, values
