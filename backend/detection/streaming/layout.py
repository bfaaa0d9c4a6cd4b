"""Where each quantity lives in a detector's flat float64 state vector.

One series' whole state is a single ``float64`` array of :data:`STATE_SIZE` slots, so it can
be saved as bytes, restored bit for bit, and stacked into a 2-D bank for many series. The
indices are plain module constants that numba folds into the compiled kernel.
"""

from __future__ import annotations

__all__ = ["CAL_BINS", "N_DAY_BINS", "N_DOW_BINS", "N_STATS", "STATE_SIZE"]

N_DAY_BINS = 24  # hour-of-day profile (linear interpolation between bin centres)
N_DOW_BINS = 7  # day-of-week offsets

# Surprise statistics, each with its own calibrator
S_POINT_UP = 0  # residual above the forecast
S_POINT_DOWN = 1  # residual below it
S_MEAN_UP = 2  # short mean of residuals, positive side
S_MEAN_DOWN = 3  # ... negative side
S_VOLATILITY = 4  # short mean absolute residual against the usual scale
S_NOVELTY = 5  # value outside the remembered range of values
S_GAP = 6  # time since the previous point against the usual step
S_PAIR = 7  # the smaller of two successive same-signed residuals (a short run beyond the usual)
N_STATS = 8  # statistics with a calibrator (histogram); the slow ones below have a fixed tail
S_SLOW_SHIFT = 8  # the day level beyond the range of day levels seen, in range widths
S_SLOW_VOLATILITY = 9  # hours-long mean absolute residual against its days-long reference
S_SLOW_SWING = 10  # hours-long mean |level − day level| against its days-long reference
S_FLAT = 11  # one exact value repeated for longer than any earlier run of repeats (stuck)
N_ALL_STATS = 12
# The kernel's scratch vector holds the statistics, then the point, mean and pair statistics
# again in residual scales (not log-compressed) for the records in the series' units
X_UNIT = N_ALL_STATS
N_SCRATCH = X_UNIT + 5

