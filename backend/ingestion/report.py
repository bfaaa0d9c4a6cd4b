"""What an ingestion did: the documented running counters and the per-batch report.

:class:`IngestionStats` is the documented, mutable tally (series collected, valid, invalid,
stored, errors) that long-running collection accumulates. :class:`IngestionReport` is the
immutable answer to one batch: which series were accepted and which were rejected, each
rejection with its series key and reasons, so the CLI and the HTTP API can show exactly what
happened to every series sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.analytics.types import MetricSeries, SeriesKey
from backend.ingestion.results import ValidationIssue

__all__ = ["IngestionReport", "IngestionStats", "RejectedSeries"]

_SUMMARY_ERRORS = 5


@dataclass
class IngestionStats:
    """Running counters of an ingestion.

    ``success_rate()`` is ``total_valid / total_collected``; with nothing collected it is 0.0,
    so an idle or broken source never looks healthy.

    >>> stats = IngestionStats(total_collected=4, total_valid=3, total_invalid=1)
    >>> stats.success_rate()
    0.75
    >>> IngestionStats().success_rate()
    0.0
    """

    total_collected: int = 0
    total_valid: int = 0
    total_invalid: int = 0
    total_stored: int = 0
    errors: list[str] = field(default_factory=list)
    points_accepted: int = 0
    points_rejected: int = 0
    warnings: list[str] = field(default_factory=list)

    def success_rate(self) -> float:
        """Share of collected series that passed validation (0.0 when none was collected)."""
        if self.total_collected == 0:
            return 0.0
        return self.total_valid / self.total_collected

    def add(self, other: IngestionStats) -> IngestionStats:
        """Fold another tally into this one (in place) and return self."""
        self.total_collected += other.total_collected
        self.total_valid += other.total_valid
        self.total_invalid += other.total_invalid
        self.total_stored += other.total_stored
        self.points_accepted += other.points_accepted
        self.points_rejected += other.points_rejected
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        return self

    def summary(self) -> str:
        """A short human-readable summary (first few errors included)."""
        lines = [
            f"Ingestion: {self.total_collected} series collected, {self.total_valid} valid, "
            f"{self.total_invalid} invalid, {self.total_stored} stored "
            f"(success rate {self.success_rate():.1%})",
            f"Points: {self.points_accepted} accepted, {self.points_rejected} rejected",
        ]
        if self.errors:
            lines.append(f"Errors ({len(self.errors)}):")
            lines += [f"  - {error}" for error in self.errors[:_SUMMARY_ERRORS]]
            if len(self.errors) > _SUMMARY_ERRORS:
                lines.append(f"  ... and {len(self.errors) - _SUMMARY_ERRORS} more")
        if self.warnings:
            lines.append(f"Warnings: {len(self.warnings)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class RejectedSeries:
    """One series refused whole: its key, size and every reason.

    ``batch_only`` marks a valid series refused only because an atomic batch had a bad one.
    """

    key: SeriesKey
    points: int
    issues: tuple[ValidationIssue, ...]
    batch_only: bool = False

    @property
    def reasons(self) -> list[str]:
        """The reasons, without the series name."""
        return [issue.detail for issue in self.issues if issue.is_error]


@dataclass(frozen=True)
class IngestionReport:
    """The outcome of one batch for one tenant.

    ``stored`` says whether accepted series were written (False for validate-only pipelines);
    ``points_written`` is what storage reported.
    """

    tenant_id: str
    accepted: tuple[MetricSeries, ...] = ()
    rejected: tuple[RejectedSeries, ...] = ()
    warnings: tuple[ValidationIssue, ...] = ()
    atomic: bool = False
    stored: bool = False
    points_written: int = 0

    @property
    def accepted_keys(self) -> list[SeriesKey]:
        """Keys of the accepted series, in input order."""
        return [series.key for series in self.accepted]

    @property
    def accepted_points(self) -> int:
        """Points in accepted series."""
        return sum(series.length for series in self.accepted)

    @property
    def rejected_points(self) -> int:
        """Points in rejected series."""
        return sum(rejection.points for rejection in self.rejected)

    @property
    def total_series(self) -> int:
        """Series in the batch."""
        return len(self.accepted) + len(self.rejected)

    def to_stats(self) -> IngestionStats:
        """The batch as documented counters."""
        invalid = [r for r in self.rejected if not r.batch_only]
        return IngestionStats(
            total_collected=self.total_series,
            total_valid=self.total_series - len(invalid),
            total_invalid=len(invalid),
            total_stored=len(self.accepted) if self.stored else 0,
            errors=[issue.message for r in invalid for issue in r.issues if issue.is_error],
            points_accepted=self.accepted_points,
            points_rejected=self.rejected_points,
            warnings=[issue.message for issue in self.warnings],
        )
