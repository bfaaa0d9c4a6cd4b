"""What an alarm says when only the detector saw it.

The platform's explanation classifier reads the raw values around an alarm against a
seasonal baseline in the series' own units. On noise that grows with the level (network
traffic, disk operations) a fall to a tenth of the usual value can sit within its linear
spread, so it may find nothing unusual where the detector, which models such series on a
logarithmic scale, alarmed. The alarm then must not read "looks normal": it says what the
detector saw, with the detector's own numbers. The same holds where the classifier names a
slow statistic's alarm a spike: the drift is told in daily means (:func:`describe_day_level`),
a change of volatility against the usual (:func:`describe_variation`) and a new cycle by how
far the series now strays from its daily mean (:func:`describe_swing`).

>>> describe_alarm("network_in", "node-2", "point_down", 189_827.4, 1.1e6, 0.6e6, 1.9e6, 0.0,
...                "bytes/s")
'network_in on node-2 fell to 189.8 k bytes/s where about 1.1 M bytes/s was expected \
(values below 600.0 k bytes/s are unusual here)'
"""

from __future__ import annotations

import math

import numpy as np

from backend.analytics.explain_templates import format_duration, format_value

__all__ = [
    "EARLIER_DAYS",
    "daily_means",
    "describe_alarm",
    "describe_day_level",
    "describe_excursion",
    "describe_swing",
    "describe_variation",
    "distance_from_day_mean",
    "recent_variation",
]

_SANE_BAND = 10.0  # a band reaching beyond this many times the values shown is not shown
EARLIER_DAYS = 7  # the day-level text compares with at most this many days before


def describe_alarm(
    metric: str,
    node: str,
    statistic: str,
    observed: float,
    expected: float,
    lower: float,
    upper: float,
    seconds: float,
    unit: str | None = None,
) -> str:
    """One sentence for an alarm from the detector's forecast, band and statistic.

    >>> describe_alarm("latency", "node-9", "slow_shift", 142.3, 117.2, 90.0, 150.0, 3600.0,
    ...                "ms")
    'latency on node-9 has moved to 142.3 ms, a daily level it has not shown before \
(expected about 117.2 ms), for 1 h'
    """
    shown, usual = format_value(observed, unit), format_value(expected, unit)
    lasting = f", for {format_duration(seconds)}" if seconds > 0 else ""
    if statistic == "slow_shift":
        return (
            f"{metric} on {node} has moved to {shown}, a daily level it has not shown before "
            f"(expected about {usual}){lasting}"
        )
    if statistic == "slow_swing":  # the forecast's numbers say nothing of a swing
        return describe_swing(metric, node, math.nan, math.nan, 0.0, unit)
    if statistic in ("volatility", "slow_volatility"):
        return (
            f"{metric} on {node} varies far more than usual: {shown} where about {usual} "
            f"was expected{lasting}"
        )
    if statistic == "gap":
        return f"{metric} on {node} sent no data for longer than usual before {shown}"
    rose = observed >= expected
    moved, beyond = ("rose", "above") if rose else ("fell", "below")
    text = f"{metric} on {node} {moved} to {shown} where about {usual} was expected"
    # the band's edge on the side the value moved: the other one (a memory's band reaching
    # 180.9 %, a dip's upper edge ten times the usual) is no help to the reader
    edge = upper if rose else lower
    if math.isfinite(edge) and abs(edge) <= _SANE_BAND * max(abs(observed), abs(expected)):
        text += f" (values {beyond} {format_value(edge, unit)} are unusual here)"
    return text + lasting


def daily_means(
    t_ns: np.ndarray, values: np.ndarray, end_ns: int, day_ns: int, days: int = EARLIER_DAYS
) -> tuple[float, list[float]]:
    """Mean of the day ending at ``end_ns`` and of up to ``days`` whole days before it
    (newest first; days without data are left out, as is a partial first day).

    >>> t = np.arange(0, 4 * 24) * 3_600 * 10**9  # hourly, 4 days
    >>> v = np.repeat([1.0, 2.0, 3.0, 5.0], 24)
    >>> daily_means(t, v, int(t[-1]), 24 * 3_600 * 10**9)
    (5.0, [3.0, 2.0])
    """

    def mean_between(lo: int, hi: int) -> float:
        a, b = np.searchsorted(t_ns, lo, "right"), np.searchsorted(t_ns, hi, "right")
        return float(np.mean(values[a:b])) if b > a else math.nan

    last = mean_between(end_ns - day_ns, end_ns)
    earlier = []
    for k in range(1, days + 1):
        if end_ns - (k + 1) * day_ns < int(t_ns[0]):  # that day is not fully covered
            break
        mean = mean_between(end_ns - (k + 1) * day_ns, end_ns - k * day_ns)
        if math.isfinite(mean):
            earlier.append(mean)
    return last, earlier


