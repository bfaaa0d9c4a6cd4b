"""The usual range around a forecast: where a series' recent points have stayed.

A detector's alarm band (where one point alone would alarm) is the right edge for alarms but
a poor picture of "normal": on a heavy-tailed or young series it reaches far beyond anything
the series has done. Charts show instead the range the recent residuals around the forecast
have kept to, as the anomaly monitors SREs know draw it. It is descriptive only: no score
depends on it.

>>> import numpy as np
>>> ts = np.arange(600, dtype=np.int64) * 300 * 10**9          # five-minute points
>>> observed = 50.0 + np.resize([-2.0, -1.0, 0.0, 1.0, 2.0], 600)
>>> lower, upper = usual_range(ts, observed, np.full(600, 50.0))
>>> float(lower[-1]), float(upper[-1])
(48.0, 52.0)
>>> bool(np.isnan(lower[0]))                                   # nothing seen before yet
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "USUAL_COVERAGE",
    "USUAL_MIN_POINTS",
    "USUAL_WINDOW",
    "left_out",
    "scored_usual_range",
    "usual_range",
]

#: How far back the residuals are read: a day holds every hour's load once.
USUAL_WINDOW = pd.Timedelta(days=1)
#: The share of recent residuals the range holds (1 % beyond each edge).
USUAL_COVERAGE = 0.98
#: Fewer earlier residuals than this give no range (NaN).
USUAL_MIN_POINTS = 30


def usual_range(
    timestamps_ns: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    exclude: np.ndarray | None = None,
    *,
    window: pd.Timedelta = USUAL_WINDOW,
    coverage: float = USUAL_COVERAGE,
    min_points: int = USUAL_MIN_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """``expected`` plus the low and high ``coverage`` quantiles of the residuals
    (``observed − expected``) in the ``window`` before each point.

    Each point's range uses only earlier points (not itself), and points marked in
    ``exclude`` (anomalies) are left out, so an anomaly widens neither its own range nor
    later ones. Where fewer than ``min_points`` residuals are known the range is NaN.
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage={coverage!r}: must be in (0, 1)")
    residual = np.asarray(observed, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    if exclude is not None:
        residual = np.where(np.asarray(exclude, dtype=bool), np.nan, residual)
    index = pd.DatetimeIndex(np.asarray(timestamps_ns, dtype="datetime64[ns]"))
    recent = pd.Series(residual, index=index).rolling(window, min_periods=min_points, closed="left")
    tail = (1.0 - coverage) / 2.0
    low = recent.quantile(tail).to_numpy(dtype=np.float64)
    high = recent.quantile(1.0 - tail).to_numpy(dtype=np.float64)
    return expected + low, expected + high


def left_out(
    scores: np.ndarray | None,
    threshold: float,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> np.ndarray | None:
    """The points a usual range leaves out: those that alarm (``scores >= threshold``) and
    those the engine did not model (its first points, whose alarm band has no width).

    >>> left_out(np.array([0.1, 0.9, 0.2]), 0.5, np.array([1.0, 0.0, 2.0]),
    ...          np.array([1.0, 3.0, 4.0])).tolist()
    [True, True, False]
    """
    masks = []
    if scores is not None:
        masks.append(np.asarray(scores) >= threshold)
    if lower is not None and upper is not None:
        masks.append(np.asarray(lower) == np.asarray(upper))
    return np.logical_or.reduce(masks) if masks else None


def scored_usual_range(
    timestamps_ns: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    scores: np.ndarray | None,
    threshold: float,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The usual range of an engine's output: :func:`usual_range` with the points
    :func:`left_out` names (alarms at ``threshold``, points with a band of no width) left
    out. What charts, plots and ``detect-file --band`` draw."""
    skip = left_out(scores, threshold, lower, upper)
    return usual_range(timestamps_ns, observed, expected, skip)
