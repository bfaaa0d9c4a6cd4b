"""``aboutcloud retention run``: apply the hot/cold retention policy once.

Raw points older than the tenant's horizon are rolled up into 5-minute and 1-hour summaries and
removed; expired roll-ups and empty partitions are dropped. Defaults come from
``ABOUTCLOUD_RETENTION_*`` (see :class:`backend.storage.retention.RetentionSettings`); ``serve``
runs the same job periodically.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.errors import ConfigError
from backend.storage.factory import open_storage
from backend.storage.interface import StorageBackend
from backend.storage.retention import (
    RetentionPolicy,
    RetentionReport,
    RetentionSettings,
    retention_store_for,
    run_retention,
)

__all__ = ["parse_tenant_days", "register", "run"]

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="ABOUTCLOUD_DATABASE_URL",
        help="Storage URL (default: aboutcloud.db in the current directory).",
    ),
]  # fmt: skip
DaysOpt = Annotated[int | None, typer.Option(min=1, help="Override the configured default.")]
TenantDaysOpt = Annotated[
    list[str] | None,
    typer.Option("--tenant-raw-days", help="TENANT=DAYS raw horizon of one tenant (repeatable)."),
]
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Pretend it is this time (ISO 8601), for backfills.")
]


def register(app: typer.Typer) -> None:
    """Add the ``retention`` command group to ``app``."""
    group = typer.Typer(help="Hot/cold retention of stored points.", no_args_is_help=True)
    group.command("run")(run)
    app.add_typer(group, name="retention")


def parse_tenant_days(items: list[str]) -> dict[str, int]:
    """``["acme=7"]`` -> ``{"acme": 7}``, naming the bad item on error.

    >>> parse_tenant_days(["acme=7", "beta=90"])
    {'acme': 7, 'beta': 90}
    """
    parsed = {}
    for item in items:
        tenant, sep, days = item.partition("=")
        if not sep or not tenant or not days.strip().isdigit():
            raise ConfigError("tenant_raw_days", item, "expected TENANT=DAYS, e.g. acme=7")
        parsed[tenant] = int(days)
    return parsed


def run(
    database_url: DatabaseOpt = None,
    raw_days: DaysOpt = None,
    five_minute_days: DaysOpt = None,
    hourly_days: DaysOpt = None,
    tenant_raw_days: TenantDaysOpt = None,
    now: NowOpt = None,
) -> None:
    """Roll up and expire old data once, showing progress per day."""
    policy = _policy(
        raw_days, five_minute_days, hourly_days, parse_tenant_days(tenant_raw_days or [])
    )
    with _open(database_url) as storage:
        store = retention_store_for(storage)
        with Progress(
            TextColumn("rolling up days"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("days", total=None)
            report = run_retention(
                store,
                policy,
                now,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
    _print(report)


def _open(database_url: str | None) -> StorageBackend:
    """The storage a URL names (PostgreSQL opened directly, so this works before the factory
    knows the scheme)."""
    url = database_url or os.environ.get("ABOUTCLOUD_DATABASE_URL", "").strip() or None
    if url is not None:
        from backend.storage.postgres import PostgresStorage, is_postgres_url

        if is_postgres_url(url):
            return PostgresStorage(url)
    return open_storage(url)


def _policy(
    raw_days: int | None,
    five_minute_days: int | None,
    hourly_days: int | None,
    tenant_raw_days: dict[str, int],
) -> RetentionPolicy:
    settings = RetentionSettings()
    return RetentionPolicy(
        raw_days=raw_days or settings.raw_days,
        five_minute_days=five_minute_days or settings.five_minute_days,
        hourly_days=hourly_days or settings.hourly_days,
        tenant_raw_days={**settings.tenant_raw_days, **tenant_raw_days},
    )


def _print(report: RetentionReport) -> None:
    Console().print(
        f"rolled up {report.points_rolled_up} points of {report.days_rolled_up} days, "
        f"expired {report.rollups_expired} roll-up days, dropped {report.partitions_dropped} "
        f"partitions in {report.seconds:.2f} s",
        highlight=False,
    )
