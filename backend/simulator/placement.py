"""Random but detectable anomalies: where each kind goes and how large it is.

Anomalies start after a clean warm-up (``warmup_fraction`` of the series, 30 % by default) so
detectors that learn a baseline first can find them; missing data removes 1–3 % of the points
in one gap.

Sizes are measured against the series' *own normal variation* (:class:`NormalVariation`), not
its global standard deviation: for a seasonal or bursty metric that holds the daily swing and
the bursts, so a "4 σ spike" could sit inside what the series does every day and the label
would be wrong, not the detector. On the clean series:

* the *usual pattern* is a centred rolling median over ``SMOOTH_POINTS`` points (daily cycles
  and slow wander stay in it, short excursions do not);
* the *local noise scale* is the robust (MAD) spread of the residual around it over
  ``LOCAL_POINTS`` points (noise often grows with the level: busy hours, multiplicative noise);
* the *reach* is the largest residual above and below the pattern, in local noise scales (how
  far its own bursts go at any time of day), and the *band* its 1st and 99th percentiles (where
  nearly all points lie); both are also kept in value units over the whole series, and the
  wider of the two readings is the normal range;
* the *level wander* is the 99th percentile of how far the usual pattern moves from one day to
  the next (half the series for series shorter than two days): how much the level changes on
  its own over the span of a shift or drift.

From these, independently of any detector:

* every point of a spike or dip lies beyond the normal range on its side by a quarter to a
  half of it (the largest burst of the next weeks may well exceed the largest one seen) or by
  2–3 noise scales, whichever is more;
* a level shift moves the level by the band or the level wander, whichever is wider, plus
  2–4 noise scales, so most shifted points leave the band and the step is larger than the
  level's own day-to-day moves;
* a drift reaches that same size a fifth of its span before the end (total = size / 0.8), so it
  ends clearly outside the normal range;
* a new periodic component swings by the band plus 2–4 noise scales, so its crests leave it.

Bounds (0 %, 100 %, a counter's 0) must not bend the anomaly: a shift or drift goes the other
way when the shifted usual pattern would leave them and the other way would not; a dip may go
down to the bound if it still ends at least a noise scale beyond the reach, else it becomes a
spike (``parameters["direction_flipped"]``). The label's ``parameters["sizing"]`` records the
scales and the size in value units; ``magnitude``, ``shift_amount``, ``slope`` and
``amplitude`` keep the injector's meaning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.analytics._timeconv import NS_PER_DAY
from backend.analytics.types import AnomalyKind, MetricSeries
from backend.simulator.injector import AnomalyInjector, series_bounds, series_std

__all__ = [
    "ANOMALY_KINDS",
    "MIN_POINTS_FOR_ANOMALIES",
    "SMOOTH_POINTS",
    "NormalVariation",
    "inject_random",
]

ANOMALY_KINDS: tuple[str, ...] = tuple(kind.value for kind in AnomalyKind)
MIN_POINTS_FOR_ANOMALIES = 20
SMOOTH_POINTS = 25  # width of the rolling median that gives the usual pattern
LOCAL_POINTS = 101  # width of the rolling MAD that gives the local noise scale
LOCAL_FLOOR = 0.2  # the local noise scale is at least this share of the global one
BAND_QUANTILE = 0.99  # the band holds this share of residuals on each side
DRIFT_VISIBLE_SHARE = 0.8  # a drift is at full size this far into its span
_MAD_TO_STD = 1.4826

Injected = tuple[MetricSeries, dict[str, Any]]


@dataclass(frozen=True)
class NormalVariation:
    """How a clean series varies on its own; the yardstick for anomaly sizes.

    Noise often grows with the level (busy hours, multiplicative noise), so the residual is
    read in units of its *local* noise scale (a rolling MAD over ``LOCAL_POINTS``): reach and
    band are in those units; :meth:`normal_range` and :meth:`band` turn them back into value
    units at a place, never below the same figures measured in value units over the series.

    A slow swing of ±50 with noise of std 1: the swing stays in the usual pattern, the scales
    come from the noise alone (the rolling median follows the noise a little, so the residual
    reads a bit smaller than the noise itself).

    >>> rng = np.random.default_rng(0)
    >>> v = NormalVariation.of(np.sin(np.arange(2000) / 100.0) * 50 + rng.normal(0, 1, 2000), 150)
    >>> bool(0.7 < np.median(v.local) < 1.1), bool(v.reach_up > v.band_up > 2.0)
    (True, True)
    """

    usual: np.ndarray
    local: np.ndarray  # local noise scale (value units) at every point
    reach_up: float  # in local noise scales from here on
    reach_down: float
    band_up: float
    band_down: float
    wander: float  # value units
    raw_up: float  # largest residual above / below the pattern in value units
    raw_down: float
    raw_band_up: float  # the band in value units, over the whole series
    raw_band_down: float

    @classmethod
    def of(cls, values: np.ndarray, lag: int) -> NormalVariation:
        """Measure ``values``; ``lag`` is the horizon (points) of the level wander."""
        usual = _rolling_median(values, min(SMOOTH_POINTS, values.size))
        residual = values - usual
        noise = _MAD_TO_STD * float(np.median(np.abs(residual)))
        if not (noise > 0.0 and math.isfinite(noise)):
            noise = series_std(values)
        local = _MAD_TO_STD * _rolling_median(np.abs(residual), min(LOCAL_POINTS, values.size))
        local = np.maximum(local, LOCAL_FLOOR * noise)
        z = residual / local
        low, high = np.quantile(z, [1.0 - BAND_QUANTILE, BAND_QUANTILE])
        raw_low, raw_high = np.quantile(residual, [1.0 - BAND_QUANTILE, BAND_QUANTILE])
        lag = min(max(lag, 1), values.size - 1)
        moves = np.abs(usual[lag:] - usual[:-lag])
        return cls(
            usual=usual,
            local=local,
            reach_up=max(float(z.max()), 0.0),
            reach_down=max(float(-z.min()), 0.0),
            band_up=max(float(high), 0.0),
            band_down=max(float(-low), 0.0),
            wander=float(np.quantile(moves, BAND_QUANTILE)) if moves.size else 0.0,
            raw_up=max(float(residual.max()), 0.0),
            raw_down=max(float(-residual.min()), 0.0),
            raw_band_up=max(float(raw_high), 0.0),
            raw_band_down=max(float(-raw_low), 0.0),
        )

    @classmethod
    def of_series(cls, series: MetricSeries) -> NormalVariation:
        """Measure a series; the wander horizon is a day, or half a series shorter than two."""
        values = series.values_array
        steps = np.diff(series.timestamps_ns)
        step = int(np.median(steps)) if steps.size else NS_PER_DAY
        per_day = max(1, round(NS_PER_DAY / max(step, 1)))
        lag = per_day if values.size >= 2 * per_day else values.size // 2
        return cls.of(values, lag)

    def noise(self, start: int, stop: int) -> float:
        """The typical local noise scale (value units) over ``[start, stop)``."""
        return float(np.median(self.local[start:stop]))

    def scales(self, start: int, stop: int) -> dict[str, float]:
        """The scales that sized an anomaly on ``[start, stop)``, for its ``sizing`` record."""
        return {
            "noise": self.noise(start, stop),
            "reach_up": self.reach_up,
            "reach_down": self.reach_down,
            "band_up": self.band_up,
            "band_down": self.band_down,
            "wander": self.wander,
            "raw_up": self.raw_up,
            "raw_down": self.raw_down,
            "raw_band_up": self.raw_band_up,
            "raw_band_down": self.raw_band_down,
        }

    def band(self, start: int, stop: int, direction: float) -> float:
        """Where nearly all points lie on one side over ``[start, stop)`` (value units): the
        band at the span's typical noise or over the whole series, whichever is wider."""
        up = direction > 0
        band, raw = (self.band_up, self.raw_band_up) if up else (self.band_down, self.raw_band_down)
        return max(band * self.noise(start, stop), raw)

    def normal_range(self, start: int, stop: int, direction: float) -> np.ndarray:
        """How far the series strays from its pattern on one side on ``[start, stop)`` (value
        units): the reach at this time of day or the largest stray anywhere, whichever is wider
        (a burst of fixed size, small against busy-hour noise, still bounds what is normal)."""
        up = direction > 0
        reach, raw = (self.reach_up, self.raw_up) if up else (self.reach_down, self.raw_down)
        return np.maximum(reach * self.local[start:stop], raw)


