"""The numbers behind an explanation: what was usual, and the shape of the departure from it.

:func:`analyse_window` looks at one flagged window of a series and returns a :class:`Finding`:
the baseline (the same time of day/week in earlier days when there is enough history, else the
data just before the window), the robust spread around it, and the shape of the excursion
found in and after the window: a short excursion that returns (spike/dip), a step that
persists (level shift), a gradual ramp (drift), an oscillation around the usual level
(seasonal) or a hole in the timestamps (missing data). Detector windows are imprecise (they
may start late, be short, or contain the event anywhere), so the shape is read from the peak
of the window outwards, using data after the window when the series has it.

Everything is vectorised numpy over the few hundred points around the window; the baselines
live in :mod:`backend.analytics.explain_baseline`, the shape fits in
:mod:`backend.analytics.explain_shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from backend.analytics.explain_baseline import (
    MIN_REFERENCE,
    NS_PER_DAY,
    Context,
    SeriesView,
    baselines,
)
from backend.analytics.explain_shapes import rolling_median, step_or_ramp, swing_strength
from backend.analytics.types import AnomalyKind

__all__ = ["NS_PER_DAY", "Finding", "SeriesView", "analyse_window"]

SHAPE_POINTS = 160  # points from the peak over which steps and ramps are fitted
RETURN_Z = 2.0  # an excursion has ended when the smoothed deviation falls below this
PEAK_Z = 3.0  # peaks smaller than this (in robust std) are ordinary noise
OSCILLATION_SHARE = 0.2  # minimum negative autocorrelation of a new swing
MAX_SPIKE_POINTS = 30  # longer excursions are not spikes


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
        return _quiet_window(view, ctx, a, b, peak, peak_z / threshold)
    return _shape(view, ctx, peak, peak_z)


def _quiet_window(
    view: SeriesView, ctx: Context, a: int, b: int, peak: int, relative: float
) -> Finding:
    """No clear peak in the window: a swing or a departure that persists after it, else normal."""
    oscillation, _ = swing_strength(ctx.z[max(a - ctx.start, 0) :])
    if oscillation >= OSCILLATION_SHARE:
        found = _finding(view, ctx, AnomalyKind.SEASONAL, 0.3 + oscillation, peak, a, ctx.stop)
        return _with_oscillation(found, oscillation)
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


def _shape(view: SeriesView, ctx: Context, peak: int, peak_z: float) -> Finding:
    sign = 1.0 if peak_z > 0 else -1.0
    z = ctx.z
    raw = view.values[ctx.start : ctx.stop]
    excursion = _excursion(z, raw, peak - ctx.start, sign)
    onset, end = excursion.onset, excursion.end
    oscillation, half_period = swing_strength(z[end:])
    if oscillation >= OSCILLATION_SHARE and (
        not excursion.returned or _part_of_swing(z[end:], peak_z, end - onset, half_period)
    ):
        kind, confidence = AnomalyKind.SEASONAL, min(0.95, 0.3 + oscillation)
    elif excursion.returned and not _departs_later(z[end : _shape_stop(ctx, peak)], peak_z):
        kind = AnomalyKind.SPIKE if sign > 0 else AnomalyKind.DIP
        confidence = 0.5 + 0.45 * (1.0 - excursion.residue) * min(1.0, abs(peak_z) / 6.0)
    else:
        kind, confidence, onset = step_or_ramp(z[: _shape_stop(ctx, peak)])
        end = z.size
    found = _finding(view, ctx, kind, confidence, peak, ctx.start + onset, ctx.start + end)
    return _with_oscillation(found, oscillation)


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
    returned: bool
    residue: float  # |level after - level before| as a share of the peak height


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
        return _Excursion(onset, end, short, 0.5)
    level = float(np.median(raw[max(0, start - 20) : start]))
    residue = abs(float(np.median(after)) - level) / max(abs(float(raw[p]) - level), 1e-12)
    returned = end - onset <= MAX_SPIKE_POINTS and residue < 0.35
    return _Excursion(onset, end, returned, min(residue, 1.0))


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
    observed = _observed(view, kind, onset, end, peak)
    peak_z = float(ctx.z[min(max(peak, ctx.start), ctx.stop - 1) - ctx.start])
    return Finding(kind, float(np.clip(confidence, 0.05, 0.99)), peak_z, onset, end, peak,
                   baseline, ctx.spread, observed, ctx.period_ns)  # fmt: skip


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
