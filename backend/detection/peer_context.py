"""Peer context: a move the whole fleet makes at once is judged against the fleet.

Each detector knows only its own series. When every node of a tenant moves together (the
first weekend's drop in traffic at midnight, Monday's return, a fleet-wide deploy), each
series sees a change it has never seen, and a fleet of a thousand series raised dozens of
alarms in the same minute: on three simulated fleets 134 of 1,022 false alarms fell in the
first hour of the first weekend. An operator wants each node judged by how far it stands
from its peers, not paged once per node for the fleet's move.

Within a metric group (a tenant's metric name), the residuals of all series in one time
bucket (the group's sampling step) give the *peer move*: their median, in each series' own
residual scales. Where it is at least ``floor`` scales (ordinary times keep it within a
fraction of a scale) and at least ``min_series`` series share the bucket, a point of a fast
statistic scores no more than its residual *relative to the peer move* scores against the
group's pooled residual and pair tails (:mod:`backend.detection.fleet_tail`). A spike on one
node during a fleet-wide move still stands far from its peers and keeps its score; the move
itself no longer alarms on every node. A bucket holds points of one time step only, so a
score still uses no later point.

The fleet calibration (:mod:`backend.detection.fleet_calibration`) applies it; these are
its pure parts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bucket_medians", "peer_residuals", "typical_step"]


def typical_step(timestamps: list[np.ndarray]) -> int:
    """The median sampling step (ns) of a group's series; 0 when none has two points.

    >>> typical_step([np.array([0, 300, 600]), np.array([10, 310]), np.array([5])])
    300
    """
    steps = [float(np.median(np.diff(ts))) for ts in timestamps if ts.size > 1]
    return max(int(np.median(steps)), 0) if steps else 0


def bucket_medians(buckets: np.ndarray, z: np.ndarray, min_series: int) -> np.ndarray:
    """Per point, the median of ``z`` over all points in its bucket (NaN where fewer than
    ``min_series`` points share it).

    >>> bucket_medians(np.array([0, 0, 0, 1]), np.array([1.0, 5.0, 3.0, 9.0]), 2).tolist()
    [3.0, 3.0, 3.0, nan]
    """
    buckets = np.asarray(buckets)
    z = np.asarray(z, dtype=np.float64)
    out = np.full(z.shape, np.nan)
    if z.size == 0:
        return out
    order = np.lexsort((z, buckets))  # by bucket, then by residual within it
    sorted_buckets, sorted_z = buckets[order], z[order]
    starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
    counts = np.diff(np.r_[starts, sorted_buckets.size])
    middle = 0.5 * (sorted_z[starts + (counts - 1) // 2] + sorted_z[starts + counts // 2])
    out[order] = np.repeat(np.where(counts >= min_series, middle, np.nan), counts)
    return out


def peer_residuals(
    z: np.ndarray, medians: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """(each residual relative to its peers' move, whether the peers moved by ``floor``).

    >>> r, moved = peer_residuals(np.array([3.0, 3.0, 9.0]), np.array([0.2, 2.5, np.nan]), 1.0)
    >>> r.tolist(), moved.tolist()
    ([3.0, 0.5, 9.0], [False, True, False])
    """
    z = np.asarray(z, dtype=np.float64)
    move = np.nan_to_num(np.asarray(medians, dtype=np.float64))
    moved = np.abs(move) >= floor if floor > 0.0 else np.zeros(z.shape, dtype=bool)
    return np.where(moved, z - move, z), moved
