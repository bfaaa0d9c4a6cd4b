"""The ingestion pipeline: collect → check tenant → validate → store, one batch at a time.

Every entry point funnels into :meth:`IngestionPipeline.ingest_series`, the batch path the file
CLI, the HTTP API and the benchmark share. Its guarantees:

- a series of another tenant than the caller's is rejected (tenant isolation);
- a rejected series is rejected *whole*, never half-written;
- all accepted series are written in *one* ``storage.store_metrics`` call (one transaction), so
  accepted data is never lost, and a later bad batch cannot alter it (bad series never reach
  storage);
- ``atomic=True`` rejects the whole batch when any series is bad;
- a series may arrive in several pieces (one per file, say): storage merges them, and a point
  written again replaces the stored one (idempotent re-ingest);
- ``storage=None`` validates only.

Collection failures of the documented ``ingest_metric`` / ``ingest_cluster`` (a node the source
does not know, a storage outage) are recorded in :class:`~backend.ingestion.report.IngestionStats`
rather than raised, so one bad node does not stop a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey, check_id
from backend.errors import IngestionError, NotFoundError, StorageError, ValidationError
from backend.ingestion.candidate import SeriesCandidate
from backend.ingestion.collector import MetricCollector
from backend.ingestion.report import IngestionReport, IngestionStats, RejectedSeries
from backend.ingestion.results import ValidationIssue
from backend.ingestion.tenant import TenantIsolationValidator
from backend.ingestion.validator import MetricValidator
from backend.storage.interface import StorageBackend

__all__ = ["IngestionPipeline", "IngestionReport", "IngestionStats", "RejectedSeries"]

Progress = Callable[[int], object]
"""Called with the number of points just processed (drives progress bars)."""

_COLLECT_ERRORS = (IngestionError, ValidationError, NotFoundError)


class IngestionPipeline:
    """Validates and stores metric series for one tenant at a time.

    Parameters
    ----------
    collector
        Where ``ingest_metric`` / ``ingest_cluster`` get series (unused by ``ingest_series``).
    validator
        Decides which series are acceptable.
    storage
        Where accepted series go; ``None`` validates only.
    """

    def __init__(
        self,
        collector: MetricCollector | None,
        validator: MetricValidator,
        storage: StorageBackend | None = None,
    ) -> None:
        self.collector = collector
        self.validator = validator
        self.storage = storage

    # --- the batch path ------------------------------------------------------------------
    def ingest_series(
        self,
        tenant_id: str,
        series_list: Iterable[MetricSeries | SeriesCandidate],
        atomic: bool = False,
        progress: Progress | None = None,
    ) -> IngestionReport:
        """Validate a batch for ``tenant_id`` and store what passes in one write.

        Raises :class:`~backend.errors.StorageError` if the write fails (nothing is written).
        """
        report = self.check_series(tenant_id, series_list, atomic, progress)
        if self.storage is None or not report.accepted:
            return report
        written = self.storage.store_metrics(list(report.accepted))
        return IngestionReport(
            report.tenant_id, report.accepted, report.rejected, report.warnings,
            report.atomic, stored=True, points_written=written.points_written,
        )  # fmt: skip

    def check_series(
        self,
        tenant_id: str,
        series_list: Iterable[MetricSeries | SeriesCandidate],
        atomic: bool = False,
        progress: Progress | None = None,
    ) -> IngestionReport:
        """Everything :meth:`ingest_series` does except the write."""
        check_id("tenant_id", tenant_id)
        accepted: list[MetricSeries] = []
        rejected: list[RejectedSeries] = []
        warnings: list[ValidationIssue] = []
        for item in series_list:
            series, issues = self._check_one(tenant_id, item)
            warnings.extend(issue for issue in issues if not issue.is_error)
            if series is None:
                rejected.append(RejectedSeries(_key(item), len(item), issues))
            else:
                accepted.append(series)
            if progress is not None:
                progress(len(item))
        if atomic and rejected and accepted:
            rejected += [_refused_with_batch(series, len(rejected)) for series in accepted]
            accepted = []
        return IngestionReport(tenant_id, tuple(accepted), tuple(rejected), tuple(warnings), atomic)

    def _check_one(
        self, tenant_id: str, item: MetricSeries | SeriesCandidate
    ) -> tuple[MetricSeries | None, tuple[ValidationIssue, ...]]:
        candidate = item if isinstance(item, SeriesCandidate) else SeriesCandidate.from_series(item)
        isolation = TenantIsolationValidator.check_tenant(
            candidate.name, candidate.tenant_id, tenant_id
        )
        if isolation is not None:
            return None, (isolation,)
        if candidate.issues:
            return None, candidate.issues
        result = self.validator.validate_arrays(
            candidate.key, candidate.timestamps_ns, candidate.values, candidate.metadata,
            candidate.rows, candidate.origin,
        )  # fmt: skip
        if not result.is_valid:
            return None, result.issues
        if isinstance(item, MetricSeries):
            return item, result.issues
        return _build(candidate, result.issues)

    # --- the documented collect-and-ingest API -------------------------------------------
    def ingest_metric(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> tuple[MetricSeries | None, IngestionStats]:
        """Collect, validate and store one series.

        Returns the series when it was accepted, else ``None``; the stats say why.
        """
        series_list, stats = self.ingest_cluster(
            tenant_id, cluster_id, [node_id], metric_name, start_time, end_time
        )
        return (series_list[0] if series_list else None), stats

    def ingest_cluster(
        self,
        tenant_id: str,
        cluster_id: str,
        node_ids: Iterable[str],
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> tuple[list[MetricSeries], IngestionStats]:
        """Collect the metric of every node, validate, store the valid ones in one write.

        Returns the accepted series (in node order) and the stats of the whole operation.
        """
        collected, failures = self._collect(
            tenant_id, cluster_id, node_ids, metric_name, start_time, end_time
        )
        report = self.check_series(tenant_id, collected)
        stats = report.to_stats()
        stats.total_collected += len(failures)
        stats.total_invalid += len(failures)
        stats.errors[:0] = failures
        if self.storage is not None and report.accepted:
            try:
                self.storage.store_metrics(list(report.accepted))
                stats.total_stored = len(report.accepted)
            except StorageError as exc:
                stats.errors.append(f"storage: {type(exc).__name__}: {exc}")
        return list(report.accepted), stats

    def _collect(
        self,
        tenant_id: str,
        cluster_id: str,
        node_ids: Iterable[str],
        metric_name: str,
        start_time: Any,
        end_time: Any,
    ) -> tuple[list[MetricSeries], list[str]]:
        if self.collector is None:
            raise IngestionError("this pipeline has no collector; use ingest_series")
        collected: list[MetricSeries] = []
        failures: list[str] = []
        for node_id in node_ids:
            key = SeriesKey(tenant_id, cluster_id, node_id, metric_name)
            try:
                collected.append(self.collector.collect_metric(*key, start_time, end_time))
            except _COLLECT_ERRORS as exc:
                failures.append(f"series {key}: collection failed: {type(exc).__name__}: {exc}")
        return collected, failures

    @staticmethod
    def get_stats_summary(stats: IngestionStats) -> str:
        """Human-readable summary of ``stats`` (counts, success rate, first errors)."""
        return stats.summary()


def _key(item: MetricSeries | SeriesCandidate) -> SeriesKey:
    return item.key


def _build(
    candidate: SeriesCandidate, issues: tuple[ValidationIssue, ...]
) -> tuple[MetricSeries | None, tuple[ValidationIssue, ...]]:
    """The series from validated arrays (sorted first when the validator allowed disorder)."""
    if candidate.timestamps_ns.shape[0] > 1 and (np.diff(candidate.timestamps_ns) <= 0).any():
        candidate = candidate.sorted()
    try:
        return candidate.to_series(), issues
    except ValidationError as exc:
        issue = ValidationIssue(candidate.name, exc.field, exc.value, exc.reason,
                                location=candidate.origin)  # fmt: skip
        return None, (*issues, issue)


def _refused_with_batch(series: MetricSeries, bad_series: int) -> RejectedSeries:
    reason = f"batch is atomic and {bad_series} other series were rejected"
    issue = ValidationIssue(str(series.key), "batch", "atomic", reason)
    return RejectedSeries(series.key, series.length, (issue,), batch_only=True)
