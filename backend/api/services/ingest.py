"""``POST /metrics``: the HTTP edge of the one ingestion pipeline.

The body is parsed into columns (:mod:`backend.api.payload`), every well-formed series becomes a
:class:`~backend.ingestion.SeriesCandidate` of the caller's tenant, and the shared
:class:`~backend.ingestion.IngestionPipeline` validates and stores them exactly as it does for
files and simulators. This module only translates the pipeline's report back into the paths
of the request (``series[3].values[17]``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from backend.analytics.types import SeriesKey
from backend.api.payload import ParsedBatch, RejectedSeries, parse_ingest_body
from backend.api.problems import BatchValidationError, FieldError
from backend.api.settings import ApiSettings
from backend.ingestion import IngestionPipeline, IngestionReport, SeriesCandidate, ValidationIssue

__all__ = ["IngestOutcome", "IngestService"]

_INDEX = re.compile(r"^series\[(\d+)\]$")


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to a request's series, in the request's own terms."""

    tenant_id: str
    accepted_series: int
    accepted_points: int
    rejected: list[RejectedSeries]
    warnings: list[FieldError]


class IngestService:
    """Parses ingestion bodies and hands them to the pipeline."""

    def __init__(self, pipeline: IngestionPipeline, settings: ApiSettings) -> None:
        self.pipeline = pipeline
        self.settings = settings

    def ingest(self, tenant_id: str, body: bytes, atomic: bool = False) -> IngestOutcome:
        """Validate and store a batch for ``tenant_id``.

        With ``atomic`` any bad series rejects the batch: a :class:`BatchValidationError`
        listing every reason, and nothing stored.
        """
        batch = parse_ingest_body(
            body,
            tenant_id,
            self.settings.max_series_per_request,
            self.settings.max_points_per_request,
        )
        if atomic and batch.rejected:
            raise _batch_error(batch.rejected)
        candidates = [
            SeriesCandidate(SeriesKey(tenant_id, *item.ids), item.timestamps_ns, item.values,
                            item.metadata, origin=f"series[{item.index}]")
            for item in batch.series
        ]  # fmt: skip
        report = self.pipeline.ingest_series(tenant_id, candidates, atomic=atomic)
        rejected = batch.rejected + _rejections(report, batch)
        if atomic and rejected:
            raise _batch_error(rejected)
        rejected.sort(key=lambda r: r.index)
        return IngestOutcome(
            tenant_id,
            len(report.accepted),
            report.accepted_points,
            rejected,
            [_field_error(issue, _index_of(issue, {})) for issue in report.warnings],
        )


def _rejections(report: IngestionReport, batch: ParsedBatch) -> list[RejectedSeries]:
    by_key: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for item in batch.series:
        by_key[tuple(item.ids)].append(item.index)
    out: list[RejectedSeries] = []
    for rejection in report.rejected:
        if rejection.batch_only:
            continue
        ids = tuple(rejection.key[1:])
        fallback = by_key.get(ids, [-1])[0]
        index = next(
            (i for i in map(_index_from_location, rejection.issues) if i is not None), fallback
        )
        errors = [_field_error(issue, index) for issue in rejection.issues if issue.is_error]
        out.append(RejectedSeries(index, ids, errors))  # type: ignore[arg-type]
    return out


def _index_from_location(issue: ValidationIssue) -> int | None:
    match = _INDEX.match(issue.location or "")
    return int(match.group(1)) if match else None


def _index_of(issue: ValidationIssue, fallback: dict[str, int]) -> int:
    index = _index_from_location(issue)
    return index if index is not None else fallback.get(issue.series, -1)


def _field_error(issue: ValidationIssue, index: int) -> FieldError:
    reason = issue.reason if issue.count <= 1 else f"{issue.reason} ({issue.count} points)"
    prefix = f"series[{index}]" if index >= 0 else "series"
    return FieldError(f"{prefix}.{issue.field}", reason)


def _batch_error(rejected: list[RejectedSeries]) -> BatchValidationError:
    errors = [
        error for rejection in sorted(rejected, key=lambda r: r.index) for error in rejection.errors
    ]
    return BatchValidationError(
        errors, f"atomic batch refused: {len(rejected)} series invalid, nothing stored"
    )
