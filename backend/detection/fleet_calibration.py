"""Fleet calibration: one threshold means the same false-alarm rate on every metric.

Each series' detector turns its statistics into tail probabilities under that series' own
history, but beyond the last 1 % it remembers, a tail is extrapolated, and how well depends
on the metric: on the reference fleet a score ≥ 0.5 came 33 times as often on disk I/O
(bursts beyond anything a series remembers) as on latency (light tails). A fleet holds many
series of each metric, so the platform learns, per tenant and metric name, how often the
detector's scores rise to each level (the alarms they would start, not the points: one
incident that holds a score high for an hour is one alarm, as an operator counts them),
and maps every score of a calibrated statistic to the level the whole tenant's scores rise to
equally often: where a metric's alarms come often they are lowered, where they come seldom
they are raised. Like an empirical p-value of the score, it
is learnt from scores already seen (earlier runs, earlier hours of a backfill), never from
the points being mapped. A metric seen little stays near its own scores (a prior of
``prior_points`` points at the tenant's rate), so a tenant of one series is left as it is.

Only the calibrated statistics are mapped: the slow ones (drifts, pattern changes) and a
stuck value have fixed, conservative tails and alarm just above the alarm level (the
threshold the series is scored for, 0.5 by default) by design.

Before the map, each point's residual is also judged against the tenant's pooled residual
tail of its metric (:mod:`backend.detection.fleet_tail`), and its pair (the smaller of it
and the residual before, on one side) against the pooled pair tail: where either makes the
point rarer than its own series' loosely fitted tails did, the point takes the pooled score
(as a residual statistic, up or down, or as the pair). The map then learns from, and maps,
those scores.

Where a group's series all move at once (the first weekend's drop, a fleet-wide deploy),
each point of a fast statistic is finally limited to what its residual *relative to its
peers' move* scores against those pooled tails (:mod:`backend.detection.peer_context`), so
the fleet's move does not alarm on every node while a node that stands out still does.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backend.analytics._timeconv import NS_PER_DAY
from backend.analytics.types import MetricSeries
from backend.detection.fleet_tail import (
    MAX_POINTS,
    Z_LEVELS,
    ResidualTail,
    ResidualTally,
    pair_residuals,
)
from backend.detection.peer_context import bucket_medians, peer_residuals, typical_step
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.detection.streaming.layout import N_STATS
from backend.detection.streaming.params import DetectorParams
from backend.errors import ValidationError

__all__ = [
    "END_HORIZON_NS",
    "LEVELS",
    "QUIET_POINTS",
    "FleetCalibration",
    "ScoreMap",
    "ScoreTally",
    "SeriesEnd",
    "calibrate_batch",
    "fleet_group",
    "recent_peaks",
]

#: Score levels whose alarms are counted (below the lowest, scores shift with it)
LEVELS = np.round(np.arange(0.15, 1.0 + 1e-9, 0.01), 2)
#: A score starts an alarm at a level when none of this many points before it in its
#: series reached that level (an hour at 5-minute sampling)
QUIET_POINTS = 12
# 2: with the pooled residual tails; 3: and the pair tails; 4: the score tallies count
# alarms; 5: and each series' end; 6: with the time of its last point (older: what is
# missing, or counted otherwise, is learnt anew)
_FORMAT = 6
#: A series' end is kept this long after its last point (7 days): a series silent for that
#: long is gone (a replaced pod, a retired node) or starts afresh when it returns, and a
#: fleet that churns series must not grow its calibration document without bound
END_HORIZON_NS = 7 * NS_PER_DAY
_POINT_UP = STATISTIC_NAMES.index("point_up")
_POINT_DOWN = STATISTIC_NAMES.index("point_down")
_PAIR = STATISTIC_NAMES.index("pair")
_CHUNK_NS = 6 * 3600 * 10**9  # a backfill learns every 6 hours, as a live fleet would
# the statistics a peer move can explain (indexed by statistic + 1, so warm-up's −1 is not):
# the calibrated ones read from the residual and the value, not the gap
_PEER_LIMITED = np.array(
    [False] + [i < N_STATS and name != "gap" for i, name in enumerate(STATISTIC_NAMES)]
)


def recent_peaks(values: np.ndarray, before: np.ndarray, quiet: int = QUIET_POINTS) -> np.ndarray:
    """Per point of ``values``, the largest of the ``quiet`` values before it in its series
    (``before``: the series' values preceding ``values[0]``, oldest first; 0 where there
    are none).

    >>> recent_peaks(np.array([0.1, 0.7, 0.2, 0.0]), np.array([0.4]), quiet=2).tolist()
    [0.4, 0.4, 0.7, 0.7]
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or quiet <= 0:
        return np.zeros(values.size)
    before = np.asarray(before, dtype=np.float64)[-quiet:]
    laid = np.concatenate((np.zeros(quiet - before.size), before, values))
    return _running_max(laid, quiet)[: values.size]


