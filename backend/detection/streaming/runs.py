"""Turning per-point scores into alarm windows: contiguous runs at or above a threshold.

>>> import numpy as np
>>> anomalous_runs(np.array([0.1, 0.7, 0.8, 0.2, 0.0, 0.9]), 0.5)
[(1, 2), (5, 5)]
>>> anomalous_runs(np.array([0.1, 0.7, 0.8, 0.2, 0.0, 0.9]), 0.5, merge_gap=2)
[(1, 5)]
"""

from __future__ import annotations

import numpy as np

__all__ = ["anomalous_runs", "normal_runs"]


def anomalous_runs(
    scores: np.ndarray, threshold: float, merge_gap: int = 0
) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` index runs of ``scores >= threshold``, in time order.

    Runs separated by at most ``merge_gap`` quiet points are merged, so one incident that
    dips briefly under the threshold still yields one window.
    """
    hot = np.asarray(scores) >= threshold
    if not hot.any():
        return []
    edges = np.diff(np.r_[0, hot.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    keep = np.r_[True, starts[1:] - ends[:-1] - 1 > merge_gap]
    merged_starts = starts[keep]
    merged_ends = np.r_[ends[np.flatnonzero(keep)[1:] - 1], ends[-1]]
    return [(int(a), int(b)) for a, b in zip(merged_starts, merged_ends, strict=True)]


def normal_runs(n: int, hot: list[tuple[int, int]], size: int | None) -> list[tuple[int, int]]:
    """The stretches between anomalous runs, cut into pieces of at most ``size`` points.

    >>> normal_runs(10, [(3, 4)], 4)
    [(0, 2), (5, 8), (9, 9)]
    """
    out: list[tuple[int, int]] = []
    cursor = 0
    for start, end in [*hot, (n, n)]:
        piece = max(size or (start - cursor), 1)
        for a in range(cursor, start, piece):
            out.append((a, min(a + piece, start) - 1))
        cursor = end + 1
    return out
