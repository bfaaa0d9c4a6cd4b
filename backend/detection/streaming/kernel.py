"""The compiled per-point step of the streaming detector, and loops over history and banks.

``step`` reads one point, scores it against the state as it was *before* the point (so a
score never uses the future), then updates the state. Scoring stored history and updating a
bank of many series call the very same ``step``, which is why live, backfill and evaluation
scores agree exactly.

Per point: the value (a counter is differenced into a rate) is compared with the forecast
``level (moved on along its damped local trend) + daily profile + weekday offset``; eight
surprise statistics (residual up/down, short residual mean up/down, volatility, novelty of
the value, time gap, the smaller of two successive same-signed residuals) are turned into
tail probabilities by per-series calibrators; four slow statistics (the day level against
the range of day levels seen, hours-long means of |residual| and of the level's swing
against days-long references, and the run of one repeated value against the longest
earlier run) get a fixed exponential tail and are heard only when they alone would alarm;
the smallest p wins (Bonferroni-corrected) and
the score is ``−log10(p) / log_scale`` clipped to [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from backend.detection.streaming import calibration as cal
from backend.detection.streaming import layout as ly
from backend.detection.streaming import params as pa
from backend.detection.streaming._jit import njit, njit_entry
from backend.detection.streaming.seasonal import DAY_SECONDS, learn_profile, profile_at

__all__ = ["OUT_WIDTH", "bank_step", "score_history", "step"]

OUT_SCORE = 0
OUT_EXPECTED = 1
OUT_LOWER = 2
OUT_UPPER = 3
OUT_RAW = 4
OUT_Z = 5
OUT_VALUE = 6
OUT_STAT = 7
OUT_WIDTH = 8

_EARLY = 20.0  # points before robust clipping starts (the scale is still unknown)
_MAX_STEPS = 1000.0
_SLOPE_USUAL = 1.0  # scales per day: a slope at least this steep while the range forms is usual
_TREND_STEPS = 12.0  # a gap moves the level along its trend for at most this many steps
_COUNTER_RISES = 0.6  # share of probe steps that must rise (none may fall) for a counter
_REFIT_EVERY = 32  # points between refits of the calibrators' tails ...
_REFIT_ALWAYS = 256  # ... and before this many points, at every point
_LOG10_N_STATS = math.log10(ly.N_STATS)
_LN10 = math.log(10.0)
_WANDER_SPEED = 2.0
_WANDER_GROWTH = 2.0  # a change in progress can raise the usual wander only gradually
_SWING_EVERY = 4.0  # points between updates of the level-swing statistic
_VOL_FLOOR = 0.15  # smallest usual wander of log(slow / reference volatility)
_SLOW_CLIP = 8.0  # residual scales: one huge point must not look like a sustained change
_SINH_MAX = 700.0  # sinh overflows just above 710
_FINITE_MAX = 1e308
_NOVELTY_GAIN = 10.0  # novelty = log1p(gain × distance beyond the range / the range's width)
_RW_CLIP = 10.0  # forecast errors beyond this many times their RMS count as this many
_RMS_TO_MAD = math.sqrt(2.0 / math.pi)  # mean |x| / root mean square of Gaussian noise
_NEVER = 1e300
# The day level (an EW mean over level_days) has taken in 1 − e^−2 ≈ 86 % of a step after
# twice that: until then a day level leaving its range after an alarm is that change again
_ECHO_LEVEL_DAYS = 2.0
# Largest tail shape the novelty gate takes from the residuals: heavier, and a bursty
# series' band reached tens of value ranges beyond its values (tests/detection/test_band.py)
_NOVELTY_SHAPE_MAX = 0.15
_RECORD_CAP = 0.9  # an all-time record alone scores at most 0.9 × the alarm cut
_LN20 = math.log(20.0)
_NEAR_RECORD = math.exp(-ly.CAL_BIN_WIDTH)  # within a calibrator bin's width of a record
_Z_MAX = math.expm1(cal.S_MAX)  # statistics saturate in the calibrators' last bin
_EXP_SAFE = 300.0  # below this, e^±a and their products stay far from overflow
_EDGE_UP = ly.I_FIT + ly.FIT_WIDTH * ly.S_POINT_UP + 3  # record edges of the point statistics
_EDGE_DOWN = ly.I_FIT + ly.FIT_WIDTH * ly.S_POINT_DOWN + 3
_POINT_BITS = (1 << ly.S_POINT_UP) | (1 << ly.S_POINT_DOWN)


@njit
def _rate(alpha: float, k: float) -> float:
    if k == 1.0:
        return alpha
    return 1.0 - (1.0 - alpha) ** k


@njit
def _emit(out: np.ndarray, row: int, value: float) -> None:
    out[row, OUT_SCORE] = 0.0
    out[row, OUT_EXPECTED] = value
    out[row, OUT_LOWER] = value
    out[row, OUT_UPPER] = value
    out[row, OUT_RAW] = 0.0
    out[row, OUT_Z] = 0.0
    out[row, OUT_VALUE] = value
    out[row, OUT_STAT] = -1.0


@njit
def _advance_clock(st: np.ndarray, t: float) -> float:
    """Elapsed seconds since the last point; updates the robust typical-step estimate.

    A repeated (or earlier) stamp counts as one typical step, and shows that the gap before
    the previous point held no missing data: its points arrived, stamped together at its end.
    """
    dt = t - st[ly.I_T_LAST]
    typical = st[ly.I_STEP]
    if dt <= 0.0:
        dt = typical if typical > 0.0 else 1.0
        st[ly.I_GAP_PENDING] = 0.0
    if typical <= 0.0:
        typical = dt
    else:
        typical += 0.05 * (min(max(dt, 0.5 * typical), 2.0 * typical) - typical)
    st[ly.I_STEP] = typical
    st[ly.I_T_LAST] = t
    return dt


@njit
def _count_repeats(st: np.ndarray, pr: np.ndarray, x: float) -> None:
    """Extend the run of repeats of one exact value, or close it.

    A closed run joins the series' history: the longest run, and the share of points that
    repeat the previous one (folded in only when the run closes, so a run in progress
    cannot make itself usual). An alarmed stuck stretch joins it too, as an alarmed change
    does elsewhere: a flat spell that recurs every night alarms once, not every night.
    """
    run = st[ly.I_FLAT_RUN]
    if x == st[ly.I_X_LAST]:
        st[ly.I_FLAT_RUN] = run + 1.0
        return
    keep = 1.0 - max(pr[pa.P_ALPHA_REFERENCE], 1.0 / st[ly.I_SEEN])  # per point
    share = st[ly.I_FLAT_SHARE]
    if run > 0.0:
        st[ly.I_FLAT_LONGEST] = max(st[ly.I_FLAT_LONGEST], run)
        faded = keep**run
        share = share * faded + 1.0 - faded  # its repeats
    st[ly.I_FLAT_SHARE] = share * keep  # and this change
    st[ly.I_FLAT_RUN] = 0.0


@njit
def _probe(st: np.ndarray, pr: np.ndarray, x: float) -> None:
    """Count rises and falls of the first points, then decide gauge or counter."""
    st[ly.I_MAGNITUDE] += abs(x)
    st[ly.I_ENV_LOW] = min(st[ly.I_ENV_LOW], x)
    d = x - st[ly.I_X_LAST]
    if d > 0.0:
        st[ly.I_UPS] += 1.0
    elif d < 0.0:
        st[ly.I_DOWNS] += 1.0
    if st[ly.I_SEEN] + 1.0 >= pr[pa.P_PROBE]:
        forced = pr[pa.P_COUNTER]
        monotone = st[ly.I_DOWNS] == 0.0 and st[ly.I_UPS] >= _COUNTER_RISES * st[ly.I_SEEN]
        counter = forced == 1.0 or (forced < 0.0 and monotone)
        st[ly.I_MODE] = 2.0 if counter else 1.0
        typical = st[ly.I_MAGNITUDE] / max(st[ly.I_SEEN] - 1.0, 1.0)
        positive = st[ly.I_ENV_LOW] >= 0.0  # only non-negative gauges have multiplicative noise
        st[ly.I_UNIT] = pr[pa.P_COMPRESS] * typical if positive and not counter else 0.0


@njit
def _modelled(st: np.ndarray, linear: float) -> float:
    """A value in the series' own units (a counter's: its rate) on the modelled scale."""
    unit = st[ly.I_UNIT]
    return math.asinh(linear / unit) if unit > 0.0 else linear


@njit
def _transform(st: np.ndarray, x: float, dt: float) -> float:
    """Counters become per-second rates (a fall is a reset: the new value is the increase)."""
    if st[ly.I_MODE] != 2.0:
        return _modelled(st, x)
    d = x - st[ly.I_X_LAST]
    return d / dt if d >= 0.0 else x / dt


@njit
def _inverse(st: np.ndarray, v: float) -> float:
    """Back from the compressed (asinh) scale to the series' own units (never overflowing)."""
    unit = st[ly.I_UNIT]
    if unit <= 0.0:
        return v
    return _finite(math.sinh(min(max(v, -_SINH_MAX), _SINH_MAX)) * unit)


