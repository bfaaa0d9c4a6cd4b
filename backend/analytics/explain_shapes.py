"""Shape primitives for explanations: robust smoothing, step and ramp fits, swing detection.

Pure numpy functions over one segment of deviations (``z``, in robust standard deviations).
The step and hinge fits try every change point at once with cumulative sums, so a segment of
``m`` points costs O(m).

>>> z = np.r_[np.zeros(50), np.full(50, 8.0)] + np.random.default_rng(0).normal(0, 1, 100)
>>> kind, confidence, at = step_or_ramp(z)
>>> kind.value, at
('level_shift', 50)
>>> ramp = np.r_[np.zeros(50), np.linspace(0, 12, 50)] + np.random.default_rng(1).normal(0, 1, 100)
>>> step_or_ramp(ramp)[0].value
'drift'
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backend.analytics.types import AnomalyKind

__all__ = [
    "SHARP_POINTS",
    "SHARP_SHARE",
    "acf_period",
    "best_gain",
    "best_step",
    "hinge_moments",
    "mad",
    "rolling_median",
    "step_moments",
    "step_or_ramp",
    "swing_strength",
]

SHARP_POINTS = 6  # a level shift completes within this many points
SHARP_SHARE = 0.6  # ... covering at least this share of its total change
SWING_STD = 1.2  # swings must widen the spread by this factor at least


def rolling_median(x: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling median with edge padding (same length as ``x``)."""
    if x.size < width:
        return x.copy()
    half = width // 2
    padded = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def mad(x: np.ndarray) -> float:
    return float(np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def step_or_ramp(z: np.ndarray) -> tuple[AnomalyKind, float, int]:
    """Level shift or drift: how much of the change happens right at the best step.

    The step is fitted on top of a line, so a daily rise or fall in the background does not
    pull it away from the jump. A level shift moves (almost) all the way within a few points; a
    drift spreads the same change over many, even when it flattens later (a value pinned at
    100 %). Returns the kind, a confidence and where the change happens (step or ramp start).
    """
    if z.size < 8:
        return AnomalyKind.LEVEL_SHIFT, 0.5, 0
    step_gain, k, change = best_gain(z, step_moments)
    ramp_gain, _, _ = best_gain(z, hinge_moments)
    w = max(1, min(SHARP_POINTS, k, z.size - k))
    local = float(np.median(z[k : k + w]) - np.median(z[k - w : k]))
    sharpness = local / change if abs(change) > 1e-9 else 0.0
    if sharpness >= SHARP_SHARE and step_gain >= ramp_gain:
        return AnomalyKind.LEVEL_SHIFT, min(0.95, 0.5 + (sharpness - SHARP_SHARE)), k
    _, ramp_at, _ = best_gain(z[: _plateau(z, k)], hinge_moments)
    return AnomalyKind.DRIFT, min(0.95, 0.5 + (SHARP_SHARE - sharpness)), ramp_at


def _plateau(z: np.ndarray, k: int) -> int:
    """End of the ramp: where the deviations stop growing (pinned at a bound), else the end."""
    sign = 1.0 if np.median(z[k:]) >= np.median(z[:k]) else -1.0
    smooth = sign * rolling_median(z, 9)
    top = int(np.argmax(smooth[k:])) + k
    return max(top + 1, min(z.size, k + 8))


def best_step(y: np.ndarray) -> int:
    """Split index of the two-level step with the smallest squared error (cumulative sums)."""
    m = y.size
    split = np.arange(1, m)
    left = np.cumsum(y)[:-1]
    right = y.sum() - left
    sse = np.dot(y, y) - left**2 / split - right**2 / (m - split)
    return int(split[np.argmin(sse)])


def best_gain(y: np.ndarray, moments: _Moments) -> tuple[float, int, float]:
    """Best regressor ``g_k`` to add to a line, over all ``k``: (drop in squared error, k, coef).

    With ``r`` the residual of the line fit, the drop is ``(g·r)² / (g·g - g'X(X'X)⁻¹X'g)`` for
    ``X = [1, j]``, and the coefficient is ``(g·r) / (g·g - ...)``; every term is a cumulative
    sum, so all knots cost O(m).
    """
    m = y.size
    j = np.arange(m, dtype=np.float64)
    r = y - np.polyval(np.polyfit(j, y, 1), j)
    k = np.arange(1, m - 2, dtype=np.float64)
    g1, gj, gg, gr = moments(k, m, r)
    s_j, s_jj = j.sum(), float(np.dot(j, j))
    det = m * s_jj - s_j**2
    projected = (s_jj * g1**2 - 2 * s_j * g1 * gj + m * gj**2) / det
    residual_norm = np.maximum(gg - projected, 1e-9)
    gain = gr**2 / residual_norm
    best = int(np.argmax(gain))
    return float(gain[best]), int(k[best]), float(gr[best] / residual_norm[best])


_Moments = Callable[
    [np.ndarray, int, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
]


def step_moments(
    k: np.ndarray, m: int, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sums for the step ``g = 1[j >= k]``: g·1, g·j, g·g, g·r."""
    count = m - k
    sum_j = (m - 1) * m / 2 - (k - 1) * k / 2
    tail_r = np.cumsum(r[::-1])[::-1]
    return count, sum_j, count, tail_r[k.astype(np.int64)]


def hinge_moments(
    k: np.ndarray, m: int, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sums for the hinge ``g = max(0, j - k)``: g·1, g·j, g·g, g·r."""
    q = m - 1 - k
    s1 = q * (q + 1) / 2
    s2 = q * (q + 1) * (2 * q + 1) / 6
    j = np.arange(m, dtype=np.float64)
    tail_jr = np.cumsum((j * r)[::-1])[::-1]
    tail_r = np.cumsum(r[::-1])[::-1]
    after = k.astype(np.int64) + 1
    return s1, s2 + k * s1, s2, tail_jr[after] - k * tail_r[after]


def swing_strength(z: np.ndarray) -> tuple[float, int]:
    """How strongly the detrended deviations swing back and forth (0 = not at all, ~1 = pure sine).

    A new periodic component swings to both sides of the usual level several times and shows as
    a strongly negative autocorrelation at half its period. A step or a ramp is removed first
    (best line plus one step), and fewer than three remaining swings count as no oscillation.
    Returns the strength and the lag of the most negative autocorrelation (half a period).
    """
    m = z.size
    if m < 24:
        return 0.0, 0
    # Clip so that one burst cannot look like a swing, but keep large regular swings.
    bound = max(6.0, float(np.percentile(np.abs(z), 90)))
    u = _without_line_and_step(np.clip(z, -bound, bound))
    energy = float(np.dot(u, u))
    if energy <= 0.0 or np.sqrt(energy / m) < SWING_STD or _swings(u) < 3:
        return 0.0, 0
    full = np.correlate(u, u, mode="full")[m - 1 :]
    lags = np.arange(3, m // 2)
    acf = full[lags] / (m - lags) / (energy / m)
    deepest = int(np.argmin(acf))
    return float(max(0.0, -acf[deepest])), int(lags[deepest])


def _without_line_and_step(y: np.ndarray) -> np.ndarray:
    """Residual of ``y`` after the best line plus one step (both least squares)."""
    j = np.arange(y.size, dtype=np.float64)
    _, k, _ = best_gain(y, step_moments)
    design = np.column_stack([np.ones_like(j), j, (j >= k).astype(np.float64)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(y - design @ coef, dtype=np.float64)


def _swings(u: np.ndarray) -> int:
    """Number of alternating runs of the smoothed deviations beyond ±1 (``+ - +`` is three)."""
    width = max(3, u.size // 40)
    smooth = np.convolve(u, np.ones(width) / width, mode="valid")
    signs = np.sign(smooth[np.abs(smooth) > 1.0])
    return int(np.count_nonzero(np.diff(signs))) + 1 if signs.size else 0


def acf_period(history: np.ndarray) -> int | None:
    """Lag of the highest autocorrelation peak (>= 0.3, after a negative trough), if any."""
    m = history.size
    if m < 64:
        return None
    j = np.arange(m, dtype=np.float64)
    u = history - np.polyval(np.polyfit(j, history, 1), j)
    spectrum = np.fft.rfft(u, 2 * m)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: m // 2]
    if acf[0] <= 0.0:
        return None
    acf = acf / acf[0] * m / (m - np.arange(acf.size))
    inner = acf[1:-1]
    peaks = np.flatnonzero((inner > acf[:-2]) & (inner >= acf[2:]) & (inner >= 0.3)) + 1
    # A real cycle swings: the autocorrelation goes negative before it peaks again.
    trough = np.minimum.accumulate(acf)
    peaks = peaks[(peaks >= 8) & (trough[peaks] < 0.0)]
    return int(peaks[np.argmax(acf[peaks])]) if peaks.size else None
