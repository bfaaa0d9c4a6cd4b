"""``aboutcloud ingest FILE... --tenant T``: validate long-format files and store them.

Reads CSV/Parquet files in the simulator's long format, rejects series of other tenants
(isolation) and invalid series (with the row and reason), stores the rest in one write and
prints what was accepted and rejected. Exits 1 when a non-empty input yielded nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backend.ingestion.candidate import SeriesCandidate
from backend.ingestion.files import read_metric_file
from backend.ingestion.pipeline import IngestionPipeline
from backend.ingestion.report import IngestionReport
from backend.ingestion.validator import MetricValidator
from backend.storage.factory import open_storage

__all__ = ["ingest", "register"]

_MAX_REASONS = 3

FilesArg = Annotated[
    list[Path],
    typer.Argument(
        exists=True, dir_okay=False, readable=True, show_default=False,
        help="Long-format CSV or Parquet files (tenant_id, cluster_id, node_id, metric_name, "
        "timestamp, value).",
    ),
]  # fmt: skip
TenantOpt = Annotated[
    str,
    typer.Option(
        "--tenant", "-t",
        help="Tenant the data is ingested for; rows of other tenants are rejected. Files "
        "without a tenant_id column belong to it.",
    ),
]  # fmt: skip
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="ABOUTCLOUD_DATABASE_URL",
        help="Storage URL (default: $ABOUTCLOUD_DATABASE_URL).",
    ),
]  # fmt: skip
AtomicOpt = Annotated[
    bool, typer.Option("--atomic", help="Store nothing if any series is rejected.")
]


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to ``app``."""
    app.command("ingest")(ingest)


def ingest(
    files: FilesArg,
    tenant: TenantOpt,
    database_url: DatabaseOpt = None,
    atomic: AtomicOpt = False,
) -> None:
    """Validate metric files and store the valid series for one tenant."""
    console = Console()
    candidates = _read(files, tenant, console)
    with open_storage(database_url) as storage:
        pipeline = IngestionPipeline(None, MetricValidator(), storage)
        report = _store(pipeline, tenant, candidates, atomic, console)
    _print_report(report, console)
    if report.total_series and not report.accepted:
        raise typer.Exit(1)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    )  # fmt: skip


def _read(files: list[Path], tenant: str, console: Console) -> list[SeriesCandidate]:
    candidates: list[SeriesCandidate] = []
    with _progress(console) as bar:
        task = bar.add_task("reading files", total=len(files))
        for path in files:
            candidates += read_metric_file(path, default_tenant=tenant)
            bar.advance(task)
    return candidates


def _store(
    pipeline: IngestionPipeline,
    tenant: str,
    candidates: list[SeriesCandidate],
    atomic: bool,
    console: Console,
) -> IngestionReport:
    with _progress(console) as bar:
        task = bar.add_task("validating points", total=sum(len(c) for c in candidates))
        return pipeline.ingest_series(
            tenant, candidates, atomic=atomic, progress=lambda n: bar.advance(task, n)
        )


def _print_report(report: IngestionReport, console: Console) -> None:
    console.print(
        f"Accepted: {len(report.accepted)} series, {report.accepted_points} points"
        + (" (stored)" if report.stored else "")
    )
    console.print(f"Rejected: {len(report.rejected)} series, {report.rejected_points} points")
    if report.warnings:
        example = escape(report.warnings[0].message)
        console.print(f"Warnings: {len(report.warnings)} (first: {example})")
    if not report.rejected:
        return
    table = Table("Series", "Points", "Reasons", title="Rejected series", show_lines=True)
    for rejection in report.rejected:
        reasons = rejection.reasons
        shown = reasons[:_MAX_REASONS] + (
            [f"... and {len(reasons) - _MAX_REASONS} more"] if len(reasons) > _MAX_REASONS else []
        )
        table.add_row(escape(str(rejection.key)), str(rejection.points), escape("\n".join(shown)))
    console.print(table)