@njit
def _unit_sinh(a: float, grow: float, unit: float) -> float:
    """``unit`` × sinh(``a``) from ``grow`` = e^``a`` (near 0, where e^a − e^−a would
    cancel, from ``sinh`` itself)."""
    if abs(a) >= 1.0:
        return _finite((grow - 1.0 / grow) * 0.5 * unit)
    return math.sinh(a) * unit


@njit
def _emit_band(
    st: np.ndarray, out: np.ndarray, row: int, e: float, down: float, up: float, grow: float
) -> None:
    """Write forecast and band in the series' own units.

    A compressed gauge needs sinh of three nearby arguments; away from overflow they come
    from three ``exp`` (cheaper than ``sinh``): sinh(a) = (e^a − e^−a) / 2, except near 0,
    where that difference would cancel and ``sinh`` itself is used. ``grow`` is e^``e``
    where the caller has it already (0: not).
    """
    unit = st[ly.I_UNIT]
    if unit <= 0.0:
        out[row, OUT_EXPECTED] = e
        out[row, OUT_LOWER] = e - down
        out[row, OUT_UPPER] = e + up
        return
    if abs(e) + max(down, up) > _EXP_SAFE:
        out[row, OUT_EXPECTED] = _inverse(st, e)
        out[row, OUT_LOWER] = _inverse(st, e - down)
        out[row, OUT_UPPER] = _inverse(st, e + up)
        return
    if grow <= 0.0:
        grow = math.exp(e)
    out[row, OUT_EXPECTED] = _unit_sinh(e, grow, unit)
    out[row, OUT_LOWER] = _unit_sinh(e - down, grow / math.exp(down), unit)
    out[row, OUT_UPPER] = _unit_sinh(e + up, grow * math.exp(up), unit)


@njit
def _finite(value: float) -> float:
    """A huge unit times sinh may overflow: keep reported values finite."""
    return min(max(value, -_FINITE_MAX), _FINITE_MAX)


@njit
def _scale(st: np.ndarray, level: float) -> float:
    """Residual scale with a floor, so flat lines never divide by zero yet any change shows."""
    return max(st[ly.I_SCALE], 1e-9 * abs(level) + 1e-4 * st[ly.I_MAGNITUDE] + 1e-12)


@njit
def _statistics(
    st: np.ndarray, pr: np.ndarray, v: float, r: float, sce: float, k: float, stats: np.ndarray
) -> None:
    """The calibrated surprise statistics of this point (log-compressed, see ``layout.S_*``).

    The pair statistic is the smaller of this residual and the previous one when both lie on
    the same side: a short run beyond the usual (a spike of a few points, the first points of
    a shift) is far rarer than one point as large, so it can alarm where each point alone
    could not.
    """
    z = r / sce
    _signed(stats, ly.S_POINT_UP, ly.S_POINT_DOWN, z)
    am = _rate(pr[pa.P_ALPHA_MEAN], k)
    lim = 8.0 * sce  # one huge point must not look like a sustained shift
    st[ly.I_MEAN] += am * (min(max(r, -lim), lim) - st[ly.I_MEAN])
    norm = pr[pa.P_MEAN_NORM] if k == 1.0 else math.sqrt((2.0 - am) / am)
    zm = st[ly.I_MEAN] / sce * norm
    _signed(stats, ly.S_MEAN_UP, ly.S_MEAN_DOWN, zm)
    av = _rate(pr[pa.P_ALPHA_VOL], k)
    st[ly.I_VOL] += av * (min(abs(r), 50.0 * sce) - st[ly.I_VOL])
    stats[ly.S_VOLATILITY] = math.log1p(st[ly.I_VOL] / sce)
    high = st[ly.I_ENV_HIGH]
    low = st[ly.I_ENV_LOW]
    beyond = max(v - high, low - v)
    stats[ly.S_NOVELTY] = (
        math.log1p(_NOVELTY_GAIN * beyond / max(high - low, sce)) if beyond > 0 else 0.0
    )
    forgiven = 1.0 + pr[pa.P_GAP_GRACE]  # steps that still hold no news
    stats[ly.S_GAP] = st[ly.I_GAP_PENDING]  # the gap before the previous point, confirmed
    st[ly.I_GAP_PENDING] = math.log(k / forgiven) if k > forgiven else 0.0
    last = st[ly.I_Z_LAST]
    pair = min(abs(z), abs(last)) if z * last > 0.0 else 0.0
    stats[ly.S_PAIR] = math.log1p(pair)
    st[ly.I_Z_LAST] = z
    # the same in scales, not log-compressed, for the records in the series' units
    stats[ly.X_UNIT] = max(z, 0.0)
    stats[ly.X_UNIT + 1] = max(-z, 0.0)
    stats[ly.X_UNIT + 2] = max(zm, 0.0)
    stats[ly.X_UNIT + 3] = max(-zm, 0.0)
    stats[ly.X_UNIT + 4] = pair


@njit
def _slow_alarms(pr: np.ndarray, x: float, tail: float) -> bool:
    """Whether a slow statistic at ``x`` with exponential ``tail`` alone scores 0.5."""
    return x >= _LN10 * pr[pa.P_ALARM_LOG10P] * tail


@njit
def _day_level(
    st: np.ndarray,
    pr: np.ndarray,
    sce: float,
    n: float,
    dt: float,
    stats: np.ndarray,
    forecast: float,
) -> None:
    """How far the day level (a day-long mean of the ``forecast``) lies beyond the range of day
    levels this series has shown, in widths of that range (at least ``slow_floor`` scales).

    The range forms over ``envelope_days`` after the day level has settled (``level_days``);
    it is widened only by an alarm (the new level is then part of the series' history, so
    each further stretch of a drift alarms once), never by the drift itself. Within two
    ``level_days`` of any alarm the day level is still catching up with the change that
    alarm reported (a shift, a ramp, a release): its leaving the range widens the range
    without alarming again, so one change raises one alarm, not a second one a day later.
    """
    day = pr[pa.P_LEVEL_DAYS] * DAY_SECONDS
    x = dt / day  # 1 − e^(−x) by its series where that is exact to ~1e-7 (no exp per point)
    a = max(x * (1.0 - x * (0.5 - x / 6.0)) if x < 0.05 else 1.0 - math.exp(-x), 1.0 / n)
    d = st[ly.I_SLOW] + a * (forecast - st[ly.I_SLOW])
    st[ly.I_SLOW] = d
    elapsed = n * st[ly.I_STEP]
    stats[ly.S_SLOW_SHIFT] = 0.0
    if elapsed < day:  # the day level is still settling
        st[ly.I_LEVEL_HIGH] = d
        st[ly.I_LEVEL_LOW] = d
        st[ly.I_LEVEL_ORIGIN] = d
        return
    high = st[ly.I_LEVEL_HIGH]
    low = st[ly.I_LEVEL_LOW]
    if elapsed < day + pr[pa.P_ENVELOPE_DAYS] * DAY_SECONDS:  # the range is forming
        st[ly.I_LEVEL_HIGH] = max(high, d)
        st[ly.I_LEVEL_LOW] = min(low, d)
        slope = (d - st[ly.I_LEVEL_ORIGIN]) / max(elapsed - day, dt)
        # a steady slope the series had from the start is its normal (not mere wander)
        st[ly.I_LEVEL_SLOPE] = slope if abs(slope) * DAY_SECONDS >= _SLOPE_USUAL * sce else 0.0
        return
    slope = st[ly.I_LEVEL_SLOPE]
    if slope > 0.0:  # the range widens along it
        high += slope * dt
        st[ly.I_LEVEL_HIGH] = high
    elif slope < 0.0:
        low += slope * dt
        st[ly.I_LEVEL_LOW] = low
    beyond = max(d - high, low - d)
    if beyond <= 0.0:
        return
    x = beyond / max(high - low, pr[pa.P_SLOW_FLOOR] * sce)
    stats[ly.S_SLOW_SHIFT] = x
    if _slow_alarms(pr, x, pr[pa.P_SLOW_TAIL]):  # alarmed: now part of history
        st[ly.I_LEVEL_HIGH] = max(high, d)
        st[ly.I_LEVEL_LOW] = min(low, d)
        alarmed = st[ly.I_ALARM_T]
        if alarmed != 0.0 and st[ly.I_T_LAST] - alarmed < _ECHO_LEVEL_DAYS * day:
            stats[ly.S_SLOW_SHIFT] = 0.0  # an echo of an alarm already raised