def inject_random(
    series: MetricSeries, kind: str, rng: np.random.Generator, warmup_fraction: float = 0.3
) -> Injected:
    """Inject one anomaly of ``kind`` at a random place after the warm-up."""
    earliest = max(1, math.ceil(warmup_fraction * series.length))
    return _PLACERS[kind](series, rng, earliest)


def _start(rng: np.random.Generator, earliest: int, latest: int) -> int:
    """A start in [earliest, latest]; the warm-up gives way if the series is too short."""
    return int(rng.integers(min(earliest, latest), latest + 1))


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _clip(values: np.ndarray, lower: float | None, upper: float | None) -> np.ndarray:
    low = -math.inf if lower is None else lower
    return np.clip(values, low, math.inf if upper is None else upper)


def _fits(series: MetricSeries, targets: np.ndarray) -> bool:
    """Whether all ``targets`` lie within the series' value bounds."""
    lower, upper = series_bounds(series)
    return (lower is None or bool(np.all(targets >= lower))) and (
        upper is None or bool(np.all(targets <= upper))
    )


def _direction(
    series: MetricSeries, sign: float, target: Callable[[float], np.ndarray]
) -> tuple[float, bool]:
    """``sign``, or the opposite one when only that keeps ``target(sign)`` within bounds."""
    if not _fits(series, target(sign)) and _fits(series, target(-sign)):
        return -sign, True
    return sign, False


