"""What "usual" means around a flagged window: candidate baselines and deviations from them.

A baseline is the same phase one to three periods earlier when the history supports a period
(a week, a day, or a cycle found by autocorrelation: memory leak-and-release, cron jobs);
otherwise the recent level and, when the history has a clear slope, that line carried forward.
The history starts after its last sharp break (a restart), and deviations are scaled per side
by the history's own spread, so they read as robust z-scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.analytics._timeconv import NS_PER_DAY
from backend.analytics.explain_shapes import (
    SHARP_POINTS,
    SHARP_SHARE,
    acf_period,
    best_step,
    mad,
    rolling_median,
)

__all__ = [
    "MAD_TO_STD",
    "MIN_REFERENCE",
    "NEAR_POINTS",
    "NS_PER_DAY",
    "Context",
    "LongView",
    "SeriesView",
    "baselines",
    "long_view",
]

MAD_TO_STD = 1.4826
MIN_REFERENCE = 8  # points of history needed to call anything "usual"
HISTORY_POINTS = 240  # points before the window the baseline comes from (at least)
SWING_POINTS = 480  # points from the window start searched for a new periodic swing
MAX_ACF_POINTS = 10_080  # a week of minutes: enough to find any daily or shorter cycle
SEASONAL_GAIN = 1.0  # a period must explain the history at least this well (MAD ratio)
LONG_MIN_POINTS = 4 * HISTORY_POINTS  # history needed to look for a change long before ...
LONG_MIN_DAYS = 3  # ... and it must span this many days, so the daily rhythm is known
NEAR_POINTS = 24  # points each side of the window whose median is the level "now"


@dataclass(frozen=True)
class SeriesView:
    """Per-series precomputation shared by every window of one series."""

    t_ns: np.ndarray
    values: np.ndarray
    step_ns: int
    smooth: np.ndarray  # centred rolling median of 5: history without its own spikes

    @classmethod
    def of(cls, t_ns: np.ndarray, values: np.ndarray) -> SeriesView:
        """Build from aligned int64 epoch-ns timestamps and float64 values."""
        steps = np.diff(t_ns)
        step = int(np.median(steps)) if steps.size else NS_PER_DAY
        return cls(t_ns, values, max(step, 1), rolling_median(values, 5))


@dataclass(frozen=True)
class Context:
    """Deviations of one segment from its baseline, in robust-std units."""

    start: int
    stop: int
    z: np.ndarray
    level: np.ndarray
    spread: float
    period_ns: int | None


def baselines(view: SeriesView, a: int, b: int) -> list[Context]:
    """Candidate baselines for the segment around the window.

    Seasonal (same phase in earlier days/weeks) when the history supports it; otherwise a flat
    level and, when the history has a clear slope (a leak, the rising half of a daily cycle),
    that line carried forward.
    """
    n = view.values.size
    length = max(b - a, 1)
    history = max(3 * length, HISTORY_POINTS)
    stop = min(n, max(b, a + max(3 * length, SWING_POINTS)))
    period = _seasonal_period(view, a, history)
    if period is not None:
        p_points = round(period / view.step_ns)
        start = max(a - history, p_points)
        stop = min(stop, a + p_points)
        level = _seasonal_level(view, start, stop, a, p_points)
        earlier = _earlier_residual(view, start, a, p_points)
        return [_deviations(view, a, start, stop, level, period, earlier)]
    start, ref = _flat_reference(view, a, b, history)
    flat = np.full(stop - start, float(np.median(view.values[ref])))
    contexts = [_deviations(view, a, start, stop, flat, None)]
    trend = _trend_level(view, start, a, stop)
    if trend is not None:
        contexts.append(_deviations(view, a, start, stop, trend, None))
    return contexts


def _earlier_residual(view: SeriesView, start: int, a: int, p: int) -> np.ndarray | None:
    """Deviations from the seasonal level over the same stretch one period earlier, or None
    without the history for it."""
    lo, hi = start - p, a - p
    if lo < p or hi - lo < MIN_REFERENCE:
        return None
    return view.values[lo:hi] - _seasonal_level(view, lo, hi, hi, p)


def _deviations(
    view: SeriesView,
    a: int,
    start: int,
    stop: int,
    level: np.ndarray,
    period: int | None,
    earlier: np.ndarray | None = None,
) -> Context:
    """Deviations from ``level`` in units of the history's spread, measured per side.

    Bursty metrics (disk, network) stray much further up than down; scaling each side by its
    own spread keeps ordinary bursts from outranking a real drop.
    """
    ref_stop = a if a - start >= MIN_REFERENCE else stop
    residual = view.values[start:ref_stop] - level[: ref_stop - start]
    spread = robust_std(residual, view.values[start:stop])
    if earlier is not None and ref_stop == a:
        calm = robust_std(earlier, view.values[start:stop])
        if calm < spread:
            residual, spread = earlier, calm
    up, down = _side_spreads(residual, spread)
    deviation = view.values[start:stop] - level
    z = np.where(deviation > 0, deviation / up, deviation / down)
    return Context(start, stop, z, level, spread, period)


def _side_spreads(residual: np.ndarray, spread: float) -> tuple[float, float]:
    """Spread above and below the median (16th-84th percentile distances), never under half
    the symmetric spread so a short history cannot make one side hair-trigger."""
    if residual.size < 2 * MIN_REFERENCE:
        return spread, spread
    low, mid, high = np.percentile(residual, [15.87, 50.0, 84.13])
    return max(float(high - mid), 0.5 * spread), max(float(mid - low), 0.5 * spread)


def _trend_level(view: SeriesView, start: int, a: int, stop: int) -> np.ndarray | None:
    """The history's line carried forward (held flat after as long again), if it is clear."""
    if a - start < 4 * MIN_REFERENCE:
        return None
    x = np.arange(a - start, dtype=np.float64)
    history = view.smooth[start:a]
    slope, intercept = np.polyfit(x, history, 1)
    flat = mad(view.values[start:a] - np.median(history))
    if mad(view.values[start:a] - (intercept + slope * x)) > 0.8 * flat:
        return None
    ahead = np.minimum(np.arange(stop - start, dtype=np.float64), 2.0 * (a - start))
    return np.asarray(intercept + slope * ahead, dtype=np.float64)