@njit
def _slow_statistics(
    st: np.ndarray,
    pr: np.ndarray,
    r: float,
    sce: float,
    k: float,
    n: float,
    dt: float,
    stats: np.ndarray,
    forecast: float,
) -> bool:
    """The slow statistics: the day level against the range of day levels seen, the stuck
    value, an hours-long mean |residual| against its days-long reference and the level's
    swing; returns whether the value is stuck (see ``_flat``).

    The fast baseline follows a drift within an hour, so only these slow comparisons still
    see it (see ``DetectorParams.level_days``). Growth of the usual wander of the volatility
    is limited, so a change in progress cannot quickly make itself look usual.
    """
    _day_level(st, pr, sce, n, dt, stats, forecast)
    stuck = _flat(st, pr, n, stats)
    # the random walk's residuals hold the routine jumps it cannot forecast (a sawtooth's
    # releases): clipped as the scale clips them, they do not swing the hours-long mean
    lim = (pr[pa.P_CLIP] if st[ly.I_RW_ON] == 1.0 else _SLOW_CLIP) * sce
    rc = min(max(r, -lim), lim)
    a_s = max(_rate(pr[pa.P_ALPHA_SLOW], k), 1.0 / n)
    a_r = max(_rate(pr[pa.P_ALPHA_REFERENCE], k), 1.0 / n)
    a_w = min(_WANDER_SPEED * a_r, 1.0)  # the usual wander is learnt faster than the level
    ar = abs(rc)
    st[ly.I_SLOW_VOL] += a_s * (ar - st[ly.I_SLOW_VOL])
    stats[ly.S_SLOW_VOLATILITY] = _against_reference(
        st, pr, ly.I_SLOW_VOL, ar, 1e-3 * sce, a_r, a_w, pr[pa.P_SLOW_VOLATILITY_TAIL]
    )
    if int(n) % _SWING_EVERY == 0:  # an hours-long mean: every few points is enough
        _swing(st, pr, sce, k * _SWING_EVERY, n, stats, forecast)
    else:
        stats[ly.S_SLOW_SWING] = 0.0
    return stuck


@njit
def _flat(st: np.ndarray, pr: np.ndarray, n: float, stats: np.ndarray) -> bool:
    """The stuck-value statistic: how far the current run of repeats of one exact value
    exceeds the longest earlier run (at least ``flat_points``), heard at the one point
    where the run first exceeds ``1 + flat_margin`` times that, and only on a series where
    fewer than ``flat_share`` of the points repeat the previous one: where values often
    stay put, how long they do is as random as the quiet spells (a record twice as long as
    any before came ~2 times per 10,000 points on low counts and quantised values), so a
    long run is no evidence of a fault there.

    One stuck stretch raises one alarm, not one per point while it lasts (the longest run
    changes only when a run ends, so whether a run has alarmed follows from its length).
    A run begun in the warm-up is the series' normal: a series constant from its start
    never alarms. Returns whether the run is past its limit on such a series (stuck).
    """
    run = st[ly.I_FLAT_RUN]
    if n - run < pr[pa.P_WARMUP]:  # begun in the warm-up
        st[ly.I_FLAT_LONGEST] = max(st[ly.I_FLAT_LONGEST], run)
    ref = max(st[ly.I_FLAT_LONGEST], pr[pa.P_FLAT_POINTS])
    limit = (1.0 + pr[pa.P_FLAT_MARGIN]) * ref  # repeats a run may reach without alarming
    # the first repeat past the limit: log(run / ref) > log(1 + flat_margin) by at least
    # one repeat's worth, so the score is surely above 0.5 (not a tie left to rounding)
    crossing = run > limit >= run - 1.0
    rare = st[ly.I_FLAT_SHARE] < pr[pa.P_FLAT_SHARE]  # a series that seldom repeats itself
    stats[ly.S_FLAT] = math.log(run / ref) if crossing and rare else 0.0
    return run > limit and rare


@njit
def _swing(
    st: np.ndarray,
    pr: np.ndarray,
    sce: float,
    k: float,
    n: float,
    stats: np.ndarray,
    forecast: float,
) -> None:
    """How far the ``forecast`` strays from the day level (hours-long mean) against the
    usual (days-long reference), in units of how far that ratio usually wanders.

    A new cycle of hours (a cron job, a changed workload pattern) is followed by the fast
    level, so the residuals stay small; the level's swings still grow. A drift also takes
    the level away from its day mean, so this statistic often hears a drift first. The
    forecast is the level, and the profile with it where the profile holds the daily cycle
    (the day level is then a mean of the same, as it was of the level that carried it).
    """
    swing = abs(forecast - st[ly.I_SLOW])
    a_s = max(_rate(pr[pa.P_ALPHA_SWING], k), _SWING_EVERY / n)
    a_r = max(_rate(pr[pa.P_ALPHA_REFERENCE], k), _SWING_EVERY / n)
    a_w = min(_WANDER_SPEED * a_r, 1.0)
    st[ly.I_SWING] += a_s * (swing - st[ly.I_SWING])
    floor = pr[pa.P_SWING_FLOOR] * sce  # swings within the noise are not a cycle
    stats[ly.S_SLOW_SWING] = _against_reference(
        st, pr, ly.I_SWING, swing, floor, a_r, a_w, pr[pa.P_SWING_TAIL]
    )


@njit
def _against_reference(
    st: np.ndarray,
    pr: np.ndarray,
    mean: int,
    x: float,
    floor: float,
    a_r: float,
    a_w: float,
    tail: float,
) -> float:
    """An hours-long mean (slot ``mean``) against its days-long reference (the next slot),
    as an upward log ratio in units of its usual wander (the slot after that).

    The reference learns ``x`` at ``a_r`` and the wander at ``a_w``, growing at most
    ``_WANDER_GROWTH``-fold per step, so a change in progress cannot quickly make itself
    usual; when the statistic alarms, the reference takes in where the series now is.
    """
    ref = mean + 1
    dev = mean + 2
    ratio = math.log((st[mean] + floor) / (st[ref] + floor))
    wander = max(st[dev], _VOL_FLOOR)
    stat = max(ratio, 0.0) / wander
    if _slow_alarms(pr, stat, tail):
        st[ref] = st[mean]
    else:
        st[ref] += a_r * (x - st[ref])
        st[dev] += a_w * (min(abs(ratio), _WANDER_GROWTH * wander) - st[dev])
    return stat


