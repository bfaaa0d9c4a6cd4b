"""Incremental detection over stored data: each run scores only the points that arrived since
the previous run, resuming every series' streaming detector from its saved state.

Data flow: storage → engine (streaming scores) → explanation → thresholds → results stored →
node/cluster/tenant roll-ups stored. Engines without streaming state (Merlion, multivariate)
are run with :meth:`AnomalyDetectionEngine.detect` over the new points and their context, and
report the windows that reach the new points. An anomaly still going on when a run ends is
continued by the next run rather than reported again (:mod:`backend.detection.continuation`).
"""

from __future__ import annotations

import functools
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from backend.analytics._timeconv import NS_PER_SECOND, from_epoch_ns, to_epoch_ns
from backend.analytics.aggregation import AggregationOutcome, AggregationPipeline
from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.detection_pipeline import DetectionPipelineStats
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.engine_support import is_counter, rate_series
from backend.analytics.limits import MetricLimit, apply_limit
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.detection.continuation import (
    SETTLE_POINTS,
    as_result,
    continue_stored,
    held_level,
    join_adjacent,
    retold,
    settle,
    stored_between,
)
from backend.detection.default_engine import DefaultAnomalyEngine, rate_view
from backend.detection.fleet_calibration import FleetCalibration, calibrate_batch, fleet_group
from backend.detection.jump_back import absorb_jumps_back
from backend.detection.state import dump_state, load_state
from backend.detection.streaming.detector import ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import AboutCloudError, ValidationError
from backend.storage.interface import StorageBackend

__all__ = [
    "DetectionRunReport",
    "IncrementalDetector",
    "fleet_calibration_key",
    "fleet_calibration_name",
    "load_fleet_calibration",
    "scored_until",
]

_CURSOR = struct.Struct("<q")
_NEVER = -(2**63)
ProgressCallback = Callable[[int, int], None]


@dataclass
class DetectionRunReport:
    """What one incremental run did."""

    tenant_id: str
    series_processed: int = 0
    series_skipped: int = 0
    points_scored: int = 0
    #: series whose saved detector state could not be used (written by an older release, or
    #: under other hyperparameters): relearnt from the stored history before the cursor
    states_relearnt: int = 0
    #: series whose last scored point is still in the engine's warm-up or learning period
    #: (young series: nothing of theirs alarms yet)
    series_learning: int = 0
    results: list[AnomalyResult] = field(default_factory=list)
    aggregation: AggregationOutcome | None = None
    stats: DetectionPipelineStats = field(default_factory=DetectionPipelineStats)
    seconds: float = 0.0

    @property
    def anomalies(self) -> list[AnomalyResult]:
        """The anomalous results found in this run."""
        return [r for r in self.results if r.is_anomaly]


