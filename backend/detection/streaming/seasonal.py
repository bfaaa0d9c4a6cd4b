"""Daily profile (24 hourly bins, linearly interpolated) and weekday offsets, indexed by the
point's own timestamp, so gaps and irregular sampling keep the phase right.

Both profiles are kept centred (mean zero), so they never drift against the level.
"""

from __future__ import annotations

import math

import numpy as np

from backend.detection.streaming import layout as ly
from backend.detection.streaming._jit import njit

__all__ = ["DAY_SECONDS", "learn_profile", "profile_at"]

DAY_SECONDS = 86400.0
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday = 0


@njit
def profile_at(st: np.ndarray, t: float) -> tuple[float, int, int, float, int]:
    """Seasonal offset at epoch second ``t`` and where it came from (bins and weight)."""
    day = math.floor(t / DAY_SECONDS)
    second = t - day * DAY_SECONDS  # exact t % day, without fmod (both multiples of t's ulp)
    if second < 0.0:  # t / DAY_SECONDS rounded up to the next whole day
        second += DAY_SECONDS
    elif second >= DAY_SECONDS:
        second -= DAY_SECONDS
    pos = second / 3600.0 - 0.5
    if pos < 0.0:
        pos += ly.N_DAY_BINS
    i0 = int(pos) % ly.N_DAY_BINS
    w = pos - math.floor(pos)
    i1 = (i0 + 1) % ly.N_DAY_BINS
    dow = (int(day) + _EPOCH_WEEKDAY) % 7
    value = (1.0 - w) * st[ly.I_DAY + i0] + w * st[ly.I_DAY + i1] + st[ly.I_DOW + dow]
    return value, i0, i1, w, dow


@njit
def _centre(st: np.ndarray, start: int, size: int) -> None:
    mean = 0.0
    for i in range(size):
        mean += st[start + i]
    mean /= size
    for i in range(size):
        st[start + i] -= mean


@njit
def _rate(x: float) -> float:
    """1 − e^(−x), without calling exp for the tiny x of one sampling step."""
    return x * (1.0 - 0.5 * x) if x < 1e-3 else 1.0 - math.exp(-x)


@njit
def learn_profile(
    st: np.ndarray,
    u: float,
    u_dow: float,
    dt: float,
    i0: int,
    i1: int,
    w: float,
    dow: int,
    days: float,
    centre: bool,
) -> None:
    """Move the hourly bins that produced the forecast by ``u`` and the weekday offset by
    ``u_dow`` (clipped residuals, the hourly one with the cycle the level carries); re-centre
    both profiles when ``centre`` (every few points is enough)."""
    a_day = _rate(dt * ly.N_DAY_BINS / (days * DAY_SECONDS))
    a_dow = _rate(dt / (days * DAY_SECONDS))
    st[ly.I_DAY + i0] += a_day * (1.0 - w) * u
    st[ly.I_DAY + i1] += a_day * w * u
    st[ly.I_DOW + dow] += a_dow * u_dow
    if centre:
        _centre(st, ly.I_DAY, ly.N_DAY_BINS)
        _centre(st, ly.I_DOW, ly.N_DOW_BINS)
