"""``aboutcloud detect``: incremental detection over stored data, with a progress bar."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from backend.analytics.configured_engine import configured_engine
from backend.cli.config_cmd import EngineNameOpt
from backend.detection.runner import DetectionRunReport, IncrementalDetector
from backend.storage.factory import open_storage
from backend.storage.interface import StorageBackend

__all__ = ["register", "run_detect"]


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command to ``app``."""
    app.command("detect")(detect)


def detect(
    tenant: Annotated[
        list[str] | None, typer.Option("--tenant", "-t", help="Tenant(s); default: all.")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", "-c", help="Only this cluster.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="First run of a series scores from here (ISO-8601, UTC)."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget saved detector state and rescore (backfill).")
    ] = False,
    engine: EngineNameOpt = None,
    database_url: Annotated[
        str | None, typer.Option(help="Storage URL (default: ABOUTCLOUD_DATABASE_URL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    fleet_calibration: Annotated[
        bool,
        typer.Option(
            "--fleet-calibration/--no-fleet-calibration",
            help="Map the default engine's scores per tenant and metric (docs/detection.md).",
        ),
    ] = True,
) -> None:
    """Detect anomalies in the data stored since the last run and update node rankings."""
    storage = open_storage(database_url)
    try:
        reports = run_detect(
            storage, tenant or None, cluster, since, reset, engine, not as_json, fleet_calibration
        )
    finally:
        storage.close()
    if as_json:
        typer.echo(json.dumps([_as_dict(r) for r in reports], indent=2))
    else:
        _print(reports)


def run_detect(
    storage: StorageBackend,
    tenants: list[str] | None,
    cluster: str | None = None,
    since: datetime | None = None,
    reset: bool = False,
    engine: str | None = None,
    show_progress: bool = True,
    fleet_calibration: bool = True,
) -> list[DetectionRunReport]:
    """Run incremental detection for the tenants (all stored tenants when None), with
    ``engine`` or the configured one (:func:`configured_engine`)."""
    detector = IncrementalDetector(
        storage, configured_engine(engine), fleet_calibration=fleet_calibration
    )
    names = tenants if tenants else storage.list_tenants()
    reports = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show_progress, transient=True) as bar:
        for tenant_id in names:
            task = bar.add_task(f"detect {tenant_id}", total=None)

            def advance(done: int, total: int, task_id: TaskID = task) -> None:
                bar.update(task_id, completed=done, total=total)

            reports.append(detector.run(tenant_id, cluster, since, reset, advance))
    return reports


def _as_dict(report: DetectionRunReport) -> dict[str, object]:
    worst = report.aggregation.ranked_nodes[:5] if report.aggregation else ()
    return {
        "tenant_id": report.tenant_id,
        "series_processed": report.series_processed,
        "series_skipped": report.series_skipped,
        "points_scored": report.points_scored,
        "states_relearnt": report.states_relearnt,
        "series_learning": report.series_learning,
        "anomalies": len(report.anomalies),
        "critical": report.stats.critical_anomalies,
        "errors": report.stats.errors,
        "seconds": round(report.seconds, 3),
        "top_nodes": [
            {"cluster_id": s.cluster_id, "node_id": s.node_id, "score": s.aggregate_score}
            for s in worst
        ],
    }


def _print(reports: list[DetectionRunReport]) -> None:
    console = Console()
    if not reports:
        console.print("Nothing stored yet: ingest metrics first (aboutcloud ingest).")
        return
    table = Table(title="Detection run")
    for column in ("tenant", "series", "points", "anomalies", "critical", "errors", "seconds"):
        table.add_column(column, justify="left" if column == "tenant" else "right")
    for r in reports:
        table.add_row(
            r.tenant_id,
            str(r.series_processed),
            f"{r.points_scored:,}",
            str(len(r.anomalies)),
            str(r.stats.critical_anomalies),
            str(len(r.stats.errors)),
            f"{r.seconds:.2f}",
        )
    console.print(table)
    for r in reports:
        if r.series_learning:
            console.print(
                f"{r.tenant_id}: {r.series_learning} young series are still in the detector's"
                " learning period: nothing of theirs alarms until they have the history it needs"
                " (docs/detection.md, 'Cold start')",
                highlight=False,
            )
        if r.states_relearnt:
            console.print(
                f"{r.tenant_id}: {r.states_relearnt} saved detector state(s) were from an older "
                "release or other settings; relearnt from the stored history"
            )
        for line in r.stats.errors[:5]:
            console.print(f"[red]error[/red] {line}")
        for a in sorted(r.anomalies, key=lambda x: -x.anomaly_score)[:5]:
            console.print(
                f"{a.anomaly_score:.2f} {a.anomaly_kind or a.anomaly_label:<12} "
                f"{a.cluster_id}/{a.node_id}/{a.metric_name}  {a.explanation or ''}",
                highlight=False,
            )
