"""Per-series calibration: a surprise statistic's value → its tail probability.

Each statistic keeps a histogram of its own past values (log-compressed, fixed bins, old
counts fading because new ones weigh more). Every few points a tail is fitted to it:

- *fitted* mode (``tail_mass`` > 0): above the histogram's ``1 − tail_mass`` quantile an
  exponential tail on the linear scale, with the mean excess of the remembered tail as its
  scale;
- *record* mode (``tail_mass`` = 0): the largest value still remembered has probability
  ≈ 1/(points remembered), and beyond it the probability falls by e per ``min_excess``.

Below the fitted quantile log p is interpolated linearly (those points cannot alarm). So a
statistic routinely large on one series (bursty traffic) is unremarkable there, while the
same value on a quiet series is extremely unlikely: one threshold, similar false-alarm rates.
The fit is cached in the state (:data:`layout.I_FIT`), so scoring a point costs O(1).
"""

from __future__ import annotations

import math

import numpy as np

from backend.detection.streaming import layout as ly
from backend.detection.streaming._jit import njit, njit_entry

__all__ = [
    "count", "fit_shapes", "invert", "invert_cap", "learn_shapes", "log10_tail", "novelty_cap",
    "record_edge", "refit", "reset", "shape_of",
]  # fmt: skip

_LN10 = math.log(10.0)
S_MAX = ly.CAL_BINS * ly.CAL_BIN_WIDTH - 1e-9  # statistics saturate in the last bin
_RESCALE = 1e100
_LOWER = np.expm1(np.arange(ly.CAL_BINS) * ly.CAL_BIN_WIDTH)  # linear lower bin edges
_WIDTHS = np.expm1((np.arange(ly.CAL_BINS) + 1) * ly.CAL_BIN_WIDTH) - _LOWER
_EXACT_BELOW = -1.0  # below this rough log10 p, read the body exactly from the histogram
_FORGOTTEN = 0.05  # a bin worth less than this share of a fresh count is forgotten
_SHAPE_MIN_EXCESSES = 30.0  # excesses needed before a learnt shape is used
_SHAPE_TINY = 1e-6  # shapes nearer 0 than this are the exponential tail
_LOG10_TINY = -300.0


@njit
def reset(st: np.ndarray) -> None:
    """Empty calibrators, ready for counting."""
    st[ly.I_CAL_WEIGHT] = 1.0
    st[ly.I_CAL_TOTAL] = 0.0
    for j in range(ly.N_STATS):
        fit = ly.I_FIT + ly.FIT_WIDTH * j
        st[fit] = 0.0
        st[fit + 1] = 0.0
        st[fit + 2] = 1.0
        st[fit + 3] = 0.0
    st[ly.I_REC_LP] = 0.0
    for i in range(ly.I_TAIL_MOMENTS, ly.I_SHAPE + len(ly.SHAPE_STATS)):  # tail shapes
        st[i] = 0.0


@njit
def _fit_tail(
    st: np.ndarray, base: int, tail_mass: float, w: float, norm: float
) -> tuple[float, float, float]:
    """(quantile edge, log10 p there, mean excess on the linear scale; −1 if no tail)."""
    target = tail_mass * norm
    tail = 0.0
    lower = 0.0  # the tail's counts times their bins' lower edges
    top = -1  # the highest bin holding counts
    b = ly.CAL_BINS - 1
    while b > 0:
        c = st[base + b]
        if tail + c >= target:
            break
        if c > 0.0:
            tail += c
            lower += c * _LOWER[b]
            if top < 0:
                top = b
        b -= 1
    q = (b + 1) * ly.CAL_BIN_WIDTH
    excess = -1.0
    if tail > 0.0:
        edge = math.expm1(q)
        inside = _inside_bins(st, base, b + 1, top, tail, w)
        excess = (lower + inside) / tail - edge
    return q, math.log10((tail + w) / norm), excess


