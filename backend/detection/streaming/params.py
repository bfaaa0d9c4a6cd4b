"""Hyperparameters of the streaming detector, and their packing for the compiled kernel.

Rates are per *nominal step* (the series' typical sampling interval, learned from its
timestamps); the kernel turns them into per-point rates from the real elapsed time, so gaps and
irregular sampling decay the memory by how much time really passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from backend.detection.streaming.layout import N_ALL_STATS, N_STATS
from backend.errors import ConfigError

__all__ = ["DetectorParams"]

# Kernel order of the packed array (see DetectorParams.to_array)
_ORDER = (
    "warmup_points", "probe_points", "alpha_level", "alpha_scale", "season_days",
    "alpha_mean", "alpha_vol", "alpha_cal", "alpha_envelope", "clip", "log_scale",
    "suppress", "suppress_decay", "tail_mass", "tail_scale", "adapt_points", "adapt_z",
    "counter", "seasonal", "stat_mask", "record_mask", "novelty_excess", "compress",
    "alpha_slow", "alpha_reference", "slow_tail", "slow_floor", "slow_volatility_tail",
    "anomaly_weight", "anomaly_cut", "alpha_trend", "trend_damping", "level_days",
    "envelope_days", "shape_rate", "shape_min", "shape_max", "shape_edge", "alpha_swing",
    "swing_floor", "swing_tail", "shape_gate", "gap_grace", "flat_points", "flat_margin",
    "flat_share", "rw_ratio", "rw_rate", "rw_min", "far_ranges", "record_margin",
    "seen_rank", "unit_records", "cycle_in_profile", "linear_records", "anomaly_clip",
    "anomaly_record_points", "warmup_hours",
)  # fmt: skip
(
    P_WARMUP,
    P_PROBE,
    P_ALPHA_LEVEL,
    P_ALPHA_SCALE,
    P_SEASON_DAYS,
    P_ALPHA_MEAN,
    P_ALPHA_VOL,
    P_ALPHA_CAL,
    P_ALPHA_ENVELOPE,
    P_CLIP,
    P_LOG_SCALE,
    P_SUPPRESS,
    P_SUPPRESS_DECAY,
    P_TAIL_MASS,
    P_TAIL_SCALE,
    P_ADAPT_POINTS,
    P_ADAPT_Z,
    P_COUNTER,
    P_SEASONAL,
    P_STAT_MASK,
    P_RECORD_MASK,
    P_NOVELTY_EXCESS,
    P_COMPRESS,
    P_ALPHA_SLOW,
    P_ALPHA_REFERENCE,
    P_SLOW_TAIL,
    P_SLOW_FLOOR,
    P_SLOW_VOLATILITY_TAIL,
    P_ANOMALY_WEIGHT,
    P_ANOMALY_CUT,
    P_ALPHA_TREND,
    P_TREND_DAMPING,
    P_LEVEL_DAYS,
    P_ENVELOPE_DAYS,
    P_SHAPE_RATE,
    P_SHAPE_MIN,
    P_SHAPE_MAX,
    P_SHAPE_EDGE,
    P_ALPHA_SWING,
    P_SWING_FLOOR,
    P_SWING_TAIL,
    P_SHAPE_GATE,
    P_GAP_GRACE,
    P_FLAT_POINTS,
    P_FLAT_MARGIN,
    P_FLAT_SHARE,
    P_RW_RATIO,
    P_RW_RATE,
    P_RW_MIN,
    P_FAR_RANGES,
    P_RECORD_MARGIN,
    P_SEEN_RANK,
    P_UNIT_RECORDS,
    P_CYCLE_IN_PROFILE,
    P_LINEAR_RECORDS,
    P_ANOMALY_CLIP,
    P_ANOMALY_RECORD_POINTS,
    P_WARMUP_HOURS,
    P_MEAN_NORM,
    P_ALARM_LOG10P,
    P_SHAPE_LOG_EDGE,
    P_FLAT_TAIL,
    P_ALARM_P,
) = range(len(_ORDER) + 5)  # fmt: skip  (derived constants follow the knobs)
_RATES = (
    "alpha_level", "alpha_scale", "alpha_mean", "alpha_vol", "alpha_cal", "alpha_envelope",
    "alpha_slow", "alpha_reference", "alpha_swing", "rw_rate",
)  # fmt: skip


@dataclass(frozen=True)
class DetectorParams:
    """Knobs of the streaming detector; the defaults are the documented general choice.

    Parameters
    ----------
    warmup_points
        Points a new series must see before any score above 0 (cold start).
    warmup_hours
        Hours of data (modelled points × the typical step) a new series must also have seen
        before any score above 0: the learning period. Its points are learnt from exactly as
        they would be without it (an alarming point as an alarm), only their scores are 0 and
        they name no statistic. 12 (default): one-minute series first alarm after 12 hours,
        five-minute ones after their 180 points (15 hours) as before; 0: points only.
    probe_points
        First points used only to decide whether the series is a cumulative counter.
    alpha_level, alpha_scale, alpha_mean, alpha_vol, alpha_cal
        Exponential rates per nominal step of the level, the residual scale, the short
        residual mean, the short volatility and the score calibrators.
    season_days
        Memory of the daily profile and weekday offsets, in days spent in each bin.
    alpha_envelope
        Rate at which the remembered range of values relaxes towards the level; values
        beyond the range are novel.
    clip
        Residuals beyond ``clip`` scales are clipped before they update the baseline, so
        anomalies do not poison it.
    log_scale
        Score = −log10(p) / log_scale: 0.5 at p = 10^(−log_scale/2).
    suppress, suppress_decay
        A score not above the decayed maximum of recent scores is multiplied by
        ``1 − suppress`` (one incident fires once); the maximum decays by ``suppress_decay``
        per step.
    tail_mass, tail_scale
        Calibrators fit an exponential tail to the top ``tail_mass`` of each statistic's
        history (scale = mean excess, at least ``tail_scale``).
    adapt_points, adapt_z
        A shift in level larger than ``adapt_z`` scales (or a doubling of volatility) that
        lasts ``adapt_points`` steps is accepted as the new normal.
    counter
        1 forces counter handling, 0 forbids it, −1 detects monotone cumulative series.
    seasonal
        Whether to learn the daily profile and weekday offsets.
    stat_mask
        Bit ``j`` set: statistic ``j`` (see ``layout.S_*``) may raise the score.
    record_mask
        Bit ``j`` set: statistic ``j`` is calibrated in record mode.
    compress
        Non-negative gauges are modelled as ``asinh(value / unit)`` with ``unit`` =
        ``compress`` × their mean over the probe: log-like above the unit, so multiplicative
        (heavy-tailed, load-dependent) noise gets one scale; 0 models raw values.
    novelty_excess
        Novelty gate: a statistic's tail probability is at least that of a new record of
        this series (1 / points remembered within the range seen, falling by e per
        ``novelty_excess`` log units beyond it), so only new extremes can alarm; 0 disables.
        The residual statistics start from their exact record, the others from the upper
        edge of the record's calibrator bin.
    anomaly_weight, anomaly_cut
        ``anomaly_cut`` is the alarm level: the engine sets it to its threshold (a metric's
        own threshold where the configuration gives one). The slow statistics, the stuck
        value and the band are judged against it (each alone must reach it), and a point
        scoring at least this much is counted into the calibrators with only
        ``anomaly_weight`` of a normal point's weight, so one outlier cannot at once make the
        next outliers look usual (anomalies must not poison the calibration either).
    alpha_trend, trend_damping
        The level carries a local trend (per nominal step), learnt from the clipped residual
        at rate ``alpha_trend`` and fading by ``trend_damping`` per step: a level that ramps
        (a daily cycle's flanks, a leak) is forecast where it is going rather than where it
        was, which made the residuals of cycling and ramping series 10–20 % smaller.
    level_days, envelope_days, slow_tail, slow_floor
        Drifts: the *day level* (a mean of the forecast, level and profile, over
        ``level_days``; see ``cycle_in_profile``) is compared with the range of day levels
        the series has shown. The range forms over
        ``envelope_days`` once the day level has settled (a steady slope of at least one
        residual scale per day seen then is kept as normal) and is widened only by an alarm
        or an alarmed level shift, never by the drift itself. A day level beyond the range
        by ``x`` range widths (the width is at least ``slow_floor`` residual scales) has
        tail probability ``e^(−x / slow_tail)``; with the defaults it alarms at 2 widths.
    shape_rate, shape_min, shape_max, shape_edge
        Tail shape of the point and pair statistics: their exact values above
        ``shape_edge`` residual scales give a generalised Pareto shape ξ (moment estimator
        of Dekkers, Einmahl and de Haan), averaged at ``shape_rate`` per excess (0:
        exponential tails, as before state format 8) and kept in
        [``shape_min``, ``shape_max``]. The fitted tail above
        the calibrator's quantile edge then falls as that GPD: slower than exponential on
        heavy-tailed noise (bursty network traffic, ξ ≈ 0.1–0.2), faster on light-tailed
        noise (CPU, latency, ξ ≈ −0.15), so one threshold means more nearly the same
        false-alarm rate on both.
    shape_gate
        Beyond its record edge, the novelty gate of a point or pair statistic falls by e per
        ``max(novelty_excess, shape_gate × ξ)`` log units: the records of a heavy tail
        overshoot the previous one by more (a Pareto tail falls by e per ξ log units), so a
        fixed margin let them through too often; 0 keeps ``novelty_excess`` for every tail.
    alpha_slow, alpha_reference, slow_volatility_tail
        Sustained volatility change: an hours-long mean (rate ``alpha_slow``) of the absolute
        residual is compared with a days-long reference (``alpha_reference``) in units of how
        far it usually wanders from it; the tail probability of a departure of ``x`` such
        units is ``e^(−x / slow_volatility_tail)``.
    alpha_swing, swing_floor, swing_tail
        New cycles: a mean over hours (rate ``alpha_swing``) of how far the forecast (see
        ``cycle_in_profile``) lies from the day level is compared, like the volatility,
        with its days-long reference in units of its usual wander (swings below
        ``swing_floor`` residual scales count as that floor); tail ``e^(−x / swing_tail)``.
        A cycle of hours that appears (a cron job, a changed workload) is followed by the
        fast level, so the residuals stay small while the level's swings grow.
    gap_grace
        Missed points forgiven: a gap of up to ``gap_grace`` missing points is no evidence
        (one missed scrape is routine for a collector, not an incident); a longer gap is
        measured by the time beyond that grace. 0 counts every late point. A gap is
        scored at the point after the one that ended it, and not at all if that point
        repeats the timestamp (the gap's points arrived, stamped together at its end).
    flat_points, flat_margin, flat_share
        A stuck value: on a series where fewer than ``flat_share`` of the points repeat the
        previous value exactly (a long average, ~1,000 points), one value repeated more
        than ``1 + flat_margin`` times as often as in the longest earlier run of repeats
        (and than ``flat_points``) alarms, once per run. A series that never repeats itself
        and suddenly does (a hung exporter re-sending its last sample, a frozen sensor) is
        found after ``(1 + flat_margin) × flat_points`` + 1 repeats. On series whose values
        often stay put (zeros between bursts, low counts, quantised values, a replica
        count) a long run is no evidence of a fault (its length is as random as the quiet
        spells), so they are left out; runs begun in the warm-up are the series' normal,
        and a stuck stretch, once over, is part of the history (a flat spell that recurs
        every night alarms once). ``flat_share`` 0 switches the statistic off.
    rw_ratio, rw_rate, rw_min
        A second forecaster, the random walk (the previous value moved on by its usual
        step), runs beside the level; both forecasts' errors are tracked (root mean
        square at rate ``rw_rate``, one huge error clipped). Once ``rw_min`` points are
        modelled, the random walk's residuals are the ones scored wherever its error is
        below ``rw_ratio`` times the level's (and until it errs more than the level). A
        smoothed level lags series that move smoothly between jumps it cannot foresee
        (memory that leaks and is released, a filling disk, a queue's depth); the previous
        value does not. On the reference fleet memory_used's random walk errs 0.2–0.4
        times as much as the level, every other metric 1.1–1.4 times, so only such series
        change forecaster. The level keeps learning (its day level, swing and shifts feed
        the slow statistics). ``rw_ratio`` 0 keeps the level everywhere.
    far_ranges
        Guard against values far beyond anything the series has shown: a value
        ``far_ranges`` widths of the whole range ever seen (in the series' own units, a
        counter's in its rate) beyond that range scores at least 0.5, one ``far_ranges``²
        widths beyond scores 1, and the band never reaches past it. The calibrated
        statistics read a compressed gauge on a log-like scale, where an idle CPU that
        bursts to 1.5 % now and then holds its bursts as usual and a jump to 100 % is only a
        somewhat larger ratio. On the NAB files no value lies 10 ranges beyond its record
        outside a labelled window; on the simulated fleets the few that do (Student-t
        traffic) alarm already. 0 switches the guard off.
    record_margin
        A value beyond everything the series has shown by at least ``record_margin`` of
        that whole range is a new all-time record. Among ``n`` points whose order carries no
        information, the newest is the largest or the smallest with probability 2/``n``,
        whatever their distribution, so such a value scores at least what p = 2/``n``
        scores, capped just below the alarm cut: a new extreme is worth a look, not a page,
        by itself. The margin keeps a slow climb (one step beyond the last record) and ties
        from counting. 0 switches the floor off.
    seen_rank
        A value inside the whole range the series has ever shown is not new: at least one
        earlier point was as extreme, so among ``n`` points whose order carries no
        information it is at best the ``seen_rank``-th most extreme at one end or the
        other, with probability 2 × ``seen_rank`` / ``n``. Its novelty (a value outside the
        range remembered from the last few days) is priced no rarer than that: a burst of
        a size the series showed a week ago is a residual question, not a new value. On the
        simulated fleets 6–8 % of the false alarms were such values (the weekly burst after
        the 3.5-day range forgot it) and no label depended on one. 0 switches it off.
    unit_records
        The record gate also remembers the largest residual of each side, short residual
        mean and pair in the series' (modelled) units, not only in residual scales: the
        scale narrows over a quiet spell, so the same burst a bursty series showed an hour
        before comes back as a far larger multiple of it and looked new. A burst no larger
        in the series' own units than one remembered is capped like any other seen before.
        Such records are forgotten once ``log(20) / alpha_cal`` points (the calibrators'
        memory) pass without a new one on their side. False switches it off.
    cycle_in_profile
        The daily profile learns the daily cycle itself: the residual plus how far the
        fast level lies from the day level (the part of the cycle the level is carrying),
        as a classical decomposition takes the seasonal part as the value's distance from
        its day-long mean. Learnt from the residual alone, the profile held only the
        level's lag: the level follows a daily cycle within the hour (a simulated
        throughput series' level still swung with the whole cycle on day 13), so its
        residual holds little of the cycle. The day level is then the day-long mean of
        the forecast (level plus profile), which the level alone was while it carried the
        cycle, and the level swing is the forecast's from it. False: the profile learns
        the residual only, and the day level and the swing read the level.
    linear_records
        The point statistics' records in the series' units are kept in its own linear
        units (not on the compressed scale), and their record gate reads only these: how
        many times larger than the largest remembered burst a burst is, in the series'
        units. On the compressed (log-like) scale a burst of a size the series has shown
        looked new when it came at a lower level (a quieter hour, a smaller base rate),
        and the records in residual scales looked new after a quiet spell. Until a side
        has such a record (the first points, or once forgotten) its records in scales
        gate as before. False: records on the modelled scale, and the gate's edge is the
        larger of those and the records in scales.
    anomaly_clip
        A point scoring at least ``anomaly_cut`` is counted into the calibrators no farther
        out than where each statistic would alarm (winsorised at the alarm edge), so one
        glitch cannot widen a fitted tail for days: its excess over the tail's edge had
        entered the tail's mean excess at ``anomaly_weight``, and a later spike 30 σ out
        then scored below the alarm level for up to a week. False: counted where it lies.
    anomaly_record_points
        0 (default): a record in the series' units raised by an alarming point is kept like
        any other (for the calibrators' memory from the last point near it). Above 0: such
        a record is forgotten after that many points unless a normal point comes within a
        calibrator bin's width of it, and alarming points never keep a record alive. A
        series that glitched once then alarms on the next spike of half the glitch's size
        at once, but a bursty series alarms again on each burst that comes after the
        forgotten one (NAB standard 73.40 to 72.85 at 1; ``docs/detection.md``, v39).
    """

    warmup_points: int = 150
    probe_points: int = 30
    alpha_level: float = 0.08
    alpha_scale: float = 0.01
    season_days: float = 7.0
    alpha_mean: float = 0.25
    alpha_vol: float = 0.1
    alpha_cal: float = 0.002
    alpha_envelope: float = 0.001
    clip: float = 3.0
    log_scale: float = 8.1
    suppress: float = 0.5
    suppress_decay: float = 0.99
    tail_mass: float = 0.01
    tail_scale: float = 0.4
    adapt_points: int = 12
    adapt_z: float = 3.0
    counter: int = -1
    seasonal: bool = True
    stat_mask: int = (1 << N_ALL_STATS) - 1
    record_mask: int = 0
    novelty_excess: float = 0.065
    compress: float = 0.03
    alpha_slow: float = 1.0 / 24.0
    alpha_reference: float = 1.0 / 1000.0
    slow_tail: float = 0.17
    slow_floor: float = 0.5
    slow_volatility_tail: float = 0.5
    anomaly_weight: float = 0.3
    anomaly_cut: float = 0.5
    alpha_trend: float = 0.005
    trend_damping: float = 0.99
    level_days: float = 1.0
    envelope_days: float = 2.0
    shape_rate: float = 0.01
    shape_min: float = -0.3
    shape_max: float = 0.4
    shape_edge: float = 2.0
    alpha_swing: float = 1.0 / 48.0
    swing_floor: float = 0.5
    swing_tail: float = 0.4
    shape_gate: float = 0.7
    gap_grace: float = 1.0
    flat_points: int = 10
    flat_margin: float = 1.0
    flat_share: float = 0.05
    rw_ratio: float = 0.45
    rw_rate: float = 0.003
    rw_min: int = 300
    far_ranges: float = 10.0
    record_margin: float = 0.05
    seen_rank: float = 2.0
    unit_records: bool = True
    cycle_in_profile: bool = True
    linear_records: bool = True
    anomaly_clip: bool = True
    anomaly_record_points: float = 0.0
    warmup_hours: float = 12.0

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(name, value, "must be in (0, 1]")
        if not self.season_days > 0.0:
            raise ConfigError("season_days", self.season_days, "must be positive")
        if self.probe_points < 2:
            raise ConfigError("probe_points", self.probe_points, "must be at least 2")
        if self.warmup_points < self.probe_points + 2:
            raise ConfigError(
                "warmup_points",
                self.warmup_points,
                f"must be at least probe_points + 2 ({self.probe_points + 2})",
            )
        if not self.warmup_hours >= 0.0:
            raise ConfigError("warmup_hours", self.warmup_hours, "must be >= 0 (0: points only)")
        if self.counter not in (-1, 0, 1):
            raise ConfigError("counter", self.counter, "must be -1 (auto), 0 or 1")
        if not 0.0 <= self.tail_mass < 1.0:
            raise ConfigError("tail_mass", self.tail_mass, "must be in [0, 1) (0: record mode)")
        if not self.compress >= 0.0:
            raise ConfigError("compress", self.compress, "must be >= 0 (0: off)")
        if not self.novelty_excess >= 0.0:
            raise ConfigError("novelty_excess", self.novelty_excess, "must be >= 0 (0: off)")
        if not 0.0 < self.anomaly_weight <= 1.0:
            raise ConfigError("anomaly_weight", self.anomaly_weight, "must be in (0, 1]")
        for name in (
            "slow_tail", "slow_volatility_tail", "slow_floor", "level_days", "swing_floor",
            "swing_tail",
        ):  # fmt: skip
            if not getattr(self, name) > 0.0:
                raise ConfigError(name, getattr(self, name), "must be positive")
        if not 0.0 <= self.alpha_trend < 1.0:
            raise ConfigError("alpha_trend", self.alpha_trend, "must be in [0, 1) (0: no trend)")
        if not 0.0 < self.trend_damping <= 1.0:
            raise ConfigError("trend_damping", self.trend_damping, "must be in (0, 1]")
        if not self.envelope_days >= 0.0:
            raise ConfigError("envelope_days", self.envelope_days, "must be >= 0")
        if not 0.0 <= self.shape_rate <= 1.0:
            raise ConfigError("shape_rate", self.shape_rate, "must be in [0, 1] (0: off)")
        if not -1.0 < self.shape_min <= 0.0 <= self.shape_max < 1.0:
            raise ConfigError(
                "shape_min",
                (self.shape_min, self.shape_max),
                "need -1 < shape_min <= 0 <= shape_max < 1",
            )
        if not self.shape_edge > 0.0:
            raise ConfigError("shape_edge", self.shape_edge, "must be positive")
        if not self.shape_gate >= 0.0:
            raise ConfigError("shape_gate", self.shape_gate, "must be >= 0 (0: off)")
        if not self.gap_grace >= 0.0:
            raise ConfigError("gap_grace", self.gap_grace, "must be >= 0 (0: every gap counts)")
        if self.flat_points < 1:
            raise ConfigError("flat_points", self.flat_points, "must be at least 1")
        if not self.flat_margin > 0.0:
            raise ConfigError("flat_margin", self.flat_margin, "must be positive")
        if not 0.0 <= self.flat_share <= 1.0:
            raise ConfigError("flat_share", self.flat_share, "must be in [0, 1] (0: off)")
        if not 0.0 <= self.rw_ratio < 1.0:
            raise ConfigError("rw_ratio", self.rw_ratio, "must be in [0, 1) (0: off)")
        if self.rw_min < 0:
            raise ConfigError("rw_min", self.rw_min, "must be >= 0")
        if not (self.far_ranges == 0.0 or self.far_ranges > 1.0):
            raise ConfigError("far_ranges", self.far_ranges, "must be 0 (off) or above 1")
        if not self.record_margin >= 0.0:
            raise ConfigError("record_margin", self.record_margin, "must be >= 0 (0: off)")
        if not self.seen_rank >= 0.0:
            raise ConfigError("seen_rank", self.seen_rank, "must be >= 0 (0: off)")
        if not self.anomaly_record_points >= 0.0:
            raise ConfigError(
                "anomaly_record_points", self.anomaly_record_points, "must be >= 0 (0: off)"
            )
        if not 0.0 < self.anomaly_cut <= 1.0:
            raise ConfigError("anomaly_cut", self.anomaly_cut, "must be in (0, 1]")
        if not self.log_scale > 0.0:
            raise ConfigError("log_scale", self.log_scale, "must be positive")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DetectorParams:
        """Build from an engine config dict, ignoring keys that are not detector knobs."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names})

    def to_array(self) -> np.ndarray:
        """Pack in kernel order (the ``P_*`` constants), then derived constants."""
        knobs = [float(getattr(self, name)) for name in _ORDER]
        mean_norm = math.sqrt((2.0 - self.alpha_mean) / self.alpha_mean)  # sd of an EW mean
        # −log10 p at which one statistic alone reaches the alarm level (Bonferroni over the
        # calibrated ones): a stricter threshold makes the slow statistics wait for a larger
        # change instead of alarming just above 0.5 and never reaching it
        alarm = self.anomaly_cut * self.log_scale + math.log10(N_STATS)
        shape_edge = math.log1p(self.shape_edge)  # as the statistics are stored (log1p)
        # the stuck-value statistic log(run / longest run) alone reaches the alarm level at
        # 1 + flat_margin
        flat_tail = math.log1p(self.flat_margin) / (math.log(10.0) * alarm)
        alarm_p = 10.0**-alarm  # the same level as a probability
        return np.array(
            [*knobs, mean_norm, alarm, shape_edge, flat_tail, alarm_p], dtype=np.float64
        )
