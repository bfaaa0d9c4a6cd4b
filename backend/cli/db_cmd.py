"""``aboutcloud db upgrade|current``: versioned schema migrations of the PostgreSQL database.

Run ``aboutcloud db upgrade`` before starting a new release against PostgreSQL (the backend
refuses an outdated schema rather than guessing). Upgrading keeps the data. The embedded SQLite
default needs neither command: it brings its schema up to date when it opens.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from backend.errors import StorageConfigError

__all__ = ["current", "register", "upgrade"]

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="ABOUTCLOUD_DATABASE_URL",
        help="postgresql://user:password@host:5432/dbname",
    ),
]  # fmt: skip
TargetOpt = Annotated[
    int | None,
    typer.Option("--to", min=0, help="Stop at this version (default: the newest)."),
]


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    group = typer.Typer(help="Database schema migrations (PostgreSQL).", no_args_is_help=True)
    group.command("upgrade")(upgrade)
    group.command("current")(current)
    app.add_typer(group, name="db")


def _postgres_url(database_url: str | None) -> str:
    from backend.storage.postgres import is_postgres_url

    url = database_url or os.environ.get("ABOUTCLOUD_DATABASE_URL", "").strip() or None
    if url is None or not is_postgres_url(url):
        raise StorageConfigError(
            "db commands manage PostgreSQL: pass --database-url postgresql://... or set "
            "ABOUTCLOUD_DATABASE_URL (the embedded default migrates itself when opened)"
        )
    return url


def upgrade(database_url: DatabaseOpt = None, to: TargetOpt = None) -> None:
    """Apply pending migrations (each in its own transaction); data is kept."""
    from backend.storage.postgres import migrate
    from backend.storage.postgres.connection import connect, storage_errors

    url = _postgres_url(database_url)
    with connect(url) as conn, storage_errors("migrate"):
        applied = migrate.upgrade(conn, to)
        version = migrate.current_version(conn)
    console = Console()
    for migration in applied:
        console.print(f"applied {migration.version:04d}_{migration.name}", highlight=False)
    state = "upgraded to" if applied else "already at"
    console.print(f"{state} version {version} (head {migrate.head_version()})", highlight=False)


def current(database_url: DatabaseOpt = None) -> None:
    """Print the database's schema version and what is pending."""
    from backend.storage.postgres import migrate
    from backend.storage.postgres.connection import connect, storage_errors

    url = _postgres_url(database_url)
    with connect(url) as conn, storage_errors("read the schema version"):
        status = migrate.migration_status(conn)
    version = "none (empty database)" if status.current is None else str(status.current)
    console = Console()
    console.print(f"version {version} (head {status.head})", highlight=False)
    if status.up_to_date:
        console.print("up to date", highlight=False)
    for migration in status.pending:
        console.print(f"pending {migration.version:04d}_{migration.name}", highlight=False)