def _spike(series: MetricSeries, rng: np.random.Generator, earliest: int, sign: float) -> Injected:
    duration = int(rng.integers(1, 6))
    start = _start(rng, earliest, series.length - duration)
    stop = min(start + duration, series.length)
    normal = NormalVariation.of_series(series)
    widen, extra = rng.uniform(1.25, 1.5), rng.uniform(2.0, 3.0)
    values, usual = series.values_array[start:stop], normal.usual[start:stop]
    local = normal.local[start:stop]
    lower, upper = series_bounds(series)

    def reach(direction: float) -> float:
        return normal.reach_up if direction > 0 else normal.reach_down

    def height(direction: float) -> np.ndarray:
        """Beyond the normal range on that side, relatively and by a few noise scales."""
        normal_range = normal.normal_range(start, stop, direction)
        return np.maximum(widen * normal_range, normal_range + extra * local)

    def delta(direction: float) -> float:
        """The constant shift that puts every point ``height`` beyond the pattern, or as far
        as the bound allows (a dip to 0 on a positive series)."""
        needed = float(np.max(height(direction) - direction * (values - usual)))
        bound = upper if direction > 0 else lower
        room = math.inf if bound is None else float(np.max(direction * (bound - values)))
        return direction * max(min(needed, room), 0.0)

    def visible(direction: float) -> bool:
        """Every point at least one noise scale beyond the reach at its time of day."""
        target = _clip(values + delta(direction), lower, upper)
        return bool(np.all(direction * (target - usual) >= (reach(direction) + 1.0) * local))

    direction, flipped = sign, False
    if not visible(sign) and visible(-sign):
        direction, flipped = -sign, True
    amount = delta(direction)
    sizing = {**normal.scales(start, stop), "height": float(np.max(height(direction))),
              "delta": amount, "direction_flipped": flipped}  # fmt: skip
    magnitude = amount / series_std(series.values_array)
    return AnomalyInjector.inject_spike(series, start, magnitude, stop - start, sizing=sizing)