@njit
def _signed(stats: np.ndarray, up: int, down: int, value: float) -> None:
    """Split a signed deviation into its log-compressed upward and downward statistics."""
    if value >= 0.0:
        stats[up] = math.log1p(value)
        stats[down] = 0.0
    else:
        stats[up] = 0.0
        stats[down] = math.log1p(-value)


@njit
def _record_mask(pr: np.ndarray) -> int:
    """Statistics calibrated in record mode (all of them when ``tail_mass`` is 0)."""
    if pr[pa.P_TAIL_MASS] <= 0.0:
        return (1 << ly.N_STATS) - 1
    return int(pr[pa.P_RECORD_MASK])


@njit
def _gate_excess(st: np.ndarray, pr: np.ndarray, j: int) -> float:
    """Log units per e-fold of the novelty gate of statistic ``j`` beyond its record edge.

    How far a new record usually lies beyond the old one grows with the tail's weight: a
    Pareto tail of shape ξ falls by e per ξ log units, so one fixed margin lets the records
    of heavy-tailed noise (bursty traffic) through far more often than those of light-tailed
    noise. The margin is therefore at least ``shape_gate`` × the learnt shape; light tails
    (ξ ≤ 0) keep ``novelty_excess``. The value's novelty takes the heavier residual side's
    shape, at most ``_NOVELTY_SHAPE_MAX``.
    """
    xi = cal.shape_of(st, j)
    if j == ly.S_NOVELTY:  # a value is as heavy-tailed as its heavier residual side, but
        # kept light enough that the band (where it alone alarms) stays near the values
        xi = min(
            max(cal.shape_of(st, ly.S_POINT_UP), cal.shape_of(st, ly.S_POINT_DOWN)),
            _NOVELTY_SHAPE_MAX,
        )
    return max(pr[pa.P_NOVELTY_EXCESS], pr[pa.P_SHAPE_GATE] * xi)


@njit
def _linear_on(pr: np.ndarray) -> bool:
    """Whether the point residuals' records are kept in linear units (``linear_records``,
    with ``unit_records`` on)."""
    return pr[pa.P_LINEAR_RECORDS] > 0.0 and pr[pa.P_UNIT_RECORDS] > 0.0


@njit
def _reads_linear(st: np.ndarray, pr: np.ndarray, j: int) -> bool:
    """Whether statistic ``j``'s record gate reads its record in linear units: a point
    statistic, with :func:`_linear_on` and a record remembered."""
    if not _linear_on(pr):
        return False
    if j != ly.S_POINT_UP and j != ly.S_POINT_DOWN:
        return False
    return st[ly.I_UNIT_RECORD + ly.UNIT_RECORD_OF[j]] > 0.0


@njit
def _linear_cap(st: np.ndarray, pr: np.ndarray, j: int, size: float) -> float:
    """log10 p that point statistic ``j`` with a residual of ``size`` in the series' linear
    units is a new record: within its record, that of a record (1 / points remembered);
    beyond it, falling by e per margin of log ratio.

    On the compressed scale ratios shrink: an error-rate burst 2.15 times the largest one
    before it (from the forecast, in percent) was 1.25 times it there.
    """
    record = st[ly.I_UNIT_RECORD + ly.UNIT_RECORD_OF[j]]
    ratio = size / record
    beyond = math.log(ratio) if ratio > 1.0 else 0.0
    return st[ly.I_REC_LP] - beyond / _gate_excess(st, pr, j) / _LN10


@njit
def _combine(
    st: np.ndarray,
    pr: np.ndarray,
    stats: np.ndarray,
    seen: bool,
    n: float,
    sce: float,
    size: float,
) -> tuple[float, int]:
    """Smallest calibrated log10 p over the enabled statistics, and which one it was.

    A value ``seen`` before (inside the whole range) has its novelty floored
    (:func:`_seen_log10p`). The record gate's edge is the larger of the record in scales
    and, with ``unit_records``, the record in the series' units at today's scale ``sce``;
    with ``linear_records`` a point statistic's gate reads its record in the series' own
    linear units alone (:func:`_linear_cap`), against ``size``, the value's distance from
    the forecast in those units.
    """
    mask = int(pr[pa.P_STAT_MASK])
    records = _record_mask(pr)
    gate = pr[pa.P_NOVELTY_EXCESS]
    units = pr[pa.P_UNIT_RECORDS] > 0.0
    best = 0.0
    best_j = -1
    for j in range(ly.N_STATS):
        if (mask >> j) & 1 == 0:
            continue
        lp = cal.log10_tail(st, j, stats[j], (records >> j) & 1 == 1)
        if gate > 0.0 and lp < st[ly.I_REC_LP]:  # rarer than a record: the gate decides
            if _reads_linear(st, pr, j):
                lp = max(lp, _linear_cap(st, pr, j, size))
            else:
                edge = cal.record_edge(st, j)
                unit = ly.UNIT_RECORD_OF[j]
                if units and unit >= 0:
                    edge = max(edge, math.log1p(st[ly.I_UNIT_RECORD + unit] / sce))
                lp = max(lp, cal.novelty_cap(st, stats[j], _gate_excess(st, pr, j), edge))
        if j == ly.S_NOVELTY and seen and lp < 0.0:  # mostly 0: inside the recent range
            lp = max(lp, _seen_log10p(pr, n))
        if lp < best or best_j < 0:
            best = lp
            best_j = j
    slow_gate = pr[pa.P_ALARM_LOG10P]
    for j in range(ly.N_STATS, ly.N_ALL_STATS):  # slow statistics: a fixed exponential tail,
        # heard only when they alone would alarm (their moderate values are not evidence)
        if (mask >> j) & 1 == 0:
            continue
        tail = pr[pa.P_SLOW_TAIL]
        if j == ly.S_SLOW_VOLATILITY:
            tail = pr[pa.P_SLOW_VOLATILITY_TAIL]
        elif j == ly.S_SLOW_SWING:
            tail = pr[pa.P_SWING_TAIL]
        elif j == ly.S_FLAT:
            tail = pr[pa.P_FLAT_TAIL]
        lp = -stats[j] / tail / _LN10
        if lp < best and -lp >= slow_gate:
            best = lp
            best_j = j
    return best, best_j


@njit
def _band(
    st: np.ndarray, pr: np.ndarray, sce: float, e: float, n: float, e_lin: float
) -> tuple[float, float]:
    """Residuals below/above the forecast ``e`` at which one point alone would score 0.5:
    through its residual (the point statistics) or through its novelty (the value beyond
    the remembered range), whichever is nearer.

    On a bursty series the residual's fitted tail can be very wide while a value far outside
    anything seen is still caught as novel; a band from the residual alone would then claim
    values far beyond it are usual. Inside the whole range the series has shown, the
    novelty cannot alarm (``seen_rank``) until its floor is rarer than the alarm level.
    """
    records = _record_mask(pr)
    if records & _POINT_BITS == 0:  # fits change only at refits: the band is cached
        up = st[ly.I_CAP_UP] * sce
        down = st[ly.I_CAP_DOWN] * sce
    else:
        target = -pr[pa.P_ALARM_LOG10P]
        up = cal.invert(st, ly.S_POINT_UP, target, (records >> ly.S_POINT_UP) & 1 == 1)
        down = cal.invert(st, ly.S_POINT_DOWN, target, (records >> ly.S_POINT_DOWN) & 1 == 1)
        if pr[pa.P_NOVELTY_EXCESS] > 0.0:
            up = max(up, st[ly.I_CAP_UP])
            down = max(down, st[ly.I_CAP_DOWN])
        up *= sce
        down *= sce
    if pr[pa.P_UNIT_RECORDS] > 0.0 and pr[pa.P_NOVELTY_EXCESS] > 0.0:
        up = max(up, _unit_cap(st, pr, ly.S_POINT_UP, ly.I_GATE_FACTOR_UP, sce, e, e_lin, up))
        down = max(
            down, _unit_cap(st, pr, ly.S_POINT_DOWN, ly.I_GATE_FACTOR_DOWN, sce, e, e_lin, down)
        )
    record_novelty = (records >> ly.S_NOVELTY) & 1 == 1  # its fit moves at every record
    novel = _novel_alarm(st, pr) if record_novelty else st[ly.I_NOVEL]
    if novel < _NEVER:
        high = st[ly.I_ENV_HIGH]
        low = st[ly.I_ENV_LOW]
        beyond = novel * max(high - low, sce) / _NOVELTY_GAIN
        high_edge = high + beyond
        low_edge = low - beyond
        if 2.0 * pr[pa.P_SEEN_RANK] > (n + 1.0) * pr[pa.P_ALARM_P]:  # seen: no alarm
            # moved out only where the novelty's edge is the nearer one (else it changes
            # nothing), which spares most points the asinh
            if high_edge - e < up:
                high_edge = max(high_edge, _modelled(st, st[ly.I_MAX_SEEN]))
            if e - low_edge < down:
                low_edge = min(low_edge, _modelled(st, st[ly.I_MIN_SEEN]))
        up = max(min(up, high_edge - e), 0.0)
        down = max(min(down, e - low_edge), 0.0)
    return down, up


