"""The ``aboutcloud`` command: builds the Typer app from per-command modules.

Each command module exposes ``register(app)``. Errors from the exception tree print as
``TypeName: message`` on stderr and exit with status 1.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from backend.errors import AboutCloudError

__all__ = ["build_app", "main"]

_COMMAND_MODULES: tuple[str, ...] = (
    "backend.cli.simulate_cmd",
    "backend.cli.ingest_cmd",
    "backend.cli.top_cmd",
    "backend.cli.serve_cmd",
    "backend.cli.demo_cmd",
    "backend.cli.keys_cmd",
    "backend.cli.detect_cmd",
    "backend.cli.detect_file_cmd",
    "backend.cli.evaluate_cmd",
    "backend.cli.db_cmd",
    "backend.cli.retention_cmd",
    "backend.cli.config_cmd",
)


def build_app() -> typer.Typer:
    """A fresh Typer app with every command registered."""
    app = typer.Typer(
        name="aboutcloud",
        help="AboutCloud: anomaly analytics for cloud metrics.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: usage errors exit 2, domain errors exit 1."""
    app = build_app()
    try:
        app(args=argv, prog_name="aboutcloud")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        Console(stderr=True).print(str(exc.code), highlight=False)
        return 1
    except (AboutCloudError, ValueError, OSError) as exc:
        Console(stderr=True).print(f"[red]{type(exc).__name__}[/red]: {exc}", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
