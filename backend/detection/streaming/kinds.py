"""A small fallback that names the kind of an alarm window from the detector's own output.

The platform's :class:`~backend.analytics.explain.ExplanationClassifier` reads the series
itself and is preferred; this heuristic is used when that classifier is unavailable or finds
nothing, so results always carry a kind, and where the classifier names a slow statistic's
alarm a spike or dip (:data:`SLOW_KINDS`: what such a statistic hears cannot be one).
"""

from __future__ import annotations

import numpy as np

from backend.analytics.types import AnomalyKind
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries

__all__ = ["SLOW_KINDS", "guess_kind", "returning_excursion"]

_GAP_STEPS = 5.0
_GAP = STATISTIC_NAMES.index("gap")
_SHIFT_SCALES = 3.0  # the level after the run differs from before by this many scales
_SHIFT_STATS = {STATISTIC_NAMES.index("mean_up"), STATISTIC_NAMES.index("mean_down")}
#: The slow statistics average hours to a day of the series, so what they hear is a change
#: of level or pattern, never a spike or dip; each names the kind it measures.
SLOW_KINDS: dict[int, AnomalyKind] = {
    STATISTIC_NAMES.index("slow_shift"): AnomalyKind.DRIFT,  # the day level left its range
    STATISTIC_NAMES.index("slow_volatility"): AnomalyKind.SEASONAL,  # the pattern changed
    STATISTIC_NAMES.index("slow_swing"): AnomalyKind.SEASONAL,  # a new cycle of hours
}


def guess_kind(scored: ScoredSeries, start: int, end: int) -> AnomalyKind:
    """Kind of the alarm run ``start..end`` (inclusive indices into ``scored``).

    >>> import numpy as np
    >>> from backend.detection.streaming.detector import StreamingDetector
    >>> ts = np.arange(300, dtype=np.int64) * 60 * 10**9
    >>> noise = np.random.default_rng(0).normal(0, 0.3, 300)
    >>> x = np.r_[np.zeros(200), np.full(100, 5.0)] + noise
    >>> guess_kind(StreamingDetector().score(ts, x), 200, 203).value
    'level_shift'
    """
    if int(scored.statistic[start]) == _GAP:  # judged one point after the gap (kernel)
        return AnomalyKind.MISSING_DATA
    steps = np.diff(scored.timestamps_ns)
    if steps.size and start > 0:
        typical = float(np.median(steps))
        if steps[start - 1] > _GAP_STEPS * typical:
            return AnomalyKind.MISSING_DATA
    peak = start + int(np.argmax(scored.scores[start : end + 1]))
    slow = SLOW_KINDS.get(int(scored.statistic[peak]))
    if slow is not None:
        return slow
    sign = 1.0 if scored.z[peak] >= 0 else -1.0
    before = float(scored.expected[start])
    scale = abs(float(scored.modelled[peak] - scored.expected[peak])) / max(
        abs(float(scored.z[peak])), 1e-12
    )
    tail = scored.modelled[end + 1 : end + 1 + max(10, end - start + 1)]
    if tail.size >= 5 and abs(float(np.median(tail)) - before) > _SHIFT_SCALES * scale:
        if int(scored.statistic[peak]) in _SHIFT_STATS and abs(scored.z[peak]) < 3.0:
            return AnomalyKind.DRIFT
        return AnomalyKind.LEVEL_SHIFT
    return AnomalyKind.SPIKE if sign > 0 else AnomalyKind.DIP


_POINT_STATS = {STATISTIC_NAMES.index(n) for n in ("point_up", "point_down", "pair")}
_EXCURSION_POINTS = 12  # the longest dip or spike a jump back can end


def returning_excursion(scored: ScoredSeries, start: int, end: int) -> int | None:
    """Where the short excursion starts that the alarm's jump ends, if it is a jump back.

    On a series the random walk forecasts (memory's sawtooth, a queue) a dip's first step
    down can look like the routine releases, while the jump back up is what alarms; that
    alarm is the end of a dip (of a spike, for a jump down), not a shift. The points before
    the jump must lie on the other side, more than half the jump away from where it lands,
    and the point before them back near it, within ``_EXCURSION_POINTS``.
    """
    peak = start + int(np.argmax(scored.scores[start : end + 1]))
    if int(scored.statistic[peak]) not in _POINT_STATS or peak < 2:
        return None
    v = scored.modelled
    jump = float(v[peak] - v[peak - 1])
    half = 0.5 * abs(jump)
    sign = 1.0 if jump > 0 else -1.0
    k = peak - 1
    floor = max(peak - 1 - _EXCURSION_POINTS, 0)
    while k > floor and sign * (float(v[peak]) - float(v[k])) > half:
        k -= 1
    if k == peak - 1 or sign * (float(v[peak]) - float(v[k])) > half:
        return None
    return k + 1 if abs(float(v[k]) - float(v[peak])) <= half else None