class IncrementalDetector:
    """Runs detection for one tenant's new data and stores results and roll-ups.

    Parameters
    ----------
    storage:
        Where series are read from and results, scores and detector state are written.
    engine:
        The engine; the default streaming engine is resumed from saved state.
    config:
        Thresholds and limits (per metric, with each tenant's overrides); defaults to the
        process-wide :func:`get_config`.
    context:
        How much history before the new points the explanation may look at (and a brand-new
        detector warms up on when ``since`` is given, or when a saved state cannot be used).
    horizon:
        The recent span whose worst score stands for each series in the roll-ups.
    fleet_calibration:
        Map the default engine's scores with the tenant's fleet calibration, learnt from
        earlier scores of the same metric on other series, so one threshold means the same
        on every metric (:mod:`backend.detection.fleet_calibration`).
    explain_context:
        How much history before its new points a series with an anomaly to tell is read
        again with, so the explanation can compare with the same hour yesterday or last
        week (a week and a day by default); series with nothing to tell are not.
    batch_series:
        Series scored before their scores are mapped and stored: within a batch, time is
        calibrated 6 hours at a time; a later batch of a backfill is mapped with what the earlier
        batches' whole span taught (other series, never its own points).
    """

    def __init__(
        self,
        storage: StorageBackend,
        engine: AnomalyDetectionEngine | None = None,
        config: DetectionConfig | None = None,
        context: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(hours=1),
        aggregation: AggregationPipeline | None = None,
        fleet_calibration: bool = True,
        batch_series: int = 2000,
        explain_context: timedelta = timedelta(days=8),
    ) -> None:
        self.storage = storage
        self.explain_context = explain_context
        self.fleet_calibration = fleet_calibration
        self.batch_series = batch_series
        self.engine = engine if engine is not None else DefaultAnomalyEngine()
        self.config = config
        self.context = context
        self.horizon = horizon
        self.aggregation = aggregation if aggregation is not None else AggregationPipeline()
        self._run_config: DetectionConfig | None = None

    def run(
        self,
        tenant_id: str,
        cluster_id: str | None = None,
        since: Any = None,
        reset: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DetectionRunReport:
        """Score every series of the tenant (or one cluster) from where the last run stopped.

        ``since`` bounds the first run of a series (older points only warm the detector up);
        ``reset`` forgets saved state so the range from ``since`` is scored again (backfill).
        The default engine's scores are then mapped with the tenant's fleet calibration
        (:mod:`backend.detection.fleet_calibration`), in batches of ``batch_series`` series.
        """
        started = time.perf_counter()
        self._run_config = self.config or get_config()  # one configuration for the whole run
        report = DetectionRunReport(tenant_id)
        keys = self.storage.list_series(tenant_id, cluster_id)
        since_ns = None if since is None else to_epoch_ns(since)
        summaries: list[AnomalyResult] = []
        calibration = self._load_calibration(tenant_id, fresh=reset)
        batch: list[_Pending] = []
        newest_ns = 0  # the newest point this run scored: what "silent" is judged against
        reads = self._with_saved_states(tenant_id, keys, reset, since_ns)
        for done, (key, read) in enumerate(reads, 1):
            try:
                if isinstance(read, AboutCloudError):
                    raise read
                outcome = self._run_series(read)
            except AboutCloudError as exc:
                report.stats.errors.append(f"{key}: {type(exc).__name__}: {exc}")
                continue
            finally:
                if progress is not None:
                    progress(done, len(keys))
            report.states_relearnt += outcome.relearnt
            if outcome.series is None:
                report.series_skipped += 1
            elif outcome.pending is not None:
                batch.append(outcome.pending)
                scored = outcome.pending.scored
                if len(scored):
                    newest_ns = max(newest_ns, int(scored.timestamps_ns[-1]))
                    report.series_learning += int(scored.statistic[-1] < 0)
            else:
                self._count(report, summaries, outcome.results, outcome.summary, outcome.points)
            if len(batch) >= self.batch_series:
                self._finish(batch, calibration, report, summaries)
                batch = []
        self._finish(batch, calibration, report, summaries)
        if calibration is not None and report.series_processed:
            if newest_ns:  # series silent for days are gone: their ends go with them
                calibration.drop_silent_ends(newest_ns)
            self.storage.save_detector_state(
                fleet_calibration_key(tenant_id),
                fleet_calibration_name(self.engine),
                calibration.to_bytes(),
            )
        self._store(tenant_id, report, summaries)
        report.seconds = time.perf_counter() - started
        return report

    def _with_saved_states(
        self, tenant_id: str, keys: Sequence[SeriesKey], reset: bool, since_ns: int | None
    ) -> Iterator[tuple[SeriesKey, _Read | AboutCloudError]]:
        """Each key with its saved state (None: none, or a reset) and the points it needs,
        states read :data:`_STATES_PER_READ` keys at a time and series
        :data:`_SERIES_PER_READ` at a time; a read that failed stands in for its keys, so
        they are reported rather than scored as new series."""
        for first in range(0, len(keys), _STATES_PER_READ):
            chunk = keys[first : first + _STATES_PER_READ]
            try:
                saved = {} if reset else self.storage.load_detector_states(self._state_name, chunk)
            except AboutCloudError as exc:
                yield from ((key, exc) for key in chunk)
                continue
            for part in range(0, len(chunk), _SERIES_PER_READ):
                yield from self._with_series(
                    tenant_id, chunk[part : part + _SERIES_PER_READ], saved, since_ns
                )

    def _with_series(
        self,
        tenant_id: str,
        keys: Sequence[SeriesKey],
        saved: dict[SeriesKey, bytes],
        since_ns: int | None,
    ) -> Iterator[tuple[SeriesKey, _Read | AboutCloudError]]:
        """The keys with their states and points: series that resume from the same cursor
        (all of them, in a steady run of ticks) are read in one batch."""
        starts = {key: _start_ns(saved.get(key), since_ns) for key in keys}
        context_ns = int(self.context.total_seconds() * NS_PER_SECOND)
        groups: dict[int | None, list[SeriesKey]] = {}
        for key in keys:
            start = starts[key]
            groups.setdefault(None if start == _NEVER else start - context_ns, []).append(key)
        found: dict[SeriesKey, MetricSeries | AboutCloudError] = {}
        for fetch_ns, group in groups.items():
            fetch_from = None if fetch_ns is None else from_epoch_ns(fetch_ns)
            try:
                found.update(self.storage.get_metric_series_batch(tenant_id, group, fetch_from))
            except AboutCloudError as exc:
                found.update(dict.fromkeys(group, exc))
        for key in keys:
            series = found.get(key)
            if isinstance(series, AboutCloudError):
                yield key, series
            else:
                yield key, _Read(saved.get(key), starts[key], series)

    @staticmethod
    def _count(
        report: DetectionRunReport,
        summaries: list[AnomalyResult],
        found: list[AnomalyResult],
        summary: AnomalyResult | None,
        points: int,
    ) -> None:
        report.series_processed += 1
        report.points_scored += points
        report.results.extend(found)
        if summary is not None:
            summaries.append(summary)

    def _finish(
        self,
        batch: list[_Pending],
        calibration: FleetCalibration | None,
        report: DetectionRunReport,
        summaries: list[AnomalyResult],
    ) -> None:
        """Map a batch's scores with the fleet calibration, then windows, kinds and storage;
        the detectors' states are saved only once their results are (a failure rescores
        them)."""
        engine = self.engine
        if not batch or not isinstance(engine, DefaultAnomalyEngine):
            return
        scores = [p.scored for p in batch]
        if calibration is not None:
            scores = calibrate_batch(
                calibration,
                [(fleet_group(p.series), p.scored) for p in batch],
                keys=[str(p.series.key) for p in batch],  # the next run goes on from here
            )
        done: list[tuple[_Pending, ScoredSeries, list[AnomalyResult]]] = []
        superseded: list[AnomalyResult] = []
        settled: list[AnomalyResult] = []  # earlier anomalies told again: stored, not counted
        try:
            recent = self._recent(report.tenant_id, batch)
        except AboutCloudError as exc:
            self._failed(report, calibration, batch, exc)
            return
        try:
            longer = self._longer(report.tenant_id, batch, scores, recent)
        except AboutCloudError as exc:
            self._failed(report, calibration, batch, exc)
            return
        for pending, scored in zip(batch, scores, strict=True):
            series = longer.get(pending.series.key, pending.series)
            try:
                told = self._continued(
                    series,
                    series.length - len(scored),
                    self._results(engine, series, scored),
                    functools.partial(rate_view, series, scored),
                    recent.get(series.key, []),
                )
            except AboutCloudError as exc:
                self._failed(report, calibration, [pending], exc)
                continue
            done.append((pending, scored, told.results))
            superseded += told.superseded
            settled += told.settled
        if not done:
            return
        try:  # the batch's results, then its states, each in one write
            found = [result for _, _, results in done for result in results]
            if found or superseded:
                self.storage.replace_anomaly_results(report.tenant_id, superseded, found + settled)
            self.storage.save_detector_states(
                self._state_name, {p.series.key: p.state for p, _, _ in done}
            )
        except AboutCloudError as exc:
            self._failed(report, calibration, [p for p, _, _ in done], exc)
            return
        for pending, scored, results in done:
            summary = self._summary(pending.series, scored, results)
            self._count(report, summaries, results, summary, len(scored))

    @staticmethod
    def _failed(
        report: DetectionRunReport,
        calibration: FleetCalibration | None,
        failed: list[_Pending],
        exc: AboutCloudError,
    ) -> None:
        """Report series whose results or states could not be stored: their states are not
        saved, so the next run scores their points again (and does not go on from them)."""
        for pending in failed:
            report.stats.errors.append(f"{pending.series.key}: {type(exc).__name__}: {exc}")
            if calibration is not None:
                calibration.carried.pop(str(pending.series.key), None)

    # --- one series ----------------------------------------------------------------------
    def _run_series(self, read: _Read) -> _Outcome:
        """Score one series' new points from its saved state (None: none, or a reset) and
        save its detector; the stateless engines also produce their results here, the
        default engine's wait for the fleet calibration."""
        series, saved, start_ns = read.series, read.saved, read.start_ns
        if series is None:  # gone since the run listed it
            return _Outcome()
        ts = series.timestamps_ns
        first_new = int(np.searchsorted(ts, start_ns, side="left")) if start_ns != _NEVER else 0
        if first_new >= ts.shape[0]:
            return _Outcome()
        if not isinstance(self.engine, DefaultAnomalyEngine):
            found, summary, points = self._run_stateless(series, first_new)
            return _Outcome(series, None, found, summary, points)
        self.engine.validate_input(series)  # e.g. a counter's values must be >= 0
        # the alarm level (the metric's threshold) and a counter's params differ from the
        # engine's own
        params = self.engine.params_for(series, self._threshold(series))
        detector = _restore(saved, params)
        relearnt = saved is not None and detector is None
        if detector is None:  # warm up on the history before the new points (the context)
            detector = StreamingDetector(params)
            if first_new > 0:
                detector.score(ts[:first_new], series.values_array[:first_new])
        scored = detector.score(ts[first_new:], series.values_array[first_new:])
        state = _CURSOR.pack(int(ts[-1])) + dump_state(detector)
        return _Outcome(series, _Pending(series, scored, state), relearnt=relearnt)

    # --- fleet calibration ---------------------------------------------------------------
    def _load_calibration(self, tenant_id: str, fresh: bool) -> FleetCalibration | None:
        """The tenant's calibration (new if none, if it cannot be read, or on a ``fresh``
        start: a reset rescores what it had learnt from); None when the engine has none or
        it is switched off."""
        if not (self.fleet_calibration and isinstance(self.engine, DefaultAnomalyEngine)):
            return None
        saved = None if fresh else load_fleet_calibration(self.storage, self.engine, tenant_id)
        return saved or FleetCalibration(log_scale=self.engine.params.log_scale)

    @property
    def _state_name(self) -> str:
        return _state_name(self.engine)

    def _threshold(self, series: MetricSeries) -> float:
        """The series' metric threshold: the level it is scored for and its windows cut at."""
        return self._config_for(series.tenant_id).get_threshold_for_metric(
            series.metric_name, calibrated=self.engine.calibrated_per_series
        )

    def _results(
        self, engine: DefaultAnomalyEngine, series: MetricSeries, scored: ScoredSeries
    ) -> list[AnomalyResult]:
        results = engine.results_from_scores(series, scored, threshold=self._threshold(series))
        return self._with_limit(series, results, series.length - len(scored))

    def _with_limit(
        self, series: MetricSeries, results: list[AnomalyResult], first_new: int
    ) -> list[AnomalyResult]:
        """``results`` with the breaches of the metric's static limit among the new points."""
        rule = self._breach_rule(series)[0]
        return results if rule is None else apply_limit(series, results, *rule, first=first_new)

    def _continued(
        self,
        series: MetricSeries,
        first_new: int,
        results: list[AnomalyResult],
        told: Callable[[], MetricSeries],
        recent: Sequence[AnomalyResult] | None = None,
    ) -> _Told:
        """``results`` with an anomaly still going on since the previous run joined to the
        stored part it continues, and the stored anomalies that ended lately told again now
        that the points after them are in (:mod:`backend.detection.continuation`).

        ``told`` gives the series as the engine modelled it (a counter as its rate), built
        only when there is an anomaly to tell again; ``recent`` are the series' stored
        anomalies that end within :func:`_recent_from` (queried when None)."""
        if recent is not None and not recent and not any(r.is_anomaly for r in results):
            return _Told(results)  # most series of a tick: nothing to join or tell again
        rule, keep_ns = self._breach_rule(series)
        if recent is None and first_new > 0:
            since = _recent_from(series, first_new, keep_ns)
            recent = stored_between(self.storage, series, since, int(series.timestamps_ns[-1]))
        recent = recent or []
        if not recent and not any(r.is_anomaly for r in results):
            return _Told(results)
        retell = retold(series, told(), rule)
        joined = join_adjacent(series, results, retell)
        gap = self.engine.merge_gap_points if isinstance(self.engine, DefaultAnomalyEngine) else 0
        joined, replaced = continue_stored(
            self.storage, series, first_new, joined, retell, keep_ns, gap, recent
        )
        gone = {(r.window_start, r.window_end) for r in replaced}
        left = [r for r in recent if (r.window_start, r.window_end) not in gone]
        newer = {id(old): new for old, new in settle(series, first_new, left, retell)}
        stored_now = [newer.get(id(r), r) for r in left]
        spans = (0, 0, 0)
        if isinstance(self.engine, DefaultAnomalyEngine):
            spans = self.engine.jump_back_spans(series)
        # a jump back, stored or new, joins the excursion it ends (backend/detection/jump_back.py)
        merged = absorb_jumps_back([*stored_now, *joined], *spans)
        superseded, store = list(replaced), []
        for old, after in zip(left, merged[: len(left)], strict=True):
            if after is not old:  # told again, grown by a jump back, or absorbed into one
                superseded.append(old)
                if after is not None:
                    store.append(after)
        found = [r for r in merged[len(left) :] if r is not None]
        return _Told(found, superseded, store)

    def _breach_rule(self, series: MetricSeries) -> tuple[tuple[MetricLimit, float] | None, int]:
        """The series' limit and breach score (None without one), and how long in ns the
        limit keeps firing after a breach."""
        rule = self._config_for(series.tenant_id).breach_rule(
            series.metric_name, calibrated=self.engine.calibrated_per_series
        )
        keep_ns = 0 if rule is None else int(rule[0].keep_firing_seconds * NS_PER_SECOND)
        return rule, keep_ns

    def _longer(
        self,
        tenant_id: str,
        batch: Sequence[_Pending],
        scores: Sequence[ScoredSeries],
        recent: dict[SeriesKey, list[AnomalyResult]],
    ) -> dict[SeriesKey, MetricSeries]:
        """The batch's series that have an anomaly to tell (a new alarm, or a stored one to
        continue or tell again), read again with :attr:`explain_context` of history, batch by
        batch; a series whose read does not end with exactly its scored points keeps the
        points it was scored with."""
        wanted: dict[int, list[tuple[SeriesKey, ScoredSeries]]] = {}
        context_ns = int(self.explain_context.total_seconds() * NS_PER_SECOND)
        for pending, scored in zip(batch, scores, strict=True):
            series = pending.series
            if not len(scored):
                continue
            last = int(scored.timestamps_ns[-1])
            if int(series.timestamps_ns[0]) <= last - context_ns:
                continue  # the points read already reach back far enough
            if recent.get(series.key) or bool(np.any(scored.scores >= self._threshold(series))):
                wanted.setdefault(last, []).append((series.key, scored))
        found: dict[SeriesKey, MetricSeries] = {}
        for last, items in wanted.items():
            for first in range(0, len(items), _SERIES_PER_READ):
                part = items[first : first + _SERIES_PER_READ]
                read = self.storage.get_metric_series_batch(
                    tenant_id,
                    [key for key, _ in part],
                    from_epoch_ns(last - context_ns),
                    from_epoch_ns(last),
                )
                for key, scored in part:
                    again = read.get(key)
                    if again is not None and np.array_equal(
                        again.timestamps_ns[-len(scored) :], scored.timestamps_ns
                    ):
                        found[key] = again
        return found

    def _recent(
        self, tenant_id: str, batch: Sequence[_Pending]
    ) -> dict[SeriesKey, list[AnomalyResult]]:
        """The stored anomalies of the batch's series that a run may continue or tell again,
        in one query (a run of ticks resumes every series from about the same point), and
        the level shifts still held before that (:func:`held_level`), in a second one that
        skips the normal windows."""
        spans = []
        for pending in batch:
            series = pending.series
            first_new = series.length - len(pending.scored)
            if first_new > 0:
                keep_ns = self._breach_rule(series)[1]
                since = _recent_from(series, first_new, keep_ns)
                held_from = min(since, int(series.timestamps_ns[0]))  # a held level's reach
                spans.append((since, held_from, int(series.timestamps_ns[first_new - 1])))
        if not spans:
            return {}
        since = min(a for a, _, _ in spans)
        rows = self.storage.query_anomalies(
            tenant_id,
            from_epoch_ns(since),
            from_epoch_ns(max(b for _, _, b in spans)),
            min_score=0.0,
        )
        held_from = min(h for _, h, _ in spans)
        if held_from < since:  # an anomaly scores at least its series' threshold
            lowest = min(self._threshold(p.series) for p in batch)
            older = self.storage.query_anomalies(
                tenant_id, from_epoch_ns(held_from), from_epoch_ns(since - 1), min_score=lowest
            )
            rows += [row for row in older if to_epoch_ns(row["window_end"]) < since]
        results = [as_result(row) for row in rows if row["anomaly_label"] != "normal"]
        # a held level's later alarms stay in reach: once it comes back, they join it
        held_since: dict[SeriesKey, int] = {}
        for result in results:
            if held_level(result):
                start = to_epoch_ns(result.window_start)
                held_since[result.key] = min(held_since.get(result.key, start), start)
        found: dict[SeriesKey, list[AnomalyResult]] = {}
        for result in results:
            held = held_since.get(result.key)
            in_reach = held is not None and to_epoch_ns(result.window_start) >= held
            if to_epoch_ns(result.window_end) >= since or in_reach:
                found.setdefault(result.key, []).append(result)
        return found

    def _run_stateless(
        self, series: MetricSeries, first_new: int
    ) -> tuple[list[AnomalyResult], AnomalyResult | None, int]:
        new_from = series.timestamps_ns[first_new]
        found = [r for r in self.engine.detect(series) if to_epoch_ns(r.window_end) >= new_from]
        found = self._with_limit(series, found, first_new)
        told = self._continued(
            series, first_new, found, lambda: rate_series(series) if is_counter(series) else series
        )
        found, superseded = told.results, told.superseded
        self.storage.replace_anomaly_results(series.tenant_id, superseded, found + told.settled)
        last = series.timestamps_ns[-1]
        self.storage.save_detector_state(series.key, self._state_name, _CURSOR.pack(int(last)))
        worst = max(found, key=lambda r: r.anomaly_score, default=None)
        summary = worst or self._normal_summary(series, 0.0)
        return found, summary, series.length - first_new

    # --- roll-ups ------------------------------------------------------------------------
    def _summary(
        self, series: MetricSeries, scored: ScoredSeries, results: Sequence[AnomalyResult]
    ) -> AnomalyResult:
        """The series' current standing: its worst anomaly in the horizon, else normal."""
        horizon_ns = int(scored.timestamps_ns[-1]) - int(self.horizon.total_seconds() * 1e9)
        recent = [r for r in results if to_epoch_ns(r.window_end) >= horizon_ns]
        if recent:
            return max(recent, key=lambda r: r.anomaly_score)
        in_horizon = scored.scores[scored.timestamps_ns >= horizon_ns]
        return self._normal_summary(series, float(in_horizon.max()) if in_horizon.size else 0.0)

    def _normal_summary(self, series: MetricSeries, score: float) -> AnomalyResult:
        first = from_epoch_ns(int(series.timestamps_ns[0]), series.aware)
        last = from_epoch_ns(int(series.timestamps_ns[-1]), series.aware)
        return AnomalyResult(*series.key, first, last, min(max(score, 0.0), 1.0), "normal")

    def _store(
        self, tenant_id: str, report: DetectionRunReport, summaries: list[AnomalyResult]
    ) -> None:
        config = self._config_for(tenant_id)
        report.stats.metrics_processed = report.series_processed
        report.stats.points_scored = report.points_scored
        report.stats.anomalies_detected = len(report.anomalies)
        report.stats.critical_anomalies = sum(
            config.is_critical(r.anomaly_score) for r in report.anomalies
        )
        if not summaries:
            return
        report.aggregation = self.aggregation.run(summaries)
        try:
            self.storage.store_aggregated_scores(report.aggregation.all_scores())
        except AboutCloudError as exc:
            report.stats.storage_errors += 1
            report.stats.errors.append(f"storing scores failed: {type(exc).__name__}: {exc}")

    def _config_for(self, tenant_id: str) -> DetectionConfig:
        """The tenant's thresholds and limits (its overrides of the configuration the run
        started with)."""
        return (self._run_config or self.config or get_config()).for_tenant(tenant_id)


@dataclass(frozen=True)
class _Told:
    """One series' results of a run after continuation: its own (joined to what they
    continue), the stored results these and ``settled`` replace, and earlier anomalies told
    again (stored, not counted as the run's)."""

    results: list[AnomalyResult]
    superseded: list[AnomalyResult] = field(default_factory=list)
    settled: list[AnomalyResult] = field(default_factory=list)


def _recent_from(series: MetricSeries, first_new: int, keep_firing_ns: int) -> int:
    """Where the stored anomalies a run of ``series`` may continue or tell again can end
    from: far enough back for settling (which outreaches an engine's merge gap) and a
    limit's keep-firing."""
    return int(series.timestamps_ns[max(first_new - SETTLE_POINTS - 1, 0)]) - keep_firing_ns


@dataclass(frozen=True)
class _Read:
    """What a run read for one series: its saved state, the first point it has not scored
    (``_NEVER``: all) and its points from that point's context on (None: it is gone)."""

    saved: bytes | None
    start_ns: int
    series: MetricSeries | None


def _start_ns(saved: bytes | None, since_ns: int | None) -> int:
    """The first point a series has not scored: after its saved cursor, else ``since``."""
    if saved is not None and len(saved) >= _CURSOR.size:
        (cursor_ns,) = _CURSOR.unpack_from(saved)
        if cursor_ns != _NEVER:
            return int(cursor_ns) + 1
    return since_ns or _NEVER


@dataclass
class _Outcome:
    """One series' part of a run: nothing new (no series), results of a stateless engine,
    or the default engine's scores waiting for the fleet calibration."""

    series: MetricSeries | None = None
    pending: _Pending | None = None
    results: list[AnomalyResult] = field(default_factory=list)
    summary: AnomalyResult | None = None
    points: int = 0
    relearnt: bool = False


@dataclass(frozen=True)
class _Pending:
    """The default engine's new scores of one series, and the detector state (cursor and
    state bytes) to save once their results are stored."""

    series: MetricSeries
    scored: ScoredSeries
    state: bytes


#: Series whose saved states one query reads (a run reads them batch by batch).
_STATES_PER_READ = 500
#: Series whose points one query reads (a day of context each, in a run of ticks).
_SERIES_PER_READ = 100


def _state_name(engine: AnomalyDetectionEngine) -> str:
    """The name an engine's per-series state is saved under (its name and version)."""
    return f"{engine.engine_name()}@{engine.engine_version()}"


def fleet_calibration_name(engine: AnomalyDetectionEngine) -> str:
    """The engine name a tenant's fleet calibration is saved under."""
    return f"{_state_name(engine)}:fleet-calibration"


def load_fleet_calibration(
    storage: StorageBackend, engine: AnomalyDetectionEngine, tenant_id: str
) -> FleetCalibration | None:
    """The tenant's fleet calibration as the last detection run left it; None when there is
    none yet, the engine has none, or it cannot be read (written by another release)."""
    if not isinstance(engine, DefaultAnomalyEngine):
        return None
    saved = storage.load_detector_state(
        fleet_calibration_key(tenant_id), fleet_calibration_name(engine)
    )
    try:
        return None if saved is None else FleetCalibration.from_bytes(saved)
    except ValidationError:
        return None


def scored_until(
    storage: StorageBackend, engine: AnomalyDetectionEngine, keys: Sequence[SeriesKey]
) -> dict[SeriesKey, int]:
    """The last point (epoch ns) detection with ``engine`` has scored, per series; series it
    never scored are left out. An anomaly whose window reaches it is still going on, as far
    as detection knows (:mod:`backend.detection.continuation`)."""
    states = storage.load_detector_states(_state_name(engine), keys)
    cursors = {
        key: int(_CURSOR.unpack_from(state)[0])
        for key, state in states.items()
        if len(state) >= _CURSOR.size
    }
    return {key: cursor for key, cursor in cursors.items() if cursor != _NEVER}


def fleet_calibration_key(tenant_id: str) -> SeriesKey:
    """Where a tenant's fleet calibration is saved, beside its series' detector states."""
    return SeriesKey(tenant_id, "~fleet", "~fleet", "~calibration")


def _restore(saved: bytes | None, params: DetectorParams) -> StreamingDetector | None:
    """The saved detector, or None when there is none or it cannot be used: written by an
    older release (another state format) or under other hyperparameters. Detection then
    goes on from the cursor with a detector relearnt on the context, rather than failing."""
    if saved is None:
        return None
    try:
        return load_state(saved[_CURSOR.size :], params)
    except ValidationError:
        return None
