"""IngestionStats and IngestionReport."""

from __future__ import annotations

from backend.analytics.types import MetricSeries, SeriesKey
from backend.ingestion.report import IngestionReport, IngestionStats, RejectedSeries
from backend.ingestion.results import Severity, ValidationIssue


def test_stats_documented_defaults_and_empty_success_rate() -> None:
    stats = IngestionStats()

    assert (stats.total_collected, stats.total_valid, stats.total_invalid) == (0, 0, 0)
    assert (stats.total_stored, stats.errors) == (0, [])
    assert stats.success_rate() == 0.0


def test_stats_default_errors_not_shared() -> None:
    first, second = IngestionStats(), IngestionStats()
    first.errors.append("x")

    assert second.errors == []


def test_stats_success_rate_and_add() -> None:
    total = IngestionStats(total_collected=2, total_valid=2, points_accepted=10)
    total.add(IngestionStats(total_collected=2, total_valid=1, total_invalid=1, errors=["e"]))

    assert (total.total_collected, total.total_valid, total.points_accepted) == (4, 3, 10)
    assert total.success_rate() == 0.75
    assert total.errors == ["e"]


def test_stats_summary_caps_listed_errors() -> None:
    stats = IngestionStats(total_collected=9, total_invalid=9, errors=[f"e{i}" for i in range(9)])

    summary = stats.summary()

    assert "  - e4" in summary
    assert "e5" not in summary
    assert "... and 4 more" in summary


def test_report_counts_and_stats() -> None:
    kept = MetricSeries("t", "c", "n1", "m", [0, 60], [1.0, 2.0])
    error = ValidationIssue("t/c/n2/m", "values[0]", 5.0, "bad")
    warning = ValidationIssue("t/c/n1/m", "timestamps[1]", 0, "gap", Severity.WARNING)
    rejected = RejectedSeries(SeriesKey("t", "c", "n2", "m"), 7, (error, warning))

    report = IngestionReport("t", (kept,), (rejected,), (warning,), stored=True)
    stats = report.to_stats()

    assert (report.accepted_points, report.rejected_points, report.total_series) == (2, 7, 2)
    assert rejected.reasons == ["values[0]=5.0: bad"]
    assert (stats.total_collected, stats.total_valid, stats.total_invalid) == (2, 1, 1)
    assert (stats.total_stored, stats.points_accepted, stats.points_rejected) == (1, 2, 7)
    assert stats.errors == [error.message]
    assert stats.warnings == [warning.message]