@dataclass
class ScoreTally:
    """How many scored points one metric group has seen, and how many alarms started at
    each level (a point reaching it after :data:`QUIET_POINTS` below it)."""

    points: float = 0.0
    onsets: np.ndarray = field(default_factory=lambda: np.zeros(LEVELS.size))

    def add(self, raw: np.ndarray, statistic: np.ndarray, recent: np.ndarray | None = None) -> None:
        """Count the points of a calibrated statistic (the others count as below every
        level) and the alarms they start; ``recent``: each point's :func:`recent_peaks` in
        its series (None: ``raw`` is one series' points, with nothing before them)."""
        values = np.where(_calibrated(np.asarray(statistic)), np.asarray(raw), 0.0)
        if recent is None:
            recent = recent_peaks(values, np.empty(0))
        held = np.minimum(values, recent)  # reaches a level it already held: no new alarm
        self.points += float(values.size)
        self.onsets += _reaching(values) - _reaching(held)
        if self.points > MAX_POINTS:
            self.points *= 0.5
            self.onsets *= 0.5


@dataclass(frozen=True)
class SeriesEnd:
    """Where one series' calibrated scores stood at the end of a run: its last residual (the
    first new point's pair is read with it) and the last :data:`QUIET_POINTS` scores the
    alarm count reads (below every counted level: 0). Carried in the calibration document,
    so a live run of a few new points per series counts and pairs them as one pass over the
    whole series would. ``t_ns``: the time of that last point (0: not known, an end saved
    before format 6), by which ends of series gone silent are dropped."""

    z: float
    peaks: np.ndarray
    t_ns: int = 0

    def to_json(self) -> list[object]:
        """``[z, [peaks], t_ns]``: the peaks below the lowest counted level written as 0."""
        peaks = np.where(self.peaks >= LEVELS[0], self.peaks, 0.0)
        return [float(self.z), [float(p) if p else 0 for p in peaks], int(self.t_ns)]

    @classmethod
    def from_json(cls, body: list[object]) -> SeriesEnd:
        """The end written by :meth:`to_json` (or by format 5, without its time); a
        ``ValueError`` if it is not one."""
        if len(body) == 2:
            body = [*body, 0]
        z, peaks, t_ns = body
        values = np.asarray(peaks, dtype=np.float64)
        if values.shape != (QUIET_POINTS,) or not np.isfinite(values).all():
            raise ValueError(f"series end needs {QUIET_POINTS} finite scores")
        if not isinstance(t_ns, int) or isinstance(t_ns, bool) or t_ns < 0:
            raise ValueError(f"series end's time must be epoch nanoseconds, got {t_ns!r}")
        return cls(float(z), values, t_ns)  # type: ignore[arg-type]


def _reaching(values: np.ndarray) -> np.ndarray:
    """How many ``values`` reach each of :data:`LEVELS` (binned: no sort).

    >>> _reaching(np.array([0.1, 0.15, 0.5, 1.0]))[[0, 1, 35, 85]].tolist()
    [3, 2, 2, 1]
    """
    below = np.searchsorted(LEVELS, values, side="right")  # levels each value reaches
    per_bin = np.bincount(below, minlength=LEVELS.size + 1)
    return np.cumsum(per_bin[::-1])[::-1][1:]


