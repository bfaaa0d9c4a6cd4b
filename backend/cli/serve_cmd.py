"""``aboutcloud serve``: the HTTP API and dashboard in one uvicorn process.

Builds the same objects a test would (settings, storage, engine), passes them to
:func:`backend.api.create_app` and serves on ``--host``/``--port``. Settings not given as
options come from ``ABOUTCLOUD_*`` environment variables (see :class:`ApiSettings`).
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from backend.analytics.configured_engine import configured_engine
from backend.api import ApiSettings, create_app
from backend.storage.factory import open_storage, redact_url
from backend.storage.retention import start_retention_job

__all__ = ["build_settings", "register", "serve"]

HostOpt = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="ABOUTCLOUD_DATABASE_URL",
        help="Storage URL: sqlite:///file.db or memory:// (default: aboutcloud.db in the cwd).",
    ),
]  # fmt: skip
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Engine for per-point chart scores (default: ABOUTCLOUD_ENGINE, else the "
        "detection configuration's engine).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)


def build_settings(database_url: str | None, engine: str | None) -> ApiSettings:
    """Environment settings with the command-line overrides applied."""
    overrides: dict[str, object] = {}
    if engine is not None:
        overrides["engine"] = engine
    if database_url is not None:
        overrides["database_url"] = database_url
    return ApiSettings(**overrides)  # type: ignore[arg-type]


def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    database_url: DatabaseOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Serve the API (OpenAPI at /docs) and the dashboard (at /), with the periodic retention
    job (roll-ups and expiry, set by the ABOUTCLOUD_RETENTION_* variables) running beside it."""
    settings = build_settings(database_url, engine)
    engine_for_charts = configured_engine(settings.engine)  # a bad setting stops us here
    storage = open_storage(settings.database_url)
    app = create_app(settings, storage, engine_for_charts)
    where = redact_url(settings.database_url) if settings.database_url else repr(storage)
    Console(stderr=True).print(
        f"AboutCloud API on http://{host}:{port}/ (docs at /docs), storage {where}",
        highlight=False,
    )
    retention = start_retention_job(storage)
    try:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
    finally:
        if retention is not None:
            retention.stop()
        storage.close()