@njit
def _unit_cap(
    st: np.ndarray,
    pr: np.ndarray,
    j: int,
    factor: int,
    sce: float,
    e: float,
    e_lin: float,
    known: float,
) -> float:
    """Residual (modelled units) at which the gate of the record in the series' units alone
    lets point statistic ``j`` reach the alarm level: ``cal.invert_cap`` from the edge
    log1p(record / ``sce``), with e^(margin) cached in slot ``factor``.

    With ``linear_records`` the record is in linear units and the value that far beyond
    it (record × e^(margin) from the forecast ``e``, ``e_lin`` in the series' units) is
    taken back to the modelled scale (not at all where a bound from asinh's slope shows it
    cannot pass ``known``, the band's edge so far);
    where a side has no such record, its record in scales gates (left out of the cached
    band, see :func:`_cache_caps`).
    """
    record = st[ly.I_UNIT_RECORD + ly.UNIT_RECORD_OF[j]]
    if not _linear_on(pr):
        cap = (sce + record) * st[factor] - sce
    elif record <= 0.0:
        target = -pr[pa.P_ALARM_LOG10P]
        cap = cal.invert_cap(st, target, _gate_excess(st, pr, j), cal.record_edge(st, j)) * sce
    else:
        size = record * st[factor]
        unit = st[ly.I_UNIT]
        if unit > 0.0:  # asinh is steepest (1 / unit) at 0 and flattens either way
            low = e_lin if j == ly.S_POINT_UP else e_lin - size
            if low >= 0.0 and size / math.sqrt(low * low + unit * unit) <= known:
                return known  # at most this far: the nearer edge stays (spares the asinh)
        if j == ly.S_POINT_UP:
            cap = _modelled(st, e_lin + size) - e
        else:
            cap = e - _modelled(st, e_lin - size)
    return min(max(cap, 0.0), _Z_MAX * sce)


@njit
def _learn_unit_records(
    st: np.ndarray,
    pr: np.ndarray,
    stats: np.ndarray,
    sce: float,
    n: float,
    linear_size: float,
    alarmed: bool,
) -> None:
    """Raise the records in the series' units. A residual within a calibrator bin's width
    of a record keeps its side remembered, as a count in the record's bin would; a side's
    records are forgotten once the calibrators' memory has passed without one. With
    ``linear_records`` the point residuals' records are in linear units: ``linear_size``,
    the value's distance from the forecast in the series' units. With
    ``anomaly_record_points`` a point in an alarm's echo (``alarmed``: the decayed maximum
    of recent scores at the alarm level, so the short means still carrying a glitch count
    too) keeps no side remembered, and a record it raises is forgotten after that many
    points unless a normal point comes near it."""
    linear = _linear_on(pr)
    memory = _LN20 / pr[pa.P_ALPHA_CAL]  # a count fades below 1/20 of a fresh one
    for i in range(len(ly.UNIT_RECORD_STATS)):
        if n - st[ly.I_UNIT_RECORD_AT + ly.UNIT_RECORD_SIDE[i]] > memory:
            st[ly.I_UNIT_RECORD + i] = 0.0
    for side in range(3):
        if n - st[ly.I_UNIT_RECORD_AT + side] > memory:
            st[ly.I_UNIT_RECORD_AT + side] = n
    fade = pr[pa.P_ANOMALY_RECORD_POINTS]
    for i in range(len(ly.UNIT_RECORD_STATS)):
        size = stats[ly.X_UNIT + i] * sce  # modelled units
        if linear and i < 2 and size > 0.0:  # the point residuals: up, then down
            size = linear_size
        record = st[ly.I_UNIT_RECORD + i]
        if size >= _NEAR_RECORD * record and size > 0.0:  # as a count in the record's bin
            side_at = ly.I_UNIT_RECORD_AT + ly.UNIT_RECORD_SIDE[i]
            if fade <= 0.0 or not alarmed:
                st[side_at] = n
            elif size > record / _NEAR_RECORD:  # an alarm's new record: kept only briefly
                st[side_at] = min(st[side_at], n - memory + fade)
            st[ly.I_UNIT_RECORD + i] = max(size, record)


@njit
def _clip_to_alarm(st: np.ndarray, pr: np.ndarray, stats: np.ndarray, records: int) -> None:
    """An alarming point's statistics no farther out than where each alone would alarm
    (``anomaly_clip``): its count says "a value at least this rare", not how far out a
    glitch lay, which had widened the fitted tails (and hidden later spikes) for days."""
    target = -pr[pa.P_ALARM_LOG10P]
    for j in range(ly.N_STATS):
        edge = math.log1p(cal.invert(st, j, target, (records >> j) & 1 == 1))
        if stats[j] > edge:
            stats[j] = edge


@njit
def _novel_alarm(st: np.ndarray, pr: np.ndarray) -> float:
    """Novelty (linear units) at which that statistic alone scores 0.5; ``_NEVER`` if off."""
    if (int(pr[pa.P_STAT_MASK]) >> ly.S_NOVELTY) & 1 == 0:
        return _NEVER
    target = -pr[pa.P_ALARM_LOG10P]
    record = (_record_mask(pr) >> ly.S_NOVELTY) & 1 == 1
    novel = cal.invert(st, ly.S_NOVELTY, target, record)
    gate = pr[pa.P_NOVELTY_EXCESS]
    if gate > 0.0:
        novel = max(
            novel,
            cal.invert_cap(
                st, target, _gate_excess(st, pr, ly.S_NOVELTY), cal.record_edge(st, ly.S_NOVELTY)
            ),
        )
    return novel


@njit
def _cache_caps(st: np.ndarray, pr: np.ndarray) -> None:
    """Cache the band in z units (it changes only at refits and new records).

    Without record-mode point statistics the whole band is cached (fitted tail and novelty
    gate); otherwise only the gate's part, as record-mode fits move at every new record.
    """
    gate = pr[pa.P_NOVELTY_EXCESS]
    target = -pr[pa.P_ALARM_LOG10P]
    up = 0.0
    down = 0.0
    # with records in linear units the point statistics' gate is the band's own part
    # (``_unit_cap``), whichever record it reads at the point
    if gate > 0.0 and not _linear_on(pr):
        up = cal.invert_cap(
            st, target, _gate_excess(st, pr, ly.S_POINT_UP), cal.record_edge(st, ly.S_POINT_UP)
        )
        down = cal.invert_cap(
            st, target, _gate_excess(st, pr, ly.S_POINT_DOWN), cal.record_edge(st, ly.S_POINT_DOWN)
        )
    if _record_mask(pr) & _POINT_BITS == 0:
        up = max(up, cal.invert(st, ly.S_POINT_UP, target, False))
        down = max(down, cal.invert(st, ly.S_POINT_DOWN, target, False))
    st[ly.I_CAP_UP] = up
    st[ly.I_CAP_DOWN] = down
    st[ly.I_NOVEL] = _novel_alarm(st, pr)
    if pr[pa.P_UNIT_RECORDS] > 0.0 and gate > 0.0:  # the margin of the gate in the units
        st[ly.I_GATE_FACTOR_UP] = _gate_factor(st, pr, ly.S_POINT_UP, target)
        st[ly.I_GATE_FACTOR_DOWN] = _gate_factor(st, pr, ly.S_POINT_DOWN, target)


