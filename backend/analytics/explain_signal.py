"""The numbers behind an explanation: what was usual, and the shape of the departure from it.

:func:`analyse_window` looks at one flagged window of a series and returns a :class:`Finding`:
the baseline (the same time of day/week in earlier days when there is enough history, else the
data just before the window), the robust spread around it, and the shape of the excursion
found in and after the window: a short excursion that returns (spike/dip), a step that
persists (level shift), a gradual ramp (drift), a new oscillation around the usual level
(seasonal) or a hole in the timestamps (missing data). Detector windows are imprecise (they
may start late, be short, or contain the event anywhere), so the shape is read from the peak
of the window outwards, using data after the window when the series has it. With days of
history, a window whose surroundings have left the oldest stretch of that history is named by
the shape of that whole change (a drift flagged when it crossed a threshold, a burst days
after a shift), not by the few points the detector flagged.

Everything is vectorised numpy over the few hundred points around the window; the baselines
live in :mod:`backend.analytics.explain_baseline`, the shape fits in
:mod:`backend.analytics.explain_shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

from backend.analytics.explain_baseline import (
    MIN_REFERENCE,
    NEAR_POINTS,
    NS_PER_DAY,
    Context,
    LongView,
    SeriesView,
    baselines,
    long_view,
)
from backend.analytics.explain_shapes import (
    SHARP_POINTS,
    SHARP_SHARE,
    rolling_median,
    step_or_ramp,
    swing_strength,
)
from backend.analytics.types import AnomalyKind

__all__ = ["NS_PER_DAY", "Finding", "SeriesView", "analyse_window"]

SHAPE_POINTS = 160  # points from the peak over which steps and ramps are fitted
RETURN_Z = 2.0  # an excursion has ended when the smoothed deviation falls below this
PEAK_Z = 3.0  # peaks smaller than this (in robust std) are ordinary noise
OSCILLATION_SHARE = 0.2  # minimum negative autocorrelation of a new swing
MAX_SPIKE_POINTS = 30  # longer excursions are not spikes
TREND_POINTS = 20  # the background's level and slope come from twice this many points
NEW_SWING_GAIN = 1.5  # a new periodic component swings this much wider than the history did
STRAY_MARGIN = 1.5  # a sustained level must stray this much further than the reference does
UNUSUAL_FROM_SHARE = 0.5  # a step starts from an unusual level when that is this much of it
BACK_SHARE = 0.35  # back at the level left: within this share of the height reached


@dataclass(frozen=True)
class Finding:
    """What :func:`analyse_window` found; indices are positions in the series."""

    kind: AnomalyKind | None
    confidence: float
    peak_z: float
    onset: int
    end: int
    peak: int
    baseline: float
    spread: float
    observed: float | None
    seasonal_period_ns: int | None = None
    gap_points: int = 0
    gap_start_ns: int = 0
    gap_end_ns: int = 0
    oscillation: float = 0.0
    returned: bool = False  # a level shift or drift that came back at ``end`` (it ended)
    before: float | None = None  # a level shift's level just before its step, when unusual
    fell_to: float | None = None  # where a drift fell at ``end`` when not back near usual


def analyse_window(view: SeriesView, start_ns: int, end_ns: int) -> Finding:
    """Classify the departure from usual behaviour in the window ``[start_ns, end_ns]``."""
    n = view.values.size
    a = int(np.searchsorted(view.t_ns, start_ns, "left"))
    b = int(np.searchsorted(view.t_ns, end_ns, "right"))
    gap = _find_gap(view, start_ns, end_ns, max(b - a, 1))
    a, b = min(a, n - 1), max(b, min(a + 1, n))
    contexts = baselines(view, a, b)
    if gap is not None:
        return _missing(view, contexts[0], a, gap)
    stop = min(n, max(b + SHAPE_POINTS, contexts[0].stop))
    long = long_view(view, a, b, stop)
    margin = max(2, (b - a) // 4)
    lo, hi = a - margin, b + margin
    peaks = [_window_peak(ctx, lo, hi) for ctx in contexts]
    best = int(np.argmax([abs(z) for _, z in peaks]))
    ctx, (peak, peak_z) = contexts[best], peaks[best]
    threshold = _peak_threshold(min(ctx.stop, hi) - max(ctx.start, lo))
    held, held_z = _window_peak(ctx, lo, hi, smooth=True)
    if abs(held_z) >= PEAK_Z and abs(held_z) >= 0.5 * abs(peak_z):
        # A sustained departure outranks a lone outlier of heavy-tailed noise.
        peak, peak_z = held, float(ctx.z[held - ctx.start])
    elif abs(peak_z) < threshold:
        return _quiet_window(view, ctx, long, (a, b), peak, peak_z / threshold)
    return _shape(view, ctx, long, (a, b), peak, peak_z)


def _quiet_window(
    view: SeriesView,
    ctx: Context,
    long: LongView | None,
    window: tuple[int, int],
    peak: int,
    relative: float,
) -> Finding:
    """No clear peak in the window: a swing, a change long under way (see :func:`_sustained`)
    or a departure that persists after it, else normal."""
    a, b = window
    oscillation, _ = _new_swing(view, ctx, max(a - ctx.start, 0), max(a - ctx.start, 0))
    if oscillation >= OSCILLATION_SHARE:
        found = _finding(view, ctx, AnomalyKind.SEASONAL, 0.3 + oscillation, peak, a, ctx.stop)
        return _with_oscillation(found, oscillation)
    sustained = _sustained(view, long, window)
    if sustained is not None:  # nothing stands out nearby because the change is older
        return replace(sustained, confidence=max(0.05, sustained.confidence * 0.8))
    later = ctx.z[b - ctx.start :]
    if later.size >= MIN_REFERENCE and abs(float(np.median(later))) >= PEAK_Z:
        kind, confidence, onset = step_or_ramp(ctx.z[: _shape_stop(ctx, b)])
        return _finding(view, ctx, kind, confidence * 0.8, peak, ctx.start + onset, ctx.stop)
    return _finding(view, ctx, None, 1.0 - 0.5 * abs(relative), peak, a, b)


def _window_peak(ctx: Context, lo: int, hi: int, smooth: bool = False) -> tuple[int, float]:
    """Index and deviation of the largest |z| in ``[lo, hi)`` (of the 5-point median if smooth)."""
    lo, hi = max(ctx.start, lo), min(ctx.stop, hi)
    z = rolling_median(ctx.z, 5) if smooth else ctx.z
    peak = lo + int(np.argmax(np.abs(z[lo - ctx.start : hi - ctx.start])))
    return peak, float(z[peak - ctx.start])


def _shape(
    view: SeriesView,
    ctx: Context,
    long: LongView | None,
    window: tuple[int, int],
    peak: int,
    peak_z: float,
) -> Finding:
    sign = 1.0 if peak_z > 0 else -1.0
    z = ctx.z
    raw = view.values[ctx.start : ctx.stop]
    excursion = _excursion(z, raw, peak - ctx.start, sign)
    onset, end = excursion.onset, excursion.end
    oscillation, half_period = _new_swing(view, ctx, onset, end)
    if oscillation >= OSCILLATION_SHARE and (
        not excursion.back or _part_of_swing(z[end:], peak_z, end - onset, half_period)
    ):
        kind, confidence = AnomalyKind.SEASONAL, min(0.95, 0.3 + oscillation)
    elif (sustained := _sustained(view, long, window, sign, _away(ctx, excursion))) is not None:
        return _with_oscillation(sustained, oscillation)
    elif excursion.back and not _departs_later(z[end : _shape_stop(ctx, peak)], peak_z):
        # back at the level it left: a spike or dip, or a shift that held a while and ended
        lasting = end - onset > MAX_SPIKE_POINTS
        kind = AnomalyKind.SPIKE if sign > 0 else AnomalyKind.DIP
        kind = AnomalyKind.LEVEL_SHIFT if lasting else kind
        confidence = 0.5 + 0.45 * (1.0 - excursion.residue) * min(1.0, abs(peak_z) / 6.0)
        if lasting and (ramp := _ramp_start(z, sign, onset, end)) is not None:
            # climbed for hours and fell back at once: a leak and its restart
            found = _finding(view, ctx, AnomalyKind.DRIFT, confidence, peak,
                             ctx.start + ramp, ctx.start + end)  # fmt: skip
            return replace(found, oscillation=oscillation, returned=True)
        found = _finding(view, ctx, kind, confidence, peak, ctx.start + onset, ctx.start + end)
        before = None if lasting else found.before  # a plateau that ended left the usual
        return replace(found, oscillation=oscillation, returned=lasting, before=before)
    else:
        kind, confidence, onset = step_or_ramp(z[: _shape_stop(ctx, peak)])
        end = z.size
    found = _finding(view, ctx, kind, confidence, peak, ctx.start + onset, ctx.start + end)
    return _with_oscillation(found, oscillation)


def _new_swing(view: SeriesView, ctx: Context, onset: int, end: int) -> tuple[float, int]:
    """:func:`swing_strength` of the deviations from ``end`` on (segment positions), when
    that swing is new.

    A series whose own cycle the baseline fits poorly (a leak-and-release sawtooth a point
    out of phase) swings before the anomaly as well; only a swing that the history before
    ``onset`` lacks, or that is clearly wider than there, is a change of seasonality. When the
    baseline's history is short (it starts after a release), the raw values before stand in.
    """
    z = ctx.z
    after = swing_strength(z[end:])
    if after[0] < OSCILLATION_SHARE:
        return after
    span = z.size - end
    if onset >= span // 2:
        history = z[:onset]
    else:
        raw = view.values[max(0, ctx.start + onset - span) : ctx.start + onset]
        history = (raw - np.median(raw)) / ctx.spread if raw.size else raw
    if history.size < MIN_REFERENCE or swing_strength(history)[0] < OSCILLATION_SHARE:
        return after
    return after if _width(z[end:]) >= NEW_SWING_GAIN * _width(history) else (0.0, 0)


def _width(z: np.ndarray) -> float:
    """How far values typically stray from their own median (90th percentile)."""
    return float(np.percentile(np.abs(z - np.median(z)), 90))


def _away(ctx: Context, excursion: _Excursion) -> tuple[int, int] | None:
    """The excursion's span in series positions when it came back: the level the series
    holds around it is read without it."""
    return (ctx.start + excursion.onset, ctx.start + excursion.end) if excursion.back else None


def _sustained(
    view: SeriesView,
    long: LongView | None,
    window: tuple[int, int],
    sign: float = 0.0,
    away: tuple[int, int] | None = None,
) -> Finding | None:
    """The change under way when the level around ``window`` has left the pre-anomaly
    baseline (the oldest stretch of a long history) further than it ever strays there.

    Whatever the detector flagged (a burst days after a shift, the point where a drift crossed
    its threshold), the kind is then the shape of the whole change: an abrupt step that
    persists is a level shift, a gradual change a drift. An excursion the other way (``sign``)
    than the level moved is not part of it (a spike during a first quiet weekend). An
    excursion that came back (``away``, series positions) is left out of the level around
    the window: a burst on a shifted level still reads as the shift, while a plateau of
    hours that ended is no change under way.
    """
    if long is None:
        return None
    a, b = window
    ctx = long.context
    lo = max(a - NEAR_POINTS, ctx.start + long.reference) - ctx.start
    hi = min(b + NEAR_POINTS, ctx.stop) - ctx.start
    if hi - lo < MIN_REFERENCE:
        return None
    around = ctx.z[lo:hi]
    if away is not None:
        at = ctx.start + np.arange(lo, hi)
        around = around[(at < away[0]) | (at >= away[1])]
        if around.size < MIN_REFERENCE:
            return None
    level = float(np.median(around))
    if abs(level) < max(PEAK_Z, STRAY_MARGIN * long.stray) or sign * level < 0:
        return None
    peak = ctx.start + lo + int(np.argmax(np.abs(ctx.z[lo:hi])))
    bound = 2.0 * abs(level) + PEAK_Z  # bursts must not steer the least-squares fits
    fit_stop = min(ctx.z.size, b - ctx.start + SHAPE_POINTS)
    kind, confidence, onset = step_or_ramp(np.clip(ctx.z[:fit_stop], -bound, bound))
    return _finding(view, ctx, kind, confidence, peak, ctx.start + onset, ctx.stop)


def _departs_later(later: np.ndarray, peak_z: float) -> bool:
    """Whether the series stays far from usual after a short excursion (an outlier riding a
    drift or shift, not a spike on its own)."""
    if later.size < MIN_REFERENCE:
        return False
    level = abs(float(np.median(later)))
    return level >= max(PEAK_Z, abs(peak_z) / 3.0)


def _shape_stop(ctx: Context, anchor: int) -> int:
    """End (relative to the segment) of the part where steps and ramps are fitted."""
    return min(ctx.z.size, anchor - ctx.start + SHAPE_POINTS)


def _part_of_swing(after: np.ndarray, peak_z: float, length: int, half_period: int) -> bool:
    """Whether a short excursion is the first crest of the swings after it, not a spike.

    It is when the later swings are as high as it, or nearly as high and it is about as wide
    as a crest (a 3-point spike before a 300-point cycle is still a spike).
    """
    height = float(np.percentile(np.abs(after), 90)) if after.size else 0.0
    if height >= 0.6 * abs(peak_z):
        return True
    return height >= 0.5 * abs(peak_z) and length >= 0.2 * half_period


def _peak_threshold(points: int) -> float:
    """How far the largest of ``points`` ordinary values may stray (Gaussian, 5 % of windows)."""
    per_point = 1.0 - 0.95 ** (1.0 / max(points, 1))
    return max(PEAK_Z, NormalDist().inv_cdf(1.0 - per_point / 2.0))


@dataclass(frozen=True)
class _Excursion:
    onset: int
    end: int
    returned: bool  # short, and back at the level it left (a spike or dip)
    residue: float  # |level after - level before| as a share of the peak height
    back: bool = False  # back at the level it left, however long it lasted


def _excursion(z: np.ndarray, raw: np.ndarray, p: int, sign: float) -> _Excursion:
    """The run around the peak above half its height, and whether the level came back after it.

    The run is found on the deviations ``z``; whether it came back is judged on the raw values
    just before and just after it, so a baseline that fits the background poorly (a leak, a
    daily cycle) cannot make a spike look persistent or a step look like it returned.
    """
    smooth = sign * rolling_median(z, 3)
    below = np.flatnonzero(smooth[:p] < RETURN_Z)
    first = int(below[-1]) + 1 if below.size else 0
    before = float(np.median(z[max(0, first - 20) : first])) if first >= 3 else 0.0
    height = sign * (float(z[p]) - before)
    deviation = smooth - sign * before
    under = np.flatnonzero(deviation[:p] < 0.5 * height)
    onset = int(under[-1]) + 1 if under.size else 0
    over = np.flatnonzero(deviation[p + 1 :] < 0.5 * height)
    end = p + 1 + int(over[0]) if over.size else z.size
    after = raw[end + 2 : end + 2 + max(20, 2 * (end - onset))]
    start = min(first, onset)
    if end >= z.size or after.size < 5 or start < 3:
        short = end - onset <= 5 and end < z.size
        return _Excursion(onset, end, short, 0.5, short)
    level = float(np.median(raw[max(0, start - TREND_POINTS) : start]))
    residue = abs(float(np.median(after)) - level) / max(abs(float(raw[p]) - level), 1e-12)
    # Back may also mean back on the line the background was on (a leak, the daily rise).
    line, slope = _local_line(raw[max(0, start - 2 * TREND_POINTS) : start])
    ahead = float(np.median(after)) - slope * (end + 2 + (after.size - 1) / 2 - (start - 1))
    residue = min(residue, abs(ahead - line) / max(abs(float(raw[p]) - line), 1e-12))
    returned = end - onset <= MAX_SPIKE_POINTS and residue < 0.35
    # Hours away cross a good part of a daily cycle, which the raw values before and after
    # carry: a long excursion may also come back on the deviations from the baseline.
    later = z[end + 2 : end + 2 + after.size]
    z_residue = abs(float(np.median(later)) - before) / max(height, 1e-12)
    back = returned or (end - onset > MAX_SPIKE_POINTS and min(residue, z_residue) < 0.35)
    return _Excursion(onset, end, returned, min(residue, 1.0), back)


def _local_line(before: np.ndarray) -> tuple[float, float]:
    """Level at the end of ``before`` and its slope per point, robustly: medians of lagged
    differences and of the last quarter, so one sharp break (a memory release) does not tilt
    the slope, and a break in the last quarter sets the level.

    >>> _local_line(np.r_[np.arange(34.0), np.arange(6.0)])
    (5.0, 1.0)
    """
    m, lag = before.size, TREND_POINTS // 2
    if m < 2 * lag:
        return float(np.median(before)), 0.0
    slope = float(np.median(before[lag:] - before[:-lag])) / lag
    last = np.arange(m - m // 4, m)
    return float(np.median(before[last] + slope * (m - 1 - last))), slope


def _ramp_start(z: np.ndarray, sign: float, onset: int, end: int) -> int | None:
    """Where an excursion that came back began, when it rose gradually and fell back at once
    (memory that leaked until a restart), else None (a plateau: a level shift that ended).

    On the smoothed deviations, the climb from a fifth to four fifths of the height held just
    before the end is timed: a plateau makes it within a few points, a ramp takes longer
    than it then stays near the top and never jumps a third of the height at once (a plateau
    on a rising daily cycle deepens as it goes, but it began with a jump). The ramp's start
    is the climb carried back to zero.
    """
    lo = max(0, onset - 2 * (end - onset))
    away = sign * rolling_median(z[lo:end], 9)
    if away.size < 2 * MIN_REFERENCE:
        return None
    height = float(np.median(away[-SHARP_POINTS:]))
    high = np.flatnonzero(away >= 0.8 * height)
    if height < PEAK_Z or high.size == 0:
        return None
    top = int(high[0])
    low = np.flatnonzero(away[:top] < 0.2 * height)
    if low.size == 0:
        return None
    left = int(low[-1])
    climb = top - left
    if climb < 3 * SHARP_POINTS or climb < away.size - top:
        return None
    jumps = away[left + SHARP_POINTS : top + 1] - away[left : top + 1 - SHARP_POINTS]
    if jumps.size and float(jumps.max()) >= height / 3.0:
        return None  # it jumped most of the way at once (a plateau on a rising cycle)
    return lo + max(0, left - climb // 3)


def _release(z: np.ndarray, onset: int, end: int) -> int | None:
    """Where a drift in ``z[onset:end]`` (segment positions) fell back at once by half its
    height or more and stayed there as far as read (a restart after a leak), else None.

    Levels are medians of ``TREND_POINTS`` each side of a point, so a burst on bursty
    metrics is no level; the fall must be the largest such drop, start from near the
    highest level the drift reached, land at half of it or below, happen within a few
    points, and hold below half way down for the rest of the points read.
    """
    w = TREND_POINTS
    sign = 1.0 if float(np.median(z[onset:end])) >= 0 else -1.0
    away = sign * z[onset:end]
    if away.size < 4 * w:
        return None
    sides = np.median(np.lib.stride_tricks.sliding_window_view(away, w), axis=1)
    before, after = sides[: -w - 1], sides[w:-1]  # the w points before and from r = w + i
    i = int(np.argmax(before - after))
    r, high, low = w + i, float(before[i]), float(after[i])
    if high < PEAK_Z or high < 0.7 * float(sides[: i + 1].max()) or low > 0.5 * high:
        return None
    step = float(np.median(away[r - SHARP_POINTS : r]) - np.median(away[r : r + SHARP_POINTS]))
    rest = away[r:]
    if step < SHARP_SHARE * (high - low) or float(np.percentile(rest, 75)) >= (high + low) / 2:
        return None
    return onset + r


def _find_gap(view: SeriesView, start_ns: int, end_ns: int, length: int) -> tuple[int, int] | None:
    """The largest hole in the timestamps touching the window (with a small margin)."""
    t = view.t_ns
    if t.size < 3:
        return None
    margin = max(3, length // 5) * view.step_ns
    holes = np.flatnonzero(np.diff(t) > 1.5 * view.step_ns)
    near = holes[(t[holes + 1] >= start_ns - margin) & (t[holes] <= end_ns + margin)]
    if near.size == 0:
        return None
    widest = int(near[np.argmax(t[near + 1] - t[near])])
    return int(t[widest]), int(t[widest + 1])


def _missing(view: SeriesView, ctx: Context, a: int, gap: tuple[int, int]) -> Finding:
    before = int(np.searchsorted(view.t_ns, gap[0], "left"))
    points = round((gap[1] - gap[0]) / view.step_ns) - 1
    found = _finding(view, ctx, AnomalyKind.MISSING_DATA, 0.95, before, before, before + 1)
    return Finding(**{**found.__dict__, "observed": None, "gap_points": max(points, 1),
                      "gap_start_ns": gap[0], "gap_end_ns": gap[1]})  # fmt: skip


def _finding(
    view: SeriesView, ctx: Context, kind: AnomalyKind | None, confidence: float,
    peak: int, onset: int, end: int,
) -> Finding:  # fmt: skip
    at = min(max(onset, ctx.start), ctx.stop - 1) - ctx.start
    baseline = float(ctx.level[at])
    released = None
    if kind is AnomalyKind.DRIFT and end - onset > MAX_SPIKE_POINTS:
        released = _release(ctx.z, at, min(end, ctx.stop) - ctx.start)
        end = end if released is None else ctx.start + released
    observed = _observed(view, kind, onset, end, peak)
    peak_z = float(ctx.z[min(max(peak, ctx.start), ctx.stop - 1) - ctx.start])
    before = _level_before(view, ctx, onset, observed) if kind is AnomalyKind.LEVEL_SHIFT else None
    fell_to = None
    if released is not None:
        landed = float(np.median(view.values[end : end + TREND_POINTS]))
        fell_to = landed if abs(landed - baseline) > BACK_SHARE * abs(observed - baseline) else None
    return Finding(kind, float(np.clip(confidence, 0.05, 0.99)), peak_z, onset, end, peak,
                   baseline, ctx.spread, observed, ctx.period_ns, before=before,
                   returned=released is not None, fell_to=fell_to)  # fmt: skip


def _level_before(view: SeriesView, ctx: Context, onset: int, observed: float) -> float | None:
    """The level a step left, when that level was itself far from usual; else None.

    Memory that leaked for hours and fell back at a restart stepped from the leak's peak,
    not from what is usual at that hour, which is about where it landed; told from the usual
    level the restart read "shifted down from 43.9 % to 43.4 % (-1 %)". The level before
    counts as unusual when it strays from usual by half the step or more, and both that and
    the step stand clear of ordinary noise, on the raw values (the level a chart shows) and
    on the deviations from the baseline alike (a sawtooth's top or a daily flank is usual),
    and the points just after the onset have made that step.
    """
    lo, hi = onset - 2 * TREND_POINTS - ctx.start, onset - ctx.start
    if lo < 0 or hi >= ctx.z.size:
        return None
    level, _ = _local_line(view.values[ctx.start + lo : ctx.start + hi])
    usual = float(ctx.level[hi])
    residual = (
        view.values[ctx.start + hi - TREND_POINTS : ctx.start + hi]
        - ctx.level[hi - TREND_POINTS : hi]
    )
    step, noise = observed - level, PEAK_Z * ctx.spread
    least = max(UNUSUAL_FROM_SHARE * abs(step), noise)
    landed = float(np.median(view.values[onset : onset + TREND_POINTS])) - level
    if abs(step) < noise or abs(landed) < least or step * landed < 0:
        return None  # no step at the onset: a sawtooth's ramp read as a level
    if min(abs(level - usual), abs(float(np.median(residual)))) < least:
        return None
    return level


def _observed(view: SeriesView, kind: AnomalyKind | None, onset: int, end: int, peak: int) -> float:
    values = view.values
    if kind is AnomalyKind.LEVEL_SHIFT:
        return float(np.median(values[onset:end]))
    if kind is AnomalyKind.DRIFT:
        return float(np.median(values[max(onset, end - 5) : end]))
    if kind in (AnomalyKind.SPIKE, AnomalyKind.DIP) and end > onset:
        run = values[onset:end]
        return float(run.max() if kind is AnomalyKind.SPIKE else run.min())
    return float(values[peak])


def _with_oscillation(found: Finding, oscillation: float) -> Finding:
    return Finding(**{**found.__dict__, "oscillation": oscillation})
