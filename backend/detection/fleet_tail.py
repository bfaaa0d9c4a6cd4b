"""The residual tail of a metric across a tenant's fleet: how rare a point's residual is.

Each detector judges a point's residual against the tail of that series' own residuals, fitted
to the last ~1 % of a few hundred points it remembers. That fit is loose: on the reference
fleet a CPU series' fitted tail put a residual of 6 scales at p ≈ 2·10⁻⁴, while across all
125 CPU series such residuals came 6·10⁻⁶ of the time, so a CPU spike of 7 scales scored
0.38 and was missed. A tenant runs many series of each metric, and a metric's residuals,
measured in each series' own scale, have much the same tail on every node: pooled, hundreds
of thousands of points pin that tail down where one series' few hundred cannot.

:class:`ResidualTally` counts, per metric group, how many residuals reached each level (up
and down separately). Up to the level that a share of the points reach (``share``, 0.1 %),
the tally is the answer; beyond it the tail falls exponentially with the mean excess the
counts above that level give (:class:`ResidualTail`). The fleet calibration
(:mod:`backend.detection.fleet_calibration`) hears the pooled tail only in a fleet, and only
where it makes a point rarer than the series' own tail says, never less rare.

The same tally, kept for :func:`pair_residuals`, gives the pooled *pair* tail: how often two
points in a row lie this far out on one side. A burst that decays at once is one large
point followed by a smaller one; a fault that holds, or a new cycle, keeps several points
out together, and across a tenant such pairs are counted by the hundred thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.detection.streaming.layout import N_STATS

__all__ = [
    "MAX_POINTS",
    "OPINIONS",
    "Z_LEVELS",
    "ResidualTail",
    "ResidualTally",
    "body_excess",
    "count_reaching",
    "pair_residuals",
    "pooled_log10p",
    "pooled_scores",
]

#: Residual levels (in scales) whose exceedances are counted: 1 to 1,000, 6 % apart
Z_LEVELS = np.geomspace(1.0, 1000.0, 121)
#: Beyond this many points a tally halves: old runs fade, the counts follow the fleet
MAX_POINTS = 1e8
_MIN_EXCEEDANCES = 20.0  # the empirical tail is read only where this many points reach it
#: Opinions on a point's residuals: the series' own tails, the pooled residual tail and
#: the pooled pair tail (the smallest of three p-values is only a third as rare)
OPINIONS = 3
# Bonferroni: the detector's statistics, times the opinions
_LOG10_TESTS = math.log10(N_STATS) + math.log10(OPINIONS)


def count_reaching(ordered: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """How many of the (sorted) values reach each level."""
    return ordered.size - np.searchsorted(ordered, levels, side="left")


def pair_residuals(z: np.ndarray, before: float = 0.0) -> np.ndarray:
    """Each residual's pair, as the detector's pair statistic reads it: the smaller of it
    and the residual before it when both lie on one side (signed; 0 otherwise).

    ``before`` is the residual before ``z[0]`` (0: none). A run of two points beyond the
    usual is far rarer than one point as large, on a spiky series above all: a burst that
    decays is one large point, a fault that holds is two or more.

    >>> pair_residuals(np.array([3.0, 5.0, -2.0, -4.0, 1.0]), before=4.0).tolist()
    [3.0, 3.0, 0.0, -2.0, 0.0]
    """
    z = np.asarray(z, dtype=np.float64)
    previous = np.concatenate(([float(before)], z[:-1])) if z.size else z
    same_side = z * previous > 0.0
    return np.where(same_side, np.sign(z) * np.minimum(np.abs(z), np.abs(previous)), 0.0)


def body_excess(counts: np.ndarray, points: float, top: int) -> float | None:
    """The mean excess of a tail's body where it thins out, else None.

    Over the last decade before the edge (``top``: counts there fall from ten times the
    edge's count to it) the tail falls as an exponential of some mean excess, and over the
    decade before that of another. Where the last is no wider than the one before, the body
    is thinning, as Gaussian-like noise does (CPU, latency, throughput), and the body's last
    decade is the widest the tail beyond may be fairly given. The integral above the edge
    would say more: there the counts hold the fleet's few largest residuals, which on such
    a metric are mostly its faults (on a simulated fleet the CPU tail's mean excess read
    0.70 scales from them, its last decade 0.47; normal CPU residuals of 7 scales came fewer
    than once in 460,000 points), so the faults would price themselves as usual. Where the
    body widens (bursty disk I/O, network, error rates), heavy tails are the metric's own
    and the integral stands.

    >>> levels = Z_LEVELS
    >>> thin = 1e6 * 10.0 ** -(levels**2 / 8.0)  # Gaussian-like: each decade narrower
    >>> top = int(np.flatnonzero(thin >= 1e3)[-1])
    >>> round(body_excess(thin, 1e6, top), 2)
    0.41
    >>> wide = 1e6 * 10.0 ** -np.sqrt(levels)  # heavier than exponential
    >>> body_excess(wide, 1e6, int(np.flatnonzero(wide >= 1e3)[-1])) is None
    True
    """
    log_rates = np.log10(np.maximum(counts, 1e-300) / points)
    edge = float(log_rates[top])

    def level_at(log_rate: float) -> float:
        return float(np.interp(-log_rate, -log_rates, Z_LEVELS))

    z_edge, z_decade, z_two = level_at(edge), level_at(edge + 1.0), level_at(edge + 2.0)
    if z_two <= Z_LEVELS[0]:  # the body starts below the counted levels: not measured
        return None
    last, before = (z_edge - z_decade) / math.log(10.0), (z_decade - z_two) / math.log(10.0)
    return last if 0.0 < last <= before else None


def _zeros() -> np.ndarray:
    return np.zeros(Z_LEVELS.size)


@dataclass
class ResidualTally:
    """Points counted, how many residuals reached each level up and down, and the most
    series of the group seen together (a fleet, or a single series)."""

    points: float = 0.0
    up: np.ndarray = field(default_factory=_zeros)
    down: np.ndarray = field(default_factory=_zeros)
    series: int = 0

    def add(self, z: np.ndarray, series: int = 1) -> None:
        """Count residuals ``z`` (in scales) of ``series`` series seen together."""
        z = np.sort(np.asarray(z, dtype=np.float64))
        self.points += float(z.size)
        self.up += count_reaching(z, Z_LEVELS)
        self.down += np.searchsorted(z, -Z_LEVELS, side="right")
        self.series = max(self.series, int(series))
        if self.points > MAX_POINTS:
            self.points *= 0.5
            self.up *= 0.5
            self.down *= 0.5

    def to_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "series": self.series,
            "up": self.up.tolist(),
            "down": self.down.tolist(),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ResidualTally:
        up = np.asarray(body["up"], dtype=np.float64)
        down = np.asarray(body["down"], dtype=np.float64)
        if up.shape != Z_LEVELS.shape or down.shape != Z_LEVELS.shape:
            raise ValueError("residual levels differ")
        return cls(float(body["points"]), up, down, int(body["series"]))


@dataclass(frozen=True)
class _Side:
    """One side of a pooled tail: log10 exceedance rates up to ``edge``, exponential beyond."""

    levels: np.ndarray
    log_rates: np.ndarray
    edge: float
    excess: float

    @classmethod
    def of(cls, counts: np.ndarray, points: float, share: float) -> _Side | None:
        """The counts where they are many; beyond the highest level that ``share`` of the
        points (and at least a few) reach, an exponential tail with the mean excess the
        counts above that level give, or, where the tail's body thins out, the body's own
        (see :func:`body_excess`; None: no level is reached that often)."""
        enough = max(share * points, _MIN_EXCEEDANCES)
        reliable = np.flatnonzero(counts >= enough)
        if reliable.size == 0:
            return None
        top = int(reliable[-1])
        # ∫ of the exceedance count above the edge (trapezoids), over the count at the edge
        above = counts[top:]
        area = float(np.sum(0.5 * (above[:-1] + above[1:]) * np.diff(Z_LEVELS[top:])))
        excess = area / counts[top]
        body = body_excess(counts, points, top)
        if body is not None:
            excess = min(excess, body)
        log_rates = np.log10(counts[: top + 1] / points)
        return cls(Z_LEVELS[: top + 1], log_rates, float(Z_LEVELS[top]), max(excess, 1e-3))

    def log10p(self, z: np.ndarray) -> np.ndarray:
        """log10 P(residual ≥ z) for residuals ``z`` ≥ 0 on this side."""
        inside = np.interp(z, self.levels, self.log_rates, left=0.0)
        beyond = self.log_rates[-1] - (z - self.edge) / self.excess / math.log(10.0)
        return np.minimum(np.where(z > self.edge, beyond, inside), 0.0)


@dataclass(frozen=True)
class ResidualTail:
    """A group's pooled residual tail, read once from its tally and used for many points."""

    up: _Side | None
    down: _Side | None

    @classmethod
    def of(cls, tally: ResidualTally, share: float) -> ResidualTail:
        if tally.points <= 0.0:
            return cls(None, None)
        return cls(
            _Side.of(tally.up, tally.points, share), _Side.of(tally.down, tally.points, share)
        )

    def log10p(self, z: np.ndarray) -> np.ndarray:
        """log10 of how often the tenant's residuals of this metric reach each ``z``, on its
        own side (0 where the residual is 0 or that side holds too little)."""
        z = np.asarray(z, dtype=np.float64)
        out = np.zeros(z.shape)
        for side, sign in ((self.up, 1.0), (self.down, -1.0)):
            if side is None:
                continue
            on_side = sign * z > 0.0
            if on_side.any():
                out[on_side] = side.log10p(sign * z[on_side])
        return out

    def scores(self, z: np.ndarray, log_scale: float) -> np.ndarray:
        """The score each residual gets from the pooled tail, on the detector's scale
        (Bonferroni-corrected for its statistics and for the :data:`OPINIONS`)."""
        return np.clip((-self.log10p(z) - _LOG10_TESTS) / log_scale, 0.0, 1.0)


def pooled_log10p(tally: ResidualTally, z: np.ndarray, share: float) -> np.ndarray:
    """log10 of how often the tenant's residuals of this metric reach each ``z``."""
    return ResidualTail.of(tally, share).log10p(z)


def pooled_scores(
    tally: ResidualTally, z: np.ndarray, share: float, log_scale: float
) -> np.ndarray:
    """The score each residual gets from the pooled tail, on the detector's scale."""
    return ResidualTail.of(tally, share).scores(z, log_scale)