@njit
def _gate_factor(st: np.ndarray, pr: np.ndarray, j: int, target: float) -> float:
    """e^(margin): from its record edge the gate reaches log10 p ``target`` that many times
    further out, in 1 + scales (see ``cal.invert_cap``)."""
    beyond = max(st[ly.I_REC_LP] - target, 0.0) * _LN10 * _gate_excess(st, pr, j)
    return math.exp(min(beyond, cal.S_MAX))


@njit
def _adapt(st: np.ndarray, pr: np.ndarray, sce: float, k: float) -> None:
    """Accept a level or volatility change that has lasted long enough as the new normal."""
    walk = st[ly.I_RW_ON] == 1.0  # the random walk scores: the level has its own mean
    mean = ly.I_LV_MEAN if walk else ly.I_MEAN
    level_scale = _level_scale(st, sce)
    if abs(st[mean]) > pr[pa.P_ADAPT_Z] * level_scale:
        st[ly.I_SHIFT_RUN] += k
    else:
        st[ly.I_SHIFT_RUN] = 0.0
    if st[ly.I_SHIFT_RUN] >= pr[pa.P_ADAPT_POINTS]:
        if not walk:  # the shift explains that much of the residuals' size: the rest is
            st[ly.I_VOL] = max(st[ly.I_VOL] - abs(st[ly.I_MEAN]), st[ly.I_SCALE])  # volatility
        st[ly.I_LEVEL] += st[mean]
        if st[ly.I_RECENT] >= pr[pa.P_ANOMALY_CUT]:  # an alarmed shift is the new normal:
            day = st[ly.I_LEVEL]  # the day level moves there, inside its range
            st[ly.I_SLOW] = day
            st[ly.I_LEVEL_HIGH] = max(st[ly.I_LEVEL_HIGH], day)
            st[ly.I_LEVEL_LOW] = min(st[ly.I_LEVEL_LOW], day)
        st[ly.I_TREND] = 0.0
        st[mean] = 0.0
        st[ly.I_SHIFT_RUN] = 0.0
    if st[ly.I_VOL] - abs(st[ly.I_MEAN]) > 2.0 * sce:  # wider around the mean, not shifted
        st[ly.I_VOL_RUN] += k
    else:
        st[ly.I_VOL_RUN] = 0.0
    if st[ly.I_VOL_RUN] >= pr[pa.P_ADAPT_POINTS]:
        st[ly.I_SCALE] = st[ly.I_VOL]
        st[ly.I_VOL_RUN] = 0.0


@njit
def _learn(
    st: np.ndarray,
    pr: np.ndarray,
    v: float,
    r_level: float,
    r: float,
    sce: float,
    k: float,
    n: float,
    stuck: bool,
) -> float:
    """Robust baseline update; returns the clipped residual the seasonal profile learns.

    The level learns from its own residual ``r_level``; the scale from the scored one ``r``
    (the random walk's where that forecasts).

    A stuck value says nothing of the series' behaviour: the residual scale, the range of
    values and (in the caller) the calibrators do not learn from it. Otherwise a day of
    one held value shrinks the scale twenty-fold, the range by a quarter and the
    calibrators' memory to 5 %, and the noise coming back alarms as a second incident.
    """
    clip = pr[pa.P_CLIP] * _level_scale(st, sce) if n > _EARLY else 1e300
    u = min(max(r_level, -clip), clip)
    st[ly.I_LEVEL] += max(_rate(pr[pa.P_ALPHA_LEVEL], k), 1.0 / (n + 1.0)) * u
    if n > _EARLY:
        st[ly.I_TREND] += pr[pa.P_ALPHA_TREND] * u
    a_env = _rate(pr[pa.P_ALPHA_ENVELOPE], k)
    st[ly.I_MAGNITUDE] += max(a_env, 1.0 / (n + 1.0)) * (abs(v) - st[ly.I_MAGNITUDE])
    if stuck:
        return u
    a_scale = max(_rate(pr[pa.P_ALPHA_SCALE], k), 1.0 / n)
    clip = pr[pa.P_CLIP] * sce if n > _EARLY else 1e300
    st[ly.I_SCALE] += a_scale * (min(abs(r), clip) - st[ly.I_SCALE])
    level = st[ly.I_LEVEL]
    st[ly.I_ENV_HIGH] = max(v, st[ly.I_ENV_HIGH] - a_env * (st[ly.I_ENV_HIGH] - level))
    st[ly.I_ENV_LOW] = min(v, st[ly.I_ENV_LOW] - a_env * (st[ly.I_ENV_LOW] - level))
    return u


@njit
def _seen(st: np.ndarray, pr: np.ndarray, linear: float) -> bool:
    """Whether the value lies inside the whole range the series has shown (floor on)."""
    return pr[pa.P_SEEN_RANK] > 0.0 and st[ly.I_MIN_SEEN] <= linear <= st[ly.I_MAX_SEEN]


@njit
def _seen_log10p(pr: np.ndarray, n: float) -> float:
    """Floor of the novelty's log10 p for a value seen before: at least one earlier point
    was as extreme, so it is at best the ``seen_rank``-th most extreme of the ``n`` + 1
    points at one end or the other.
    """
    return math.log10(min(2.0 * pr[pa.P_SEEN_RANK] / (n + 1.0), 1.0))


@njit
def _far_width(st: np.ndarray) -> float:
    """Width of the widest range of values the series has shown (floored above 0)."""
    high = st[ly.I_MAX_SEEN]
    low = st[ly.I_MIN_SEEN]
    return max(high - low, 1e-12 + 1e-9 * max(abs(high), abs(low)))


@njit
def _outside_log10p(
    st: np.ndarray, pr: np.ndarray, linear: float, width: float, n: float, heard: bool
) -> float:
    """log10 p of a value outside the widest range of values the series has shown.

    **Far-value guard.** A value ``far_ranges`` widths of the series' whole range beyond its
    record scores 0.5, one ``far_ranges``² widths beyond scores 1. On the compressed scale an
    idle CPU that bursts to 1.5 % now and then holds those bursts as usual, and a jump to
    100 % was only a somewhat larger ratio (it scored 0.41); in the series' own units it is
    67 ranges beyond anything seen.
    **All-time record.** Nearer, a value beyond the range by ``record_margin`` of its width
    is the most extreme of the ``n`` + 1 points seen: whatever their distribution, if their
    order tells nothing, that happens with probability 2/(``n`` + 1) at one end or the other,
    so it is priced so (capped just below the alarm cut). The calibrated statistics cannot
    say this: they remember a few hundred points, not the series' whole history; it is
    ``heard`` only where the novelty statistic is. ``width`` is :func:`_far_width`.
    """
    beyond = max(linear - st[ly.I_MAX_SEEN], st[ly.I_MIN_SEEN] - linear) / width
    far = pr[pa.P_FAR_RANGES]
    if far > 1.0 and beyond >= far:
        score = min(0.5 * (1.0 + math.log(beyond / far) / math.log(far)), 1.0)
        return -score * pr[pa.P_LOG_SCALE] - _LOG10_N_STATS
    margin = pr[pa.P_RECORD_MARGIN]
    if heard and margin > 0.0 and beyond >= margin:
        below_cut = -_RECORD_CAP * pr[pa.P_ANOMALY_CUT] * pr[pa.P_LOG_SCALE] - _LOG10_N_STATS
        return max(math.log10(2.0 / (n + 1.0)), below_cut)
    return 0.0


