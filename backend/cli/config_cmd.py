"""``aboutcloud config``: the detection configuration every command would run with, where
each value came from, and whether the engine accepts its settings (check before deploying).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.config_loading import CONFIG_FILE_ENV, ENV_PREFIX, file_section
from backend.analytics.configured_engine import configured_engine
from backend.analytics.limits import MetricLimit

__all__ = ["EngineNameOpt", "config_sources", "register"]

#: ``--engine`` of the commands that score: a registered name, else the configured engine.
EngineNameOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Registered engine name (default: the detection configuration's engine).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``config`` command to ``app``."""
    app.command("config")(show_config)


def config_sources(
    config: DetectionConfig, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Where each field's value came from: its ``ABOUTCLOUD_DETECTION__`` variable, else the
    ``ABOUTCLOUD_CONFIG`` file when the file sets it (even to the default value), else
    ``default``."""
    env = os.environ if environ is None else environ
    set_by_env = {
        name[len(ENV_PREFIX) :].lower(): name for name in env if name.upper().startswith(ENV_PREFIX)
    }
    path = env.get(CONFIG_FILE_ENV)
    in_file = set(file_section(path)) if path else set()
    sources = {}
    for field in _fields():
        if field.name in set_by_env:
            sources[field.name] = f"env {set_by_env[field.name]}"
        elif field.name in in_file:
            sources[field.name] = f"file {path}"
        else:
            sources[field.name] = "default"
    return sources


def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Show what this tenant's series run with (its overrides)."),
    ] = None,
) -> None:
    """Show the detection configuration (ABOUTCLOUD_CONFIG file, then ABOUTCLOUD_DETECTION__*
    variables) and check that the configured engine accepts its settings."""
    config = get_config()
    engine = configured_engine(config=config)  # raises, naming the setting, if it is refused
    sources = config_sources(config)
    shown = config
    if tenant is not None:
        sources = _tenant_sources(sources, config.tenants.get(tenant, {}), tenant)
        shown = dataclasses.replace(config.for_tenant(tenant), tenants=config.tenants)
    values = {f.name: _plain(getattr(shown, f.name)) for f in _fields()}
    if as_json:
        payload = {"config": values, "sources": sources, "engine": engine.engine_name()}
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title="Detection configuration")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_column("from")
    for name, value in values.items():
        table.add_row(name, _shown(value), sources[name])
    console = Console()
    console.print(table)
    console.print(f"engine {engine.engine_name()!r} accepts its settings", highlight=False)


def _tenant_sources(
    sources: dict[str, str], overrides: Mapping[str, Any], tenant: str
) -> dict[str, str]:
    """``sources`` with the fields ``tenant`` overrides credited to its override."""
    where = sources["tenants"]
    return {
        name: f"{where} (tenant {tenant})" if name in overrides else source
        for name, source in sources.items()
    }


def _fields() -> list[dataclasses.Field[Any]]:
    """The configuration's settings (not its derived, per-tenant copies)."""
    return [f for f in dataclasses.fields(DetectionConfig) if f.init]


def _plain(value: Any) -> Any:
    """``value`` with limits as plain tables, as a config file would write them."""
    if isinstance(value, MetricLimit):
        return value.as_dict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict) else str(value)