# Bookkeeping
I_COUNT = 0  # points modelled (after the counter probe)
I_SEEN = 1  # points read in total
I_T_LAST = 2  # last timestamp, epoch seconds
I_X_LAST = 3  # last raw value
I_STEP = 4  # typical sampling step, seconds
I_MODE = 5  # 0 undecided, 1 gauge, 2 counter
I_UPS = 6  # rises during the probe
I_DOWNS = 7  # falls during the probe
# After the probe its counts are never read again; their slots then cache, per point side
# (up, down), the factor e^(margin) by which the record gate's alarm lies beyond its edge
I_GATE_FACTOR_UP = I_UPS
I_GATE_FACTOR_DOWN = I_DOWNS
# Baseline
I_LEVEL = 8
I_SCALE = 9  # robust residual scale (mean absolute deviation)
I_MEAN = 10  # short EW mean of residuals
I_VOL = 11  # short EW mean of absolute residuals
I_ENV_HIGH = 12  # slowly relaxing maximum of values seen
I_ENV_LOW = 13  # slowly relaxing minimum of values seen
I_SHIFT_RUN = 14  # steps a mean shift has persisted
I_VOL_RUN = 15  # steps a volatility change has persisted
I_RECENT = 16  # decayed maximum of recent raw scores (alarm suppression)
I_MAGNITUDE = 17  # slow EW mean of |value| (sets the scale floor of flat series)
I_CAL_WEIGHT = 18  # weight the next calibrator count gets (grows, so old counts fade)
I_CAL_TOTAL = 19  # total weight in each calibrator histogram
I_REC_LP = 20  # log10 p of a record: 1 / (points the calibrators remember)
I_CAP_UP = 21  # cached band above the forecast, z units (fitted tail and novelty gate)
I_CAP_DOWN = 22  # ... and below it
I_UNIT = 23  # unit of the asinh compression of a gauge's values (0: values used as they are)
I_FIT = 24  # cached fit per statistic: (edge, log10 p there, excess, record edge)
FIT_WIDTH = 4
# Calibrators: one histogram per statistic over log-compressed values
CAL_BINS = 47  # 47 (not 48) leaves room for the random walk within 4 KB
CAL_BIN_WIDTH = 0.3
I_CAL = I_FIT + FIT_WIDTH * N_STATS
I_DAY = I_CAL + N_STATS * CAL_BINS
I_DOW = I_DAY + N_DAY_BINS
# Slow change (drifts, sustained level and volatility changes the fast baseline has absorbed)
I_SLOW = I_DOW + N_DOW_BINS  # the day level: a day-long EW mean of the forecast
I_LEVEL_HIGH = I_SLOW + 1  # the highest day level of the series' normal history
I_LEVEL_LOW = I_SLOW + 2  # ... and the lowest
I_SLOW_VOL = I_SLOW + 3  # hours-long EW mean of |residual| (then its reference and wander:
# the kernel reads each such triple as adjacent slots)
I_REF_VOL = I_SLOW + 4  # days-long EW mean of |residual|
I_VOL_DEV = I_SLOW + 5  # days-long EW mean of |log(slow vol / reference vol)|
I_NOVEL = I_SLOW + 6  # cached novelty at which that statistic alone scores 0.5 (linear units)
I_Z_LAST = I_SLOW + 7  # the previous point's residual in scales (for the pair statistic)
I_TREND = I_SLOW + 8  # local trend of the level per nominal step (damped)
I_LEVEL_ORIGIN = I_SLOW + 9  # the day level when its range started to form
I_LEVEL_SLOPE = I_SLOW + 10  # its slope over the forming range (per second)
# Tail shape of the point and pair statistics: per statistic the count, mean and mean square
# of its log excesses over the shape edge, then the shape (xi) they give
SHAPE_STATS = (S_POINT_UP, S_POINT_DOWN, S_PAIR)
I_TAIL_MOMENTS = I_SLOW + 11
I_SHAPE = I_TAIL_MOMENTS + 3 * len(SHAPE_STATS)
# How far the forecast swings around the day level (a new cycle the fast level follows)
I_SWING = I_SHAPE + len(SHAPE_STATS)  # hours-long EW mean of |forecast − day level|
I_REF_SWING = I_SWING + 1  # days-long EW mean of the same
I_SWING_DEV = I_SWING + 2  # days-long EW mean of |log(swing / reference swing)|
I_ALARM_T = I_SWING + 3  # time of the last alarm (epoch seconds; 0: none yet)
# Repeats of one exact value (a stuck exporter, a metric flatlined)
I_FLAT_RUN = I_SWING + 4  # repeats of the current value so far (0: it just changed)
I_FLAT_LONGEST = I_SWING + 5  # longest run of repeats that has ended (or begun in warm-up)
I_FLAT_SHARE = I_SWING + 6  # share of points that repeat the previous value (EW mean)
# A second forecaster: the previous value moved on by its usual step (a random walk with
# drift), used where it forecasts markedly better than the level (a sawtooth, a random walk)
I_V_LAST = I_SWING + 7  # the previous modelled value
I_RW_DRIFT = I_SWING + 8  # EW mean of the (clipped) step between modelled values
I_RW_ERR = I_SWING + 9  # EW mean |residual| of the random-walk forecast
I_LV_ERR = I_SWING + 10  # EW mean |residual| of the level forecast
I_RW_ON = I_SWING + 11  # 1: the random walk forecasts
I_LV_MEAN = I_SWING + 12  # short EW mean of the level's residual (while the random walk scores)
# The widest the series has ever been, in its own units (a counter's: its rate), for the
# guard against values far beyond anything it has shown (``far_ranges``)
I_MAX_SEEN = I_SWING + 13
I_MIN_SEEN = I_SWING + 14
# The gap before the previous point (the gap statistic's value), judged one point late: if
# the next point repeats a timestamp, the gap's points did arrive, stamped together at its
# end (a local clock's spring-forward hour converted to 03:00), and no data was missing
I_GAP_PENDING = I_SWING + 15
# The record gate's records in the series' modelled units (``unit_records``): the largest
# point up, point down, short mean up, short mean down and pair residual remembered, then
# for each side (up, down, pair) the point count at which a residual last came within a
# calibrator bin's width of its records
I_UNIT_RECORD = I_SWING + 16
UNIT_RECORD_STATS = (S_POINT_UP, S_POINT_DOWN, S_MEAN_UP, S_MEAN_DOWN, S_PAIR)
UNIT_RECORD_SIDE = (0, 1, 0, 1, 2)  # each record's side: up, down, pair
UNIT_RECORD_OF = (0, 1, 2, 3, -1, -1, -1, 4)  # per calibrated statistic: its record, or -1
I_UNIT_RECORD_AT = I_UNIT_RECORD + len(UNIT_RECORD_STATS)
STATE_SIZE = I_UNIT_RECORD_AT + 3