@njit
def _clamp_band(st: np.ndarray, pr: np.ndarray, out: np.ndarray, row: int, width: float) -> None:
    """The band never reaches past the guard's edges: a value beyond them alarms."""
    reach = pr[pa.P_FAR_RANGES] * width
    out[row, OUT_UPPER] = min(out[row, OUT_UPPER], st[ly.I_MAX_SEEN] + reach)
    out[row, OUT_LOWER] = max(out[row, OUT_LOWER], st[ly.I_MIN_SEEN] - reach)


@njit
def _rescale_slow(st: np.ndarray, factor: float) -> None:
    """The residuals scored change scale with the forecaster: so do their slow means."""
    st[ly.I_SLOW_VOL] *= factor
    st[ly.I_REF_VOL] *= factor


@njit
def _level_scale(st: np.ndarray, sce: float) -> float:
    """The level forecast's own residual scale: ``sce``, unless the random walk scores."""
    if st[ly.I_RW_ON] == 1.0:
        return max(_RMS_TO_MAD * st[ly.I_LV_ERR], sce)
    return sce


@njit
def _switch(st: np.ndarray, walk: bool, e_new: float, e_old: float) -> None:
    """Hand the scoring to the random walk (``walk``) or back to the level.

    The slow volatility follows the new residuals' size, and the scale (a mean |residual|)
    starts at the new forecaster's RMS error, a little wide, narrowing at alpha_scale: a
    change of forecaster must not itself raise alarms. The short mean of the level's
    residuals moves to the slot the level reads while the random walk scores, and back.
    The records in the series' units were the other forecaster's residuals: they go (the
    records in scales remain, read at the new scale).
    """
    st[ly.I_RW_ON] = 1.0 if walk else 0.0
    for i in range(len(ly.UNIT_RECORD_STATS)):
        st[ly.I_UNIT_RECORD + i] = 0.0
    _rescale_slow(st, e_new / max(e_old, 1e-300))
    st[ly.I_SCALE] = e_new
    st[ly.I_VOL] = e_new
    if walk:
        st[ly.I_LV_MEAN] = st[ly.I_MEAN]
        st[ly.I_MEAN] = 0.0
    else:
        st[ly.I_MEAN] = st[ly.I_LV_MEAN]
    st[ly.I_Z_LAST] = 0.0


@njit
def _random_walk(
    st: np.ndarray, pr: np.ndarray, v: float, r_level: float, k: float, n: float, e: float
) -> tuple[float, float]:
    """The forecast and residual to score: the level's, or the random walk's (the previous
    value moved on by its usual step) where that has forecast markedly better.

    Both forecasters' root mean square errors are tracked (one huge error clipped, and a
    flat stretch cannot lock them at 0); the random walk takes over when
    its error is below ``rw_ratio`` of the level's, and hands back once it errs more than
    the level. While the random walk scores, the level learns with its own error as scale
    and adopts shifts from its own short mean, so it forecasts better than it did: the
    ratio creeps up, which is why the way back is much wider than the way in.
    """
    steps = min(k, _TREND_STEPS)
    f = st[ly.I_V_LAST] + st[ly.I_RW_DRIFT] * steps
    r_rw = v - f
    e_rw = st[ly.I_RW_ERR]
    e_lv = st[ly.I_LV_ERR]
    on = st[ly.I_RW_ON] == 1.0
    if n >= pr[pa.P_RW_MIN] and e_lv > 0.0:
        ratio = pr[pa.P_RW_RATIO]
        if not on and e_rw < ratio * e_lv:
            on = True
            _switch(st, True, e_rw, e_lv)
        elif on and e_rw > e_lv:  # the level forecasts better again
            on = False
            _switch(st, False, e_lv, e_rw)
    if n > _EARLY:
        a = pr[pa.P_RW_RATE]
        if e_lv <= 0.0:
            st[ly.I_RW_ERR] = abs(r_rw)
            st[ly.I_LV_ERR] = abs(r_level)
        else:  # root mean square; one huge residual must not decide (clipped)
            floor = 1e-9 * abs(st[ly.I_LEVEL]) + 1e-4 * st[ly.I_MAGNITUDE] + 1e-12
            e_rw = max(e_rw, floor)  # a flat stretch must not lock the error at 0
            e_lv = max(e_lv, floor)
            q = min(abs(r_rw), _RW_CLIP * e_rw)
            st[ly.I_RW_ERR] = math.sqrt(e_rw * e_rw + a * (q * q - e_rw * e_rw))
            q = min(abs(r_level), _RW_CLIP * e_lv)
            st[ly.I_LV_ERR] = math.sqrt(e_lv * e_lv + a * (q * q - e_lv * e_lv))
        lim = 3.0 * max(e_rw, 1e-12)
        d = (v - st[ly.I_V_LAST]) / max(k, 1.0)
        st[ly.I_RW_DRIFT] += a * (min(max(d, -lim), lim) - st[ly.I_RW_DRIFT])
    if on:
        lim = 8.0 * _level_scale(st, 0.0)
        am = _rate(pr[pa.P_ALPHA_MEAN], k)
        st[ly.I_LV_MEAN] += am * (min(max(r_level, -lim), lim) - st[ly.I_LV_MEAN])
        return f, r_rw
    return e, r_level


@njit
def _start(st: np.ndarray, pr: np.ndarray, v: float, out: np.ndarray, row: int) -> None:
    st[ly.I_LEVEL] = v
    st[ly.I_MAGNITUDE] = abs(v)
    st[ly.I_ENV_HIGH] = v
    st[ly.I_ENV_LOW] = v
    st[ly.I_SLOW] = v
    st[ly.I_LEVEL_HIGH] = v
    st[ly.I_LEVEL_LOW] = v
    st[ly.I_V_LAST] = v
    cal.reset(st)
    _cache_caps(st, pr)
    _emit(out, row, _inverse(st, v))


@njit_entry
def step(
    st: np.ndarray,
    pr: np.ndarray,
    t_ns: np.int64,
    x: float,
    out: np.ndarray,
    row: int,
    stats: np.ndarray,
) -> None:
    """Score one point against the state, write ``out[row]``, then learn from the point."""
    t = float(t_ns) * 1e-9
    if st[ly.I_SEEN] == 0.0:
        st[ly.I_SEEN] = 1.0
        st[ly.I_T_LAST] = t
        st[ly.I_X_LAST] = x
        st[ly.I_ENV_LOW] = x
        _emit(out, row, x)
        return
    dt = _advance_clock(st, t)
    _count_repeats(st, pr, x)
    if st[ly.I_MODE] == 0.0:
        _probe(st, pr, x)
        st[ly.I_SEEN] += 1.0
        st[ly.I_X_LAST] = x
        _emit(out, row, x)
        return
    v = _transform(st, x, dt)
    st[ly.I_SEEN] += 1.0
    st[ly.I_X_LAST] = x
    n = st[ly.I_COUNT]
    st[ly.I_COUNT] = n + 1.0
    linear = x if st[ly.I_UNIT] > 0.0 else v  # the value in the series' own units
    if n == 0.0:
        _start(st, pr, v, out, row)
        st[ly.I_MAX_SEEN] = linear
        st[ly.I_MIN_SEEN] = linear
        return
    _score_and_learn(st, pr, t, v, linear, dt, n, out, row, stats)
    if st[ly.I_UNIT] > 0.0:
        out[row, OUT_VALUE] = x