def describe_day_level(
    metric: str, node: str, last_day: float, earlier_days: list[float], unit: str | None = None
) -> str:
    """A drift heard by the day-level statistic, in daily means of the series' own values.

    The detector's day level is a mean of its (compressed, deseasonalised) level, so the
    forecast at the alarm's point, which has followed the drift, says nothing; the daily
    means show the change.

    >>> describe_day_level("latency", "node-9", 142.3, [131.0, 120.5, 117.2], "ms")
    'latency on node-9 has drifted up: its mean over the last day, 142.3 ms, is beyond \
those of the 3 days before (117.2 – 131.0 ms)'
    >>> describe_day_level("latency", "node-9", 142.3, [], "ms")
    'latency on node-9 has moved to a daily level it has not shown before: its mean over \
the last day is 142.3 ms'
    """
    shown = format_value(last_day, unit)
    if earlier_days:
        low, high = min(earlier_days), max(earlier_days)
        if last_day > high or last_day < low:
            way = "up" if last_day > high else "down"
            days = "the day" if len(earlier_days) == 1 else f"those of the {len(earlier_days)} days"
            return (
                f"{metric} on {node} has drifted {way}: its mean over the last day, {shown}, "
                f"is beyond {days} before ({format_value(low)} – {format_value(high, unit)})"
            )
    return (
        f"{metric} on {node} has moved to a daily level it has not shown before: its mean "
        f"over the last day is {shown}"
    )


def recent_variation(
    deviations: np.ndarray, peak: int, recent_points: int, earlier_points: int
) -> tuple[float, float]:
    """Mean |deviation from the forecast| over the ``recent_points`` up to ``peak``, and the
    median of such means over the ``earlier_points`` before them (NaN without history).

    >>> d = np.r_[np.ones(100), np.full(10, 5.0)]
    >>> recent_variation(d, 109, 10, 100)
    (5.0, 1.0)
    """
    deviations = np.abs(np.asarray(deviations, dtype=np.float64))
    lo = max(peak + 1 - recent_points, 0)
    recent = float(np.mean(deviations[lo : peak + 1]))
    earlier = deviations[max(lo - earlier_points, 0) : lo]
    if earlier.size < recent_points:
        return recent, math.nan
    usable = earlier.size - earlier.size % recent_points
    chunks = earlier[earlier.size - usable :].reshape(-1, recent_points).mean(axis=1)
    return recent, float(np.median(chunks))


def describe_variation(metric: str, node: str, recent: float, usual: float, seconds: float) -> str:
    """A change of pattern heard by the hours-long statistics: how far the values stray from
    the forecast now against how far they usually do, both in the detector's residual scales
    (on a compressed series the raw units would weigh the busy hours only).

    >>> describe_variation("network_in", "node-4", 4.2, 1.1, 7_200.0)
    'network_in on node-4 varies far more than usual: over the last 2 h its values strayed \
3.8 times as far from the expected as they usually do'
    >>> describe_variation("network_in", "node-4", 1.03, 1.0, 7_200.0)
    'network_in on node-4 varies far more than usual'
    """
    text = f"{metric} on {node} varies far more than usual"
    ratio = recent / usual if math.isfinite(usual) and usual > 0 else math.nan
    if round(ratio, 1) > 1.0:  # a ratio that reads 1.0 would contradict "far more"
        text += (
            f": over the last {format_duration(seconds)} its values strayed "
            f"{ratio:.1f} times as far from the expected as they usually do"
        )
    return text


def distance_from_day_mean(t_ns: np.ndarray, values: np.ndarray, day_ns: int) -> np.ndarray:
    """Each value less the mean of the values over the day up to it (the trailing mean of
    the points in (t − day, t]): how far the series strays from its daily mean.

    >>> hour = 3_600 * 10**9
    >>> v = np.array([1.0, 3.0, 1.0, 3.0, 5.0, 5.0])
    >>> distance_from_day_mean(np.arange(6) * hour, v, 2 * hour).tolist()  # a "day" of 2 h
    [0.0, 1.0, -1.0, 1.0, 1.0, 0.0]
    """
    t_ns = np.asarray(t_ns, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    sums = np.r_[0.0, np.cumsum(values)]
    first = np.searchsorted(t_ns, t_ns - day_ns, "right")
    upto = np.arange(1, values.shape[0] + 1)
    return values - (sums[upto] - sums[first]) / (upto - first)


def describe_swing(
    metric: str, node: str, recent: float, usual: float, seconds: float, unit: str | None = None
) -> str:
    """A new cycle of hours heard by the level-swing statistic: how far the expected value
    strayed from its daily mean over the last hours, against how far it usually does, in
    the series' own units (the value at the alarm's point, near its daily mean or not, says
    nothing of a swing).

    >>> describe_swing("memory_used", "node-6", 11.9, 4.62, 14_400.0, "%")
    'memory_used on node-6 has taken up a new cycle of hours: it swings further from its \
daily mean than it used to, by 11.9 % on average over the last 4 h: 2.6 times the usual 4.6 %'
    """
    text = (
        f"{metric} on {node} has taken up a new cycle of hours: it swings further from its "
        f"daily mean than it used to"
    )
    if math.isfinite(usual) and usual > 0 and recent > usual and seconds > 0:
        text += (
            f", by {format_value(recent, unit)} on average over the last "
            f"{format_duration(seconds)}: {recent / usual:.1f} times the usual "
            f"{format_value(usual, unit)}"
        )
    return text


def describe_excursion(
    metric: str,
    node: str,
    dip: bool,
    extreme: float,
    before: float,
    seconds: float,
    unit: str | None = None,
) -> str:
    """A short dip or spike that alarmed as it ended, when the series jumped back.

    >>> describe_excursion("memory_used", "node-45", True, 51.7, 60.9, 1_500.0, "%")
    'memory_used on node-45 dipped to 51.7 % from about 60.9 % for 25 min and came back'
    """
    moved = "dipped" if dip else "spiked"
    return (
        f"{metric} on {node} {moved} to {format_value(extreme, unit)} from about "
        f"{format_value(before, unit)} for {format_duration(seconds)} and came back"
    )