def _at_least_above(onsets: np.ndarray) -> np.ndarray:
    """Alarms per level, as many at a level as at any level above it (an alarm at 0.7 is
    one at 0.5 too). Counted at a lower level, runs merge: a series that holds 0.3 for a
    day starts fewer alarms at 0.3 than its spikes do at 0.6, but the map needs a rate
    that falls with the level."""
    return np.maximum.accumulate(np.asarray(onsets)[::-1])[::-1]


def _calibrated(statistic: np.ndarray) -> np.ndarray:
    return (statistic >= 0) & (statistic < N_STATS)


@dataclass(frozen=True)
class ScoreMap:
    """One group's map: its log rate of alarms and the tenant's, per level."""

    own: np.ndarray
    pooled: np.ndarray

    def apply(self, scores: np.ndarray, statistic: np.ndarray) -> np.ndarray:
        """Map the calibrated statistics' scores (zeros and the others stay as they are)."""
        scores = np.asarray(scores, dtype=np.float64)
        mapped = np.interp(-np.interp(scores, LEVELS, self.own), -self.pooled, LEVELS)
        low = scores < LEVELS[0]  # below the counted levels: shift with the lowest one
        lowest = float(np.interp(-self.own[0], -self.pooled, LEVELS))
        mapped[low] = scores[low] + (lowest - LEVELS[0])
        out = np.where(_calibrated(np.asarray(statistic)), np.clip(mapped, 0.0, 1.0), scores)
        return np.where(scores > 0.0, out, scores)


