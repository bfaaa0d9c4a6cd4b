"""Vectorised building blocks for synthetic metrics: calendar features, load shape, filters.

Everything works on whole int64 epoch-ns arrays; calendar features are UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_DAY = 86_400
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def hour_of_day(t_ns: np.ndarray) -> np.ndarray:
    """Fractional UTC hour of day in [0, 24).

    >>> hour_of_day(np.array([0, 5_400 * NS_PER_SECOND])).tolist()
    [0.0, 1.5]
    """
    seconds = np.floor_divide(t_ns, NS_PER_SECOND) % SECONDS_PER_DAY
    return seconds.astype(np.float64) / 3600.0


def day_of_week(t_ns: np.ndarray) -> np.ndarray:
    """UTC day of week, Monday = 0 ... Sunday = 6.

    >>> day_of_week(np.array([0, 2 * SECONDS_PER_DAY * NS_PER_SECOND])).tolist()
    [3, 5]
    """
    days = np.floor_divide(t_ns, SECONDS_PER_DAY * NS_PER_SECOND)
    return ((days + _EPOCH_WEEKDAY) % 7).astype(np.int64)


@dataclass(frozen=True)
class Calendar:
    """Calendar features of one time grid, computed once and shared by every series on it.

    >>> cal = Calendar.of(np.array([14 * 3600 * NS_PER_SECOND]))
    >>> cal.load(peak_hour=14.0, night_floor=0.2, weekend_factor=0.5).round(6).tolist()
    [1.0]
    """

    cos_hour: np.ndarray
    sin_hour: np.ndarray
    weekend: np.ndarray

    @classmethod
    def of(cls, t_ns: np.ndarray) -> Calendar:
        """Features of the timestamps ``t_ns`` (UTC)."""
        angle = 2.0 * math.pi * hour_of_day(t_ns) / 24.0
        return cls(np.cos(angle), np.sin(angle), day_of_week(t_ns) >= 5)

    def daily_wave(self, peak_hour: float) -> np.ndarray:
        """A smooth daily cycle in [0, 1], 1 at ``peak_hour`` UTC, 0 twelve hours later."""
        phase = 2.0 * math.pi * peak_hour / 24.0
        return 0.5 * (1.0 + self.cos_hour * math.cos(phase) + self.sin_hour * math.sin(phase))

    def load(self, peak_hour: float, night_floor: float, weekend_factor: float) -> np.ndarray:
        """Relative demand on a node in (0, 1]: a daily cycle, lower at weekends.

        ``night_floor`` is the load at the daily trough relative to the peak; Saturday and
        Sunday are scaled by ``weekend_factor``. Metrics of one node share this shape, which
        is what makes latency follow throughput and CPU.
        """
        daily = night_floor + (1.0 - night_floor) * self.daily_wave(peak_hour)
        return daily * (1.0 + (weekend_factor - 1.0) * self.weekend)


def ar1(noise: np.ndarray, phi: float) -> np.ndarray:
    """Filter white ``noise`` into an AR(1) process ``x[t] = phi x[t-1] + noise[t]``.

    The exponential kernel is truncated where it falls below 1e-4, so this is exact up to
    that tolerance and runs as one ``np.convolve`` (no Python loop over points).

    >>> ar1(np.array([1.0, 0.0, 0.0]), 0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    if noise.size == 0 or phi == 0.0:
        return noise.astype(np.float64, copy=True)
    length = min(noise.size, math.ceil(math.log(1e-4) / math.log(abs(phi))) + 1)
    kernel = phi ** np.arange(length, dtype=np.float64)
    return np.convolve(noise, kernel)[: noise.size]


def unit_ar1(rng: np.random.Generator, size: int, phi: float) -> np.ndarray:
    """A slowly wandering AR(1) process scaled to unit stationary variance."""
    scale = math.sqrt(1.0 - phi * phi)
    return ar1(rng.standard_normal(size) * scale, phi)


def bursts(
    rng: np.random.Generator, size: int, probability: float, mean_height: float, decay: float
) -> np.ndarray:
    """Non-negative bursts: rare random onsets that decay geometrically (bursty IO, errors)."""
    onsets = rng.random(size) < probability
    heights = np.where(onsets, rng.exponential(mean_height, size), 0.0)
    return ar1(heights, decay)