@njit
def _inside_bins(st: np.ndarray, base: int, first: int, top: int, tail: float, w: float) -> float:
    """The tail's counts times how far above their bins' lower edges they lie on average.

    The bins are 35 % wide, so where in its bin a point lies matters: a light tail sits near
    the bottom of each bin, a heavy one spreads through it. How fast the counts fall from the
    first tail bin to the rest gives the tail's local scale, which places the points inside
    their bins; bin centres alone would make a normal tail look twice as heavy as it is.
    With nothing past the first tail bin, one more point (weight ``w``) is assumed there.
    """
    beyond = max(tail - st[base + first], w)  # the tail mass past the first tail bin
    local = _WIDTHS[first] / math.log(max(tail / beyond, 1.0 + 1e-9))
    total = 0.0
    for m in range(first, top + 1):
        c = st[base + m]
        if c > 0.0:
            total += c * _mean_in_bin(local, _WIDTHS[m])
    return total


@njit
def _mean_in_bin(scale: float, width: float) -> float:
    """Mean offset from a bin's lower edge of an exponential tail of ``scale`` cut to it."""
    if scale <= 0.0:
        return 0.0
    ratio = width / scale
    if ratio > 30.0:  # the cut-off part weighs < 1e-12 of it
        return scale
    if ratio < 1e-6:
        return 0.5 * width
    return scale - width / math.expm1(ratio)


@njit
def _fit_record(
    st: np.ndarray, base: int, min_excess: float, w: float, norm: float
) -> tuple[float, float, float]:
    """(edge of the largest remembered bin, log10 p there, fall-off scale)."""
    floor = _FORGOTTEN * w
    b = ly.CAL_BINS - 1
    while b >= 0 and st[base + b] <= floor:
        b -= 1
    return (b + 1) * ly.CAL_BIN_WIDTH, math.log10(w / norm), min_excess


@njit_entry
def refit(st: np.ndarray, tail_mass: float, min_excess: float, record_mask: int) -> None:
    """Refit every statistic's tail from its histogram and cache it in the state."""
    w = st[ly.I_CAL_WEIGHT]
    norm = st[ly.I_CAL_TOTAL] + w
    for j in range(ly.N_STATS):
        base = ly.I_CAL + j * ly.CAL_BINS
        if (record_mask >> j) & 1 == 0:
            q, lp, me = _fit_tail(st, base, tail_mass, w, norm)
            excess = max(me, min_excess)
        else:
            q, lp, excess = _fit_record(st, base, min_excess, w, norm)
        fit = ly.I_FIT + ly.FIT_WIDTH * j
        st[fit] = q
        st[fit + 1] = lp
        st[fit + 2] = excess
        # a record whose bin has been forgotten falls back to the highest remembered bin
        st[fit + 3] = min(st[fit + 3], _fit_record(st, base, min_excess, w, norm)[0])
    st[ly.I_REC_LP] = math.log10(w / norm)


@njit
def _clamped(s: float) -> float:
    """``s`` inside [0, S_MAX], NaN as 0: a statistic that overflowed to inf or NaN (values
    near the float limit) must still land in a bin, since compiled code has no bounds checks
    and ``int(inf)`` is the most negative integer."""
    return min(s, S_MAX) if s > 0.0 else 0.0


@njit
def _body(st: np.ndarray, j: int, s: float, q: float) -> float:
    """Exact log10 tail from the histogram for ``s`` below the fitted edge ``q``."""
    base = ly.I_CAL + j * ly.CAL_BINS
    w = st[ly.I_CAL_WEIGHT]
    pos = s / ly.CAL_BIN_WIDTH
    i = int(pos)
    top = int(_clamped(q) / ly.CAL_BIN_WIDTH + 0.5) - 1
    tail = st[base + i] * (1.0 - (pos - i))
    for m in range(i + 1, top + 1):
        tail += st[base + m]
    if top < ly.CAL_BINS - 1:  # what lies above the edge is the fitted tail's mass
        for m in range(top + 1, ly.CAL_BINS):
            tail += st[base + m]
    return math.log10(min((tail + w) / (st[ly.I_CAL_TOTAL] + w), 1.0))