@njit
def _score_and_learn(
    st: np.ndarray,
    pr: np.ndarray,
    t: float,
    v: float,
    linear: float,
    dt: float,
    n: float,
    out: np.ndarray,
    row: int,
    stats: np.ndarray,
) -> None:
    k = min(dt / st[ly.I_STEP], _MAX_STEPS)
    if abs(k - 1.0) < 1e-6:  # regular sampling: take the exact fast path
        k = 1.0
    seasonal = pr[pa.P_SEASONAL] > 0.0
    trend = st[ly.I_TREND]
    if trend != 0.0:  # the level moves on along its local trend, which fades
        st[ly.I_LEVEL] += trend * min(k, _TREND_STEPS)
        st[ly.I_TREND] = trend * (
            pr[pa.P_TREND_DAMPING] if k == 1.0 else pr[pa.P_TREND_DAMPING] ** k
        )
    seas, i0, i1, w, dow = profile_at(st, t)
    expected = st[ly.I_LEVEL] + (seas if seasonal else 0.0)
    r = v - expected
    r_level = r
    if pr[pa.P_RW_RATIO] > 0.0:
        expected, r = _random_walk(st, pr, v, r, k, n, expected)
    sce = _scale(st, st[ly.I_LEVEL])
    _statistics(st, pr, v, r, sce, k, stats)
    # the day level averages the level, or the level's forecast with the profile where the
    # profile learns the cycle (the level alone then no longer carries it)
    cycle_in_profile = seasonal and pr[pa.P_CYCLE_IN_PROFILE] > 0.0
    forecast = st[ly.I_LEVEL] + (seas if cycle_in_profile else 0.0)
    stuck = _slow_statistics(st, pr, r, sce, k, n, dt, stats, forecast)
    if n * pr[pa.P_ALPHA_REFERENCE] < 1.0:  # the reference is still forming: not heard yet
        stats[ly.S_SLOW_VOLATILITY] = 0.0
        stats[ly.S_SLOW_SWING] = 0.0
        stats[ly.S_FLAT] = 0.0  # nor the share of repeats: let a few nights' spells be seen
        stuck = False
    # with records in linear units: the forecast and the value's distance from it there
    e_lin = expected
    grow = 0.0  # e^expected, shared with the band's way back to the series' units
    linear_size = 0.0
    if _linear_on(pr):
        unit = st[ly.I_UNIT]
        if unit > 0.0 and abs(expected) < _EXP_SAFE:
            grow = math.exp(expected)
            e_lin = _unit_sinh(expected, grow, unit)
        else:
            e_lin = _inverse(st, expected)
        linear_size = abs(linear - e_lin)
    best, best_j = _combine(st, pr, stats, _seen(st, pr, linear), n, sce, linear_size)
    guard = pr[pa.P_FAR_RANGES] > 1.0  # far_ranges 0: the guard is off
    heard = (int(pr[pa.P_STAT_MASK]) >> ly.S_NOVELTY) & 1 == 1  # a record is the value's novelty
    width = _far_width(st) if guard or pr[pa.P_RECORD_MARGIN] > 0.0 else 0.0
    outside = _outside_log10p(st, pr, linear, width, n, heard) if width > 0.0 else 0.0
    if outside < best:
        best = outside
        best_j = ly.S_NOVELTY
    raw = min(max(-(best + _LOG10_N_STATS) / pr[pa.P_LOG_SCALE], 0.0), 1.0)
    if n < pr[pa.P_WARMUP]:  # warm-up: no score, and no statistic decided it
        raw = 0.0
        best_j = -1
    elif raw >= pr[pa.P_ANOMALY_CUT]:
        st[ly.I_ALARM_T] = t
    recent = st[ly.I_RECENT]
    decay = pr[pa.P_SUPPRESS_DECAY] if k == 1.0 else pr[pa.P_SUPPRESS_DECAY] ** k
    st[ly.I_RECENT] = max(raw, recent * decay)
    down, up = _band(st, pr, sce, expected, n, e_lin)
    out[row, OUT_SCORE] = raw if raw > recent else raw * (1.0 - pr[pa.P_SUPPRESS])
    _emit_band(st, out, row, expected, down, up, grow)
    if guard:
        _clamp_band(st, pr, out, row, width)
    st[ly.I_MAX_SEEN] = max(st[ly.I_MAX_SEEN], linear)
    st[ly.I_MIN_SEEN] = min(st[ly.I_MIN_SEEN], linear)
    out[row, OUT_RAW] = raw
    # the learning period: fewer than warmup_hours of data (at the typical step, as the slow
    # statistics count it), so a minute-sampled series has seen as much of its own behaviour,
    # a release or a nightly batch, as a five-minute one before it alarms; its points are
    # learnt from as ever, only not heard
    if n * st[ly.I_STEP] < pr[pa.P_WARMUP_HOURS] * 3600.0:
        out[row, OUT_SCORE] = 0.0
        out[row, OUT_RAW] = 0.0
        best_j = -1
    out[row, OUT_Z] = r / sce
    out[row, OUT_VALUE] = v  # step puts back the raw value of a compressed gauge
    out[row, OUT_STAT] = float(best_j)
    records = _record_mask(pr)
    edges = st[_EDGE_UP] + st[_EDGE_DOWN]
    share = pr[pa.P_ANOMALY_WEIGHT] if raw >= pr[pa.P_ANOMALY_CUT] else 1.0
    if pr[pa.P_SHAPE_RATE] > 0.0 and share == 1.0 and n >= pr[pa.P_WARMUP]:
        cal.learn_shapes(
            st, stats, pr[pa.P_SHAPE_RATE], pr[pa.P_SHAPE_EDGE], pr[pa.P_SHAPE_LOG_EDGE]
        )
    if share < 1.0 and pr[pa.P_ANOMALY_CLIP] > 0.0:
        _clip_to_alarm(st, pr, stats, records)
    if not stuck:  # a held value is no sample of the series' behaviour (see ``_learn``)
        cal.count(st, stats, max(_rate(pr[pa.P_ALPHA_CAL], k), 1.0 / (n + 1.0)), records, share)
        if pr[pa.P_UNIT_RECORDS] > 0.0:
            _learn_unit_records(
                st, pr, stats, sce, n, linear_size, st[ly.I_RECENT] >= pr[pa.P_ANOMALY_CUT]
            )
    refit_due = int(n) % _REFIT_EVERY == 0
    if n < _REFIT_ALWAYS or refit_due:
        if pr[pa.P_SHAPE_RATE] > 0.0:
            cal.fit_shapes(st, pr[pa.P_SHAPE_MIN], pr[pa.P_SHAPE_MAX])
        cal.refit(st, pr[pa.P_TAIL_MASS], pr[pa.P_TAIL_SCALE], records)
        _cache_caps(st, pr)
    elif st[_EDGE_UP] + st[_EDGE_DOWN] != edges:  # a new record of a point statistic
        _cache_caps(st, pr)
    carried = st[ly.I_LEVEL] - st[ly.I_SLOW] if cycle_in_profile else 0.0
    u = _learn(st, pr, v, r_level, r, sce, k, n, stuck)
    st[ly.I_V_LAST] = v
    if seasonal:  # the hourly bins also take the part of the cycle the level carries
        learn_profile(st, u + carried, u, dt, i0, i1, w, dow, pr[pa.P_SEASON_DAYS], refit_due)
    _adapt(st, pr, _scale(st, st[ly.I_LEVEL]), k)


def score_history(st: np.ndarray, pr: np.ndarray, t_ns: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Run ``step`` over a whole series; returns an ``(n, OUT_WIDTH)`` array."""
    out = np.empty((x.shape[0], OUT_WIDTH), dtype=np.float64)
    _score_into(st, pr, t_ns, x, out, np.empty(ly.N_SCRATCH, dtype=np.float64))
    return out


@njit_entry
def _score_into(
    st: np.ndarray,
    pr: np.ndarray,
    t_ns: np.ndarray,
    x: np.ndarray,
    out: np.ndarray,
    stats: np.ndarray,
) -> None:
    for i in range(x.shape[0]):
        step(st, pr, t_ns[i], x[i], out, i, stats)


def bank_step(
    states: np.ndarray, pr: np.ndarray, t_ns: np.ndarray, x: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """One new point for each of ``rows`` of a 2-D state bank; ``(len(rows), OUT_WIDTH)``."""
    out = np.empty((rows.shape[0], OUT_WIDTH), dtype=np.float64)
    _bank_into(states, pr, t_ns, x, rows, out, np.empty(ly.N_SCRATCH, dtype=np.float64))
    return out


@njit_entry
def _bank_into(
    states: np.ndarray,
    pr: np.ndarray,
    t_ns: np.ndarray,
    x: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
    stats: np.ndarray,
) -> None:
    for i in range(rows.shape[0]):
        step(states[rows[i]], pr, t_ns[i], x[i], out, i, stats)