def _flat_reference(view: SeriesView, a: int, b: int, history: int) -> tuple[int, slice]:
    """Where "usual" comes from without seasonality: before the window, else after it."""
    n = view.values.size
    if a >= MIN_REFERENCE:
        start = _after_last_break(view, max(0, a - history), a)
        return start, slice(start, a)
    if n - b >= MIN_REFERENCE:
        return a, slice(b, min(n, b + history))
    return a, slice(0, n)


def _after_last_break(view: SeriesView, start: int, a: int) -> int:
    """Start of the history after its last sharp, large step (a restart, a memory release).

    What was usual before such a break says little about now, so the reference starts after
    it when enough history remains.
    """
    y = view.smooth[start:a]
    if y.size < 4 * MIN_REFERENCE:
        return start
    k = best_step(y)
    w = max(1, min(SHARP_POINTS, k, y.size - k))
    local = float(np.median(y[k : k + w]) - np.median(y[k - w : k]))
    change = float(np.median(y[k:]) - np.median(y[:k]))
    diffs = np.diff(view.values[start:a])
    noise = MAD_TO_STD * mad(diffs) / np.sqrt(2.0)
    sharp = abs(change) > 0 and local / change >= SHARP_SHARE
    if sharp and abs(local) >= 6.0 * noise and y.size - k >= 2 * MIN_REFERENCE:
        return start + k
    return start


def _seasonal_period(view: SeriesView, a: int, history: int) -> int | None:
    """The period (ns) whose same-phase history best explains the data before the window.

    Candidates: a week, a day, and the strongest autocorrelation peak of the history (memory
    leak-and-release cycles, cron jobs). A candidate counts only with enough history and when
    it shrinks the spread around the baseline by a fifth or more.
    """
    if a < MIN_REFERENCE * 4:
        return None
    start = max(0, a - history)
    flat = mad(view.values[start:a] - np.median(view.values[start:a]))
    best, best_mad = None, SEASONAL_GAIN * flat
    for p in _candidate_periods(view, a):
        if a - p < MIN_REFERENCE * 4:
            continue
        lo = max(start, p)
        spread = mad(view.values[lo:a] - _seasonal_level(view, lo, a, a, p))
        if spread < best_mad:
            best, best_mad = p * view.step_ns, spread
    return best