@njit
def shape_of(st: np.ndarray, j: int) -> float:
    """The learnt tail shape of statistic ``j`` (0, the exponential tail, if not learnt)."""
    if j == ly.S_POINT_UP:
        return st[ly.I_SHAPE]
    if j == ly.S_POINT_DOWN:
        return st[ly.I_SHAPE + 1]
    if j == ly.S_PAIR:
        return st[ly.I_SHAPE + 2]
    return 0.0


@njit
def learn_shapes(
    st: np.ndarray, stats: np.ndarray, rate: float, edge: float, log_edge: float
) -> None:
    """Learn the tail moments of the point and pair statistics from their exact values
    above ``edge`` (linear units; ``log_edge`` = log1p of it, as the statistics are stored):
    the mean and mean square of ``log(x / edge)`` over the excesses, averaged at ``rate``
    per excess. Exact values, not the histogram: its bins are 35 % wide and hide the shape
    (a bin-based estimate came out near +0.2 on Gaussian noise). :func:`fit_shapes` turns
    them into shapes.
    """
    for k in range(len(ly.SHAPE_STATS)):
        s = stats[ly.SHAPE_STATS[k]]
        if s <= log_edge:  # most points: no excess (and no expm1)
            continue
        y = math.log(math.expm1(s) / edge)  # log excess over the edge
        m = ly.I_TAIL_MOMENTS + 3 * k
        st[m] += 1.0
        a = max(rate, 1.0 / st[m])
        st[m + 1] += a * (y - st[m + 1])
        st[m + 2] += a * (y * y - st[m + 2])


@njit
def fit_shapes(st: np.ndarray, low: float, high: float) -> None:
    """The tail shapes from the learnt moments, kept in [``low``, ``high``].

    The moment estimator of Dekkers, Einmahl and de Haan: with ``M1``, ``M2`` the mean and
    mean square of the log excesses, ``ξ = M1 + 1 − ½ / (1 − M1² / M2)``; it holds for
    light (ξ < 0) and heavy (ξ > 0) tails alike. Shapes change only here, with the refit of
    the tails, so the band cached from a fit always matches the scores it describes.
    """
    for k in range(len(ly.SHAPE_STATS)):
        m = ly.I_TAIL_MOMENTS + 3 * k
        m1 = st[m + 1]
        if st[m] >= _SHAPE_MIN_EXCESSES and st[m + 2] > m1 * m1:
            xi = m1 + 1.0 - 0.5 / (1.0 - m1 * m1 / st[m + 2])
            st[ly.I_SHAPE + k] = min(max(xi, low), high)


@njit
def log10_tail(st: np.ndarray, j: int, s: float, record: bool) -> float:
    """log10 P(statistic ``j`` ≥ ``s``) under this series' own history (cached fit)."""
    fit = ly.I_FIT + ly.FIT_WIDTH * j
    q = st[fit]
    lp = st[fit + 1]
    excess = st[fit + 2]
    s = _clamped(s)
    if s < q:  # the body: exact only where a record-mode score could matter
        rough = lp * s / q
        return _body(st, j, s, q) if record and rough < _EXACT_BELOW else rough
    if record:
        return lp - (s - q) / excess / _LN10
    y = math.expm1(s) - math.expm1(q)
    xi = shape_of(st, j)
    if abs(xi) < _SHAPE_TINY:
        return lp - y / excess / _LN10
    arg = 1.0 + xi * y / (excess * (1.0 - xi))  # GPD with the fitted mean excess at the edge
    if arg <= 0.0:  # beyond the end of a bounded tail
        return _LOG10_TINY
    return max(lp - math.log10(arg) / xi, _LOG10_TINY)