def _sustained_size(normal: NormalVariation, start: int, sign: float, extra: float) -> float:
    """A change (value units) that leaves the band and out-moves the level's own wander."""
    noise = normal.noise(start, normal.usual.size)
    return max(normal.band(start, normal.usual.size, sign), normal.wander) + extra * noise


def _level_shift(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    start = _start(rng, earliest, int(0.85 * series.length))
    normal = NormalVariation.of_series(series)
    sign, extra = _sign(rng), rng.uniform(2.0, 4.0)
    usual = normal.usual[start:]

    def size(direction: float) -> float:
        return _sustained_size(normal, start, direction, extra)

    # The usual pattern shifted must stay within bounds, or clipping bends the step.
    direction, flipped = _direction(series, sign, lambda d: usual + d * size(d))
    amount = direction * size(direction)
    sizing = {**normal.scales(start, series.length), "delta": amount,
              "direction_flipped": flipped}  # fmt: skip
    return AnomalyInjector.inject_level_shift(series, start, amount, sizing=sizing)


def _drift(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    n = series.length
    start = _start(rng, earliest, int(0.7 * n))
    normal = NormalVariation.of_series(series)
    sign, extra = _sign(rng), rng.uniform(2.0, 4.0)
    ramp = np.arange(1, n - start + 1, dtype=np.float64) / (n - start)

    def total(direction: float) -> float:
        return _sustained_size(normal, start, direction, extra) / DRIFT_VISIBLE_SHARE

    # The usual pattern plus the ramp must stay within bounds, or clipping flattens it.
    direction, flipped = _direction(
        series, sign, lambda d: normal.usual[start:] + d * total(d) * ramp
    )
    change = direction * total(direction)
    sizing = {**normal.scales(start, n), "delta": change, "direction_flipped": flipped}
    return AnomalyInjector.inject_trend(series, start, change / (n - start), sizing=sizing)


def _missing(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    n = series.length
    length = int(rng.integers(max(2, n // 100), max(3, n // 30) + 1))
    start = _start(rng, earliest, n - length - 1)  # keep a point after the gap
    return AnomalyInjector.inject_missing(series, start, length)


def _seasonal(series: MetricSeries, rng: np.random.Generator, earliest: int) -> Injected:
    n = series.length
    duration = max(8, int(rng.uniform(0.15, 0.3) * n))
    start = _start(rng, earliest, n - duration)
    period = int(rng.integers(6, max(7, duration // 4) + 1))
    normal = NormalVariation.of_series(series)
    stop = start + duration
    band = max(normal.band(start, stop, 1.0), normal.band(start, stop, -1.0))
    swing = band + rng.uniform(2.0, 4.0) * normal.noise(start, stop)
    sizing = {**normal.scales(start, stop), "delta": swing}
    amplitude = swing / series_std(series.values_array)
    return AnomalyInjector.inject_seasonal_change(
        series, start, period_points=period, amplitude=amplitude, duration=duration, sizing=sizing
    )


def _rolling_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling median (mirrored at the edges), same length as ``values``."""
    half = width // 2
    padded = np.pad(values, half, mode="reflect") if values.size > half else values
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.asarray(np.median(windows, axis=1), dtype=np.float64)


_PLACERS: dict[str, Callable[[MetricSeries, np.random.Generator, int], Injected]] = {
    "spike": lambda s, rng, earliest: _spike(s, rng, earliest, 1.0),
    "dip": lambda s, rng, earliest: _spike(s, rng, earliest, -1.0),
    "level_shift": _level_shift,
    "drift": _drift,
    "missing_data": _missing,
    "seasonal": _seasonal,
}