@dataclass
class FleetCalibration:
    """Per metric group (a tenant's metric name) alarm tallies, and the map they give;
    and per group the pooled residual and pair tails (heard once ``residual_min_series``
    series of the group have been seen together and ``residual_min_points`` points
    counted). Where the median residual of at least ``peer_min_series`` of a group's series
    in one sampling step is ``peer_floor`` scales or more, the fleet moved and each point is
    judged against its peers (:mod:`backend.detection.peer_context`; 0 switches it off)."""

    prior_points: float = 10_000.0
    design_points: float = 10_000.0
    log_scale: float = DetectorParams().log_scale
    groups: dict[str, ScoreTally] = field(default_factory=dict)
    residuals: dict[str, ResidualTally] = field(default_factory=dict)
    pairs: dict[str, ResidualTally] = field(default_factory=dict)
    residual_share: float = 1e-3
    residual_min_points: float = 20_000.0
    residual_min_series: int = 10
    peer_floor: float = 1.0
    peer_min_series: int = 10
    carried: dict[str, SeriesEnd] = field(default_factory=dict)

    def observe(
        self,
        group: str,
        raw: np.ndarray,
        statistic: np.ndarray,
        recent: np.ndarray | None = None,
    ) -> None:
        """Learn from scores of ``group`` (after they were mapped: the map never sees them);
        ``recent``: see :meth:`ScoreTally.add`."""
        self.groups.setdefault(group, ScoreTally()).add(
            np.asarray(raw), np.asarray(statistic), recent
        )

    def observe_residuals(
        self,
        group: str,
        z: np.ndarray,
        statistic: np.ndarray,
        series: int = 1,
        pairs: np.ndarray | None = None,
    ) -> None:
        """Learn the residuals of ``series`` series of ``group`` seen together, and their
        ``pairs`` (:func:`~backend.detection.fleet_tail.pair_residuals` of each series; None:
        of ``z`` as one series). Warm-up points, which have no statistic, are left out."""
        scored = np.asarray(statistic) >= 0
        z = np.asarray(z)
        pairs = pair_residuals(z) if pairs is None else np.asarray(pairs)
        self.residuals.setdefault(group, ResidualTally()).add(z[scored], series)
        self.pairs.setdefault(group, ResidualTally()).add(pairs[scored], series)

    def residual_tails(self, groups: Iterable[str]) -> dict[str, ResidualTail | None]:
        """The pooled residual tail of each group as the tallies stand (None: not heard,
        as the group has not been seen in a fleet, or not for long enough)."""
        return self._tails(self.residuals, groups)

    def pair_tails(self, groups: Iterable[str]) -> dict[str, ResidualTail | None]:
        """The pooled pair tail of each group, heard like :meth:`residual_tails`."""
        return self._tails(self.pairs, groups)

    def _tails(
        self, tallies: dict[str, ResidualTally], groups: Iterable[str]
    ) -> dict[str, ResidualTail | None]:
        tails: dict[str, ResidualTail | None] = {}
        for group in set(groups):
            tally = tallies.get(group)
            if tally is None or not self._pooled_heard(tally):
                tails[group] = None
            else:
                tails[group] = ResidualTail.of(tally, self.residual_share)
        return tails

    def pool(
        self,
        group: str,
        raw: np.ndarray,
        scores: np.ndarray,
        statistic: np.ndarray,
        z: np.ndarray,
        tail: ResidualTail | None,
        pairs: np.ndarray | None = None,
        pair_tail: ResidualTail | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw scores, scores, statistics) with each point's residual also judged against
        the group's pooled ``tail`` (see :meth:`residual_tails`) and its pair (``pairs``,
        see :func:`~backend.detection.fleet_tail.pair_residuals`) against the pooled
        ``pair_tail``: where one is the rarer, the point takes its score."""
        raw = np.asarray(raw, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        statistic = np.asarray(statistic)
        scored = statistic >= 0  # warm-up points keep their zeros
        z = np.asarray(z, dtype=np.float64)
        judged: list[tuple[ResidualTail | None, np.ndarray, np.ndarray | int]] = [
            (tail, z, np.where(z > 0.0, _POINT_UP, _POINT_DOWN))
        ]
        if pair_tail is not None:
            judged.append((pair_tail, pair_residuals(z) if pairs is None else pairs, _PAIR))
        for pooled_tail, values, name in judged:
            if pooled_tail is None:
                continue
            pooled = pooled_tail.scores(np.asarray(values, dtype=np.float64), self.log_scale)
            wins = (pooled > raw) & scored
            if wins.any():
                raw = np.where(wins, pooled, raw)
                scores = np.where(wins, pooled, scores)
                statistic = np.where(wins, name, statistic).astype(statistic.dtype)
        return raw, scores, statistic

    def _pooled_heard(self, tally: ResidualTally) -> bool:
        return tally.series >= self.residual_min_series and tally.points >= self.residual_min_points

    def calibrate(self, group: str, scored: ScoredSeries) -> ScoredSeries:
        """One series' scores as the platform reports them (pooled residual and pair tails,
        then the map), with the tallies as they stand; nothing is learnt."""
        raw, scores, statistic = self.pool(
            group,
            scored.raw_scores,
            scored.scores,
            scored.statistic,
            scored.z,
            self.residual_tails([group])[group],
            pair_tail=self.pair_tails([group])[group],
        )
        score_map = self.score_maps([group])[group]
        if score_map is not None:
            scores = score_map.apply(scores, statistic)
        return dataclasses.replace(scored, raw_scores=raw, scores=scores, statistic=statistic)

    def renormalise(self, group: str, scores: np.ndarray, statistic: np.ndarray) -> np.ndarray:
        """``scores`` mapped to the level the tenant's scores rise to as often as the group's
        rise to them; unchanged where the statistic is not a calibrated one."""
        score_map = self.score_maps([group])[group]
        scores = np.asarray(scores, dtype=np.float64)
        return scores.copy() if score_map is None else score_map.apply(scores, statistic)

    def score_maps(self, groups: Iterable[str]) -> dict[str, ScoreMap | None]:
        """The map of each group as the tallies stand (None: nothing learnt yet)."""
        wanted = set(groups)
        total = sum(t.points for t in self.groups.values())
        if total <= 0.0:
            return dict.fromkeys(wanted)
        onsets = _at_least_above(np.sum([t.onsets for t in self.groups.values()], axis=0))
        # where the tenant's counts are few, its curve follows the design rate of the scores
        # (a score s starts an alarm with probability 10^(−log_scale·s) per point), so sparse
        # counts (a plateau between two counted scores) cannot make the map jump
        design = 10.0 ** (-self.log_scale * LEVELS)
        pooled = (onsets + self.design_points * design) / (total + self.design_points)
        # strictly decreasing, so the inverse is defined where counts plateau
        tiny = 1e-9 * np.arange(LEVELS.size)
        maps: dict[str, ScoreMap | None] = {}
        for group in wanted:
            tally = self.groups.get(group, ScoreTally())
            # the group's own curve, smoothed the same way, then drawn towards the tenant's
            # by the prior: a tenant of one metric maps every score to itself
            counted = _at_least_above(tally.onsets)
            own = (counted + self.design_points * design + self.prior_points * pooled) / (
                tally.points + self.design_points + self.prior_points
            )
            maps[group] = ScoreMap(np.log(own) - tiny, np.log(pooled) - tiny)
        return maps

    def drop_silent_ends(self, now_ns: int, horizon_ns: int = END_HORIZON_NS) -> None:
        """Forget the ends of series whose last point is more than ``horizon_ns`` before
        ``now_ns`` (the newest point a run saw: data time, not the clock). An end of unknown
        time (saved before format 6) is timed ``now_ns``, so it too is dropped if its series
        stays silent."""
        oldest = now_ns - horizon_ns
        for key, end in list(self.carried.items()):
            if end.t_ns == 0:
                self.carried[key] = dataclasses.replace(end, t_ns=now_ns)
            elif end.t_ns < oldest:
                del self.carried[key]

    def to_bytes(self) -> bytes:
        """JSON, for storage next to the detector states."""
        body = {
            "format": _FORMAT,
            "prior_points": self.prior_points,
            "design_points": self.design_points,
            "log_scale": self.log_scale,
            "levels": LEVELS.tolist(),
            "groups": {
                g: {"points": t.points, "onsets": t.onsets.tolist()} for g, t in self.groups.items()
            },
            "z_levels": Z_LEVELS.tolist(),
            "residual_share": self.residual_share,
            "residual_min_points": self.residual_min_points,
            "residual_min_series": self.residual_min_series,
            "peer_floor": self.peer_floor,
            "peer_min_series": self.peer_min_series,
            "residuals": {g: t.to_json() for g, t in self.residuals.items()},
            "pairs": {g: t.to_json() for g, t in self.pairs.items()},
            "carried": {key: end.to_json() for key, end in self.carried.items()},
        }
        return json.dumps(body).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> FleetCalibration:
        """The calibration saved by :meth:`to_bytes`; a typed error if it cannot be read."""
        try:
            body = json.loads(data)
            if body["format"] not in (1, 2, 3, 4, 5, _FORMAT) or body["levels"] != LEVELS.tolist():
                raise ValueError(f"format {body['format']} with other levels")
            # before format 4 the tallies counted points, not alarms: those are learnt anew
            groups = {
                g: ScoreTally(float(t["points"]), np.asarray(t["onsets"], dtype=np.float64))
                for g, t in body["groups"].items()
                if body["format"] >= 4
            }
            calibration = cls(
                float(body["prior_points"]),
                float(body["design_points"]),
                float(body["log_scale"]),
                groups,
            )
            if body["format"] == 1:  # saved before the pooled residual tails: learnt afresh
                return calibration
            if body["z_levels"] != Z_LEVELS.tolist():
                raise ValueError("other residual levels")
            calibration.residuals = {
                g: ResidualTally.from_json(t) for g, t in body["residuals"].items()
            }
            calibration.residual_share = float(body["residual_share"])
            calibration.residual_min_points = float(body["residual_min_points"])
            calibration.residual_min_series = int(body["residual_min_series"])
            # saved before peer context: the defaults
            calibration.peer_floor = float(body.get("peer_floor", cls.peer_floor))
            calibration.peer_min_series = int(body.get("peer_min_series", cls.peer_min_series))
            if body["format"] >= 3:  # format 2 had no pair tails: they are learnt anew
                calibration.pairs = {
                    g: ResidualTally.from_json(t) for g, t in body["pairs"].items()
                }
            # before format 5 no series' ends were carried: the next run starts afresh; format
            # 5's ends have no time, and are timed by the next run that keeps ends
            calibration.carried = {
                key: SeriesEnd.from_json(end) for key, end in body.get("carried", {}).items()
            }
            return calibration
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError("fleet_calibration", "<bytes>", f"unreadable: {exc}") from exc


def fleet_group(series: MetricSeries) -> str:
    """The group a series is calibrated with: its metric name (within its tenant)."""
    return series.metric_name


def calibrate_batch(
    calibration: FleetCalibration,
    batch: Sequence[tuple[str, ScoredSeries]],
    chunk_ns: int = _CHUNK_NS,
    keys: Sequence[str] | None = None,
) -> list[ScoredSeries]:
    """Map a batch of series' scores (e.g. a backfill of a whole fleet) in time order.

    Time is cut into ``chunk_ns`` chunks (6 hours, aligned to UTC midnight); each chunk of
    every series is mapped with what the calibration learnt before that chunk, then learnt
    from. So a score is never mapped with a tally that holds it, and a backfill is
    calibrated much as a live fleet, run every few minutes, would have been.

    ``keys`` (one per series, e.g. ``str(series.key)``) name the series across runs: each
    series' first new points are then paired and counted after where its last run left it
    (:class:`SeriesEnd`, carried in the calibration), and where this run leaves it is kept.
    Without keys each series starts afresh, as a backfill of whole series does. Ends of
    series that have fallen silent are dropped by :meth:`FleetCalibration.drop_silent_ends`,
    once a run (all its batches) is done.
    """
    if keys is not None and len(keys) != len(batch):
        raise ValidationError("keys", len(keys), f"must name each of the {len(batch)} series")
    if not batch:
        return []
    starts = [int(s.timestamps_ns[0]) for _, s in batch if len(s)]
    ends = [int(s.timestamps_ns[-1]) for _, s in batch if len(s)]
    if not starts:
        return [s for _, s in batch]
    mapped = [np.array(s.scores, dtype=np.float64, copy=True) for _, s in batch]
    first = min(starts) // chunk_ns * chunk_ns  # aligned: a resumed run cuts alike
    edges = np.arange(first, max(ends) + chunk_ns + 1, chunk_ns, dtype=np.int64)
    cuts = [np.searchsorted(s.timestamps_ns, edges) for _, s in batch]  # per series, once
    steps = _group_steps(batch)  # the peers' time buckets
    raws = [np.array(s.raw_scores, dtype=np.float64, copy=True) for _, s in batch]
    stats = [np.array(s.statistic, copy=True) for _, s in batch]
    left: list[SeriesEnd | None] = (  # where each series' last run left it
        [None] * len(batch) if keys is None else [calibration.carried.get(key) for key in keys]
    )
    for chunk in range(edges.size - 1):
        spans = [(int(c[chunk]), int(c[chunk + 1])) for c in cuts]
        busy = [group for (group, _), (a, b) in zip(batch, spans, strict=True) if b > a]
        if not busy:
            continue
        maps = calibration.score_maps(busy)
        tails = calibration.residual_tails(busy)
        pair_tails = calibration.pair_tails(busy)
        learnt: dict[str, _Learnt] = {}
        members: dict[str, list[int]] = defaultdict(list)
        for i, ((group, _), (a, b)) in enumerate(zip(batch, spans, strict=True)):
            if b > a:
                members[group].append(i)
        for group, rows in members.items():  # a group's chunk at once: few, long arrays
            parts = [(i, slice(*spans[i])) for i in rows]
            learnt[group] = _calibrate_chunk(
                calibration,
                group,
                parts,
                batch,
                (raws, mapped, stats),
                maps[group],
                (tails[group], pair_tails[group]),
                steps[group],
                left,
            )
        for group, (raw, stat, recent, z, pairs, own, n_series) in learnt.items():  # mapped
            calibration.observe(group, raw, stat, recent)
            calibration.observe_residuals(group, z, own, series=n_series, pairs=pairs)
    if keys is not None:
        for key, (_, scored), raw, stat, end in zip(keys, batch, raws, stats, left, strict=True):
            if len(scored):
                calibration.carried[key] = _series_end(scored, raw, stat, end)
    return [
        dataclasses.replace(s, scores=m, raw_scores=r, statistic=st)
        for (_, s), m, r, st in zip(batch, mapped, raws, stats, strict=True)
    ]


_Learnt = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]


def _calibrate_chunk(
    calibration: FleetCalibration,
    group: str,
    parts: list[tuple[int, slice]],
    batch: Sequence[tuple[str, ScoredSeries]],
    columns: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]],
    score_map: ScoreMap | None,
    tails: tuple[ResidualTail | None, ResidualTail | None],
    step: int,
    ends: Sequence[SeriesEnd | None],
) -> _Learnt:
    """Pool and map one group's points of one chunk (``parts``: series row and its slice)
    in place in ``columns`` (raw scores, scores, statistics), then judge them against their
    peers; ``tails``: the group's pooled residual and pair tails, ``step``: its sampling
    step (ns), ``ends``: per series row where its last run left it (None: nothing before).
    Returns what to learn."""
    raws, mapped, stats = columns
    z = np.concatenate([batch[i][1].z[part] for i, part in parts])
    pairs = _part_pairs(z, parts, batch, ends)
    own = np.concatenate([batch[i][1].statistic[part] for i, part in parts])
    raw, out, stat = calibration.pool(
        group,
        np.concatenate([raws[i][part] for i, part in parts]),
        np.concatenate([mapped[i][part] for i, part in parts]),
        own,
        z,
        tails[0],
        pairs,
        tails[1],
    )
    if score_map is not None:
        out = score_map.apply(out, stat)
    bounds = np.cumsum([0] + [part.stop - part.start for _, part in parts])
    out = _judged_by_peers(calibration, parts, batch, (z, stat, out), score_map, tails, step, ends)
    for (i, part), lo, hi in zip(parts, bounds[:-1], bounds[1:], strict=True):
        raws[i][part], mapped[i][part], stats[i][part] = raw[lo:hi], out[lo:hi], stat[lo:hi]
    recent = _part_recent_peaks(parts, raws, stats, ends)
    return raw, stat, recent, z, pairs, own, len(parts)


def _part_recent_peaks(
    parts: list[tuple[int, slice]],
    raws: list[np.ndarray],
    stats: list[np.ndarray],
    ends: Sequence[SeriesEnd | None],
) -> np.ndarray:
    """Each point's :func:`recent_peaks` within its series, for a group chunk's ``parts``
    (series row and slice; their concatenation's order), read from the series' scores
    as this chunk and the earlier ones left them. One pass over the whole chunk: each part
    is laid out after the :data:`QUIET_POINTS` points before it (its last run's where this
    run has fewer, else uncounted padding), so no window reaches into another series."""
    quiet = QUIET_POINTS
    lengths = np.array([part.stop - part.start for _, part in parts], dtype=np.int64)
    if lengths.sum() == 0:
        return np.zeros(0)
    pad = np.full(quiet, -1, dtype=np.int8)  # "no statistic": counts as 0
    scores: list[np.ndarray] = []
    statistics: list[np.ndarray] = []
    for i, part in parts:
        start = max(part.start - quiet, 0)
        missing = quiet - (part.start - start)
        end = ends[i]
        earlier = np.zeros(missing) if end is None else end.peaks[quiet - missing :]
        scores += [earlier, raws[i][start : part.stop]]
        statistics += [
            pad[:missing] if end is None else np.full(missing, _POINT_UP),  # ends: counted
            stats[i][start : part.stop],
        ]
    laid = np.where(_calibrated(np.concatenate(statistics)), np.concatenate(scores), 0.0)
    peak = _running_max(laid, quiet)  # peak[k]: the largest of laid[k : k + quiet]
    first = np.cumsum(np.r_[0, lengths[:-1] + quiet])  # where each part's window opens
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return peak[np.repeat(first, lengths) + within]


def _running_max(values: np.ndarray, width: int) -> np.ndarray:
    """``out[k]`` = the largest of ``values[k : k + width]`` (by doubling: log2(width)
    passes, not one per point).

    >>> _running_max(np.array([1.0, 5.0, 2.0, 0.0, 3.0]), 3).tolist()
    [5.0, 5.0, 3.0]
    """
    out, span = values, 1
    while span * 2 <= width:
        out = np.maximum(out[:-span], out[span:])
        span *= 2
    if span < width:  # cover the rest with a window shifted to end at width
        out = np.maximum(out[: out.size - (width - span)], out[width - span :])
    return out


def _part_pairs(
    values: np.ndarray,
    parts: list[tuple[int, slice]],
    batch: Sequence[tuple[str, ScoredSeries]],
    ends: Sequence[SeriesEnd | None],
) -> np.ndarray:
    """The pairs of a group chunk's residuals (``values``: its ``parts`` concatenated), each
    series' first point paired with its residual before the chunk (or the run)."""
    bounds = np.cumsum([0] + [part.stop - part.start for _, part in parts])
    return np.concatenate(
        [
            pair_residuals(values[lo:hi], _residual_before(batch[i][1], part, ends[i]))
            for (i, part), lo, hi in zip(parts, bounds[:-1], bounds[1:], strict=True)
        ]
    )


def _residual_before(scored: ScoredSeries, part: slice, end: SeriesEnd | None) -> float:
    if part.start > 0:
        return float(scored.z[part.start - 1])
    return 0.0 if end is None else end.z


def _series_end(
    scored: ScoredSeries, raw: np.ndarray, statistic: np.ndarray, before: SeriesEnd | None
) -> SeriesEnd:
    """Where a series' run leaves it: its last residual, last counted scores and last time."""
    counted = np.where(_calibrated(statistic), raw, 0.0)[-QUIET_POINTS:]
    earlier = np.zeros(QUIET_POINTS) if before is None else before.peaks
    peaks = np.concatenate((earlier, counted))[-QUIET_POINTS:]
    last = int(scored.timestamps_ns[-1])
    return SeriesEnd(float(scored.z[-1]), np.where(peaks >= LEVELS[0], peaks, 0.0), last)


def _group_steps(batch: Sequence[tuple[str, ScoredSeries]]) -> dict[str, int]:
    """Each group's typical sampling step (ns): the width of its peers' time buckets."""
    stamps: dict[str, list[np.ndarray]] = defaultdict(list)
    for group, scored in batch:
        stamps[group].append(scored.timestamps_ns)
    return {group: typical_step(ts) for group, ts in stamps.items()}


def _judged_by_peers(
    calibration: FleetCalibration,
    parts: list[tuple[int, slice]],
    batch: Sequence[tuple[str, ScoredSeries]],
    columns: tuple[np.ndarray, np.ndarray, np.ndarray],
    score_map: ScoreMap | None,
    tails: tuple[ResidualTail | None, ResidualTail | None],
    step: int,
    ends: Sequence[SeriesEnd | None],
) -> np.ndarray:
    """A group chunk's scores (``columns``: residuals, statistics, scores of its ``parts``)
    each limited, where the peers moved, to what it scores relative to their move."""
    z, statistic, scores = columns
    if calibration.peer_floor <= 0.0 or tails[0] is None or step <= 0:
        return scores  # switched off, or no pooled tail yet to judge by
    ts = np.concatenate([batch[i][1].timestamps_ns[part] for i, part in parts])
    relative, moved = _peer_moves(calibration, ts, z, statistic, step)
    if not moved.any():
        return scores
    pair_tail = tails[1]
    limit = tails[0].scores(relative, calibration.log_scale)
    if pair_tail is not None:
        relative_pairs = _part_pairs(relative, parts, batch, ends)
        limit = np.maximum(limit, pair_tail.scores(relative_pairs, calibration.log_scale))
    if score_map is not None:  # mapped like any score of the group
        limit = score_map.apply(limit, np.full(limit.shape, _POINT_UP))
    return np.where(moved, np.minimum(scores, limit), scores)


def _peer_moves(
    calibration: FleetCalibration,
    ts: np.ndarray,
    z: np.ndarray,
    statistic: np.ndarray,
    step: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(residuals relative to the peers' move, the points whose fast statistic a peer move
    of at least ``peer_floor`` may explain)."""
    medians = bucket_medians(ts // step, z, calibration.peer_min_series)
    relative, moved = peer_residuals(z, medians, calibration.peer_floor)
    return relative, moved & _PEER_LIMITED[np.asarray(statistic).astype(np.int64) + 1]