@njit
def novelty_cap(st: np.ndarray, s: float, excess: float, edge: float) -> float:
    """log10 p that a statistic at ``s`` is a new record for this series.

    Within the remembered range (up to the record ``edge``) it is the probability of a
    record (1 / points remembered); beyond it, it falls by e per ``excess``. An alarm needs
    both this and the fitted tail to be small: a burst the series has already shown is not
    news.
    """
    s = _clamped(s)
    if s <= edge:
        return st[ly.I_REC_LP]
    return st[ly.I_REC_LP] - (s - edge) / excess / _LN10


@njit
def record_edge(st: np.ndarray, j: int) -> float:
    """Statistic ``j``'s record edge: the largest value still remembered (log-compressed)."""
    return st[ly.I_FIT + ly.FIT_WIDTH * j + 3]


@njit
def invert_cap(st: np.ndarray, target: float, excess: float, edge: float) -> float:
    """The linear statistic value at which :func:`novelty_cap` reaches ``target`` from the
    record ``edge``."""
    beyond = max(st[ly.I_REC_LP] - target, 0.0) * _LN10 * excess
    return math.expm1(min(edge + beyond, S_MAX))


@njit
def invert(st: np.ndarray, j: int, target: float, record: bool) -> float:
    """The linear statistic value (e.g. |z|) whose log10 tail probability is ``target``."""
    fit = ly.I_FIT + ly.FIT_WIDTH * j
    q = st[fit]
    lp = st[fit + 1]
    excess = st[fit + 2]
    if target >= lp:
        return math.expm1(q * target / lp) if lp < 0.0 else 0.0
    if record:
        return math.expm1(min(q + (lp - target) * _LN10 * excess, S_MAX))
    xi = shape_of(st, j)
    if abs(xi) < _SHAPE_TINY:
        return math.expm1(q) + (lp - target) * _LN10 * excess
    sigma = excess * (1.0 - xi)
    return math.expm1(q) + sigma / xi * math.expm1(xi * (lp - target) * _LN10)


@njit
def count(st: np.ndarray, stats: np.ndarray, a: float, record_mask: int, share: float) -> None:
    """Count every statistic into its histogram; later counts weigh more (old ones fade).

    ``share`` (≤ 1) is how much of a full count this point gets: an anomalous point is
    counted less, so one outlier cannot at once make outliers look usual.
    In record mode a new record moves the cached edge at once (refits are periodic). The
    record edge the novelty gate starts from moves at once too: for the point statistics
    to the exact new value, for the others to the upper edge of its bin.
    """
    w0 = st[ly.I_CAL_WEIGHT]
    w = w0 * share
    for j in range(ly.N_STATS):
        stat = _clamped(stats[j])
        b = int(stat / ly.CAL_BIN_WIDTH)  # at most CAL_BINS - 1, as stat < S_MAX
        st[ly.I_CAL + j * ly.CAL_BINS + b] += w
        fit = ly.I_FIT + ly.FIT_WIDTH * j
        edge = (b + 1) * ly.CAL_BIN_WIDTH
        # the point statistics' record edge is their exact largest value: a bin is 35 %
        # wide and put their gate up to 35 % past the record at random (elsewhere the bin
        # edge stays: exact edges on every statistic cost NAB 6 points, docs/detection.md)
        exact = j == ly.S_POINT_UP or j == ly.S_POINT_DOWN
        record = stat if exact else edge
        if record > st[fit + 3]:
            st[fit + 3] = record
        if (record_mask >> j) & 1 and edge > st[fit]:
            st[fit] = edge
    st[ly.I_CAL_TOTAL] += w
    w = w0 / (1.0 - a)
    if w > _RESCALE:
        for i in range(ly.I_CAL, ly.I_CAL + ly.N_STATS * ly.CAL_BINS):
            st[i] /= _RESCALE
        st[ly.I_CAL_TOTAL] /= _RESCALE
        w /= _RESCALE
    st[ly.I_CAL_WEIGHT] = w