def _candidate_periods(view: SeriesView, a: int) -> list[int]:
    """A week and a day (in points, when the sampling step divides them) and, shorter than
    most of a day, the history's own cycle; calendar periods read better than a found 23.7 h."""
    periods = []
    for period_ns in (7 * NS_PER_DAY, NS_PER_DAY):
        p = round(period_ns / view.step_ns)
        if p >= 4 and abs(p * view.step_ns - period_ns) <= view.step_ns // 2:
            periods.append(p)
    found = acf_period(view.values[max(0, a - MAX_ACF_POINTS) : a])
    if found is not None and found * view.step_ns < 0.9 * NS_PER_DAY:
        periods.append(found)
    return periods


def _seasonal_level(view: SeriesView, start: int, stop: int, a: int, p: int) -> np.ndarray:
    """Median of the smoothed values one, two and three periods earlier (all before ``a``)."""
    index = np.arange(start, stop)
    lags = np.stack([index - k * p for k in (1, 2, 3)])
    usable = (lags >= 0) & (lags < a)
    history = np.where(usable, view.smooth[np.clip(lags, 0, None)], np.nan)
    level = np.nanmedian(np.where(usable.any(axis=0), history, 0.0), axis=0)
    return np.where(usable.any(axis=0), level, np.median(view.values[max(0, a - p) : a]))


def robust_std(residual: np.ndarray, segment: np.ndarray) -> float:
    """Robust std of the residual, floored so a flat history does not make every wiggle huge."""
    spread = MAD_TO_STD * mad(residual) if residual.size else 0.0
    if spread <= 0.0 and residual.size:
        spread = float(np.std(residual))
    scale = float(np.median(np.abs(segment))) if segment.size else 0.0
    return max(spread, 1e-3 * scale, 1e-9)


@dataclass(frozen=True)
class LongView:
    """The series from far back to past the window, as deviations from its oldest stretch.

    Detectors often flag a sustained change late (a drift when it crosses a threshold, a
    burst days after a shift), so the recent history around the window already holds the
    change. The oldest stretch of the long history (``reference`` points, at least two whole
    days when the series has a daily cycle) is the pre-anomaly baseline here: ``z`` is every
    point's deviation from that stretch's level at the same phase, in its robust spread.
    ``stray`` is how far the neighbourhood median of ``z`` strays within the reference itself.
    """

    context: Context
    reference: int
    stray: float


def long_view(view: SeriesView, a: int, b: int, stop: int) -> LongView | None:
    """Deviations of ``[start, stop)`` from the oldest stretch before ``a`` (None if short)."""
    start = max(0, a - MAX_ACF_POINTS)
    history = a - start
    if history < LONG_MIN_POINTS or history * view.step_ns < LONG_MIN_DAYS * NS_PER_DAY:
        return None
    period = _long_period(view, start, a)
    span = max(2 * period, history // 4) if period else history // 4
    reference = min(span, history)
    ref = view.smooth[start : start + reference]
    if period:
        phase = (np.arange(start, stop) - start) % period
        profile = np.array([np.median(ref[p::period]) for p in range(period)])
        level = profile[phase]
    else:
        level = np.full(stop - start, float(np.median(ref)))
    residual = view.values[start : start + reference] - level[:reference]
    spread = robust_std(residual, view.values[start:stop])
    z = (view.values[start:stop] - level) / spread
    near = rolling_median(z[:reference], 2 * NEAR_POINTS + 1)
    context = Context(start, stop, z, level, spread, period * view.step_ns or None)
    return LongView(context, reference, float(np.max(np.abs(near))))


def _long_period(view: SeriesView, start: int, a: int) -> int:
    """Points in a day when the history holds four or more and the first two days' profile
    explains it clearly better than a flat level (spread down by a fifth); 0 otherwise."""
    y = view.smooth[start:a]
    p = round(NS_PER_DAY / view.step_ns)
    if p < 4 or abs(p * view.step_ns - NS_PER_DAY) > view.step_ns // 2 or y.size < 4 * p:
        return 0
    flat = mad(view.values[start:a] - np.median(y))
    profile = np.array([np.median(y[: 2 * p][k::p]) for k in range(p)])
    fitted = profile[np.arange(y.size) % p]
    return int(p) if mad(view.values[start:a] - fitted) < 0.8 * flat else 0
