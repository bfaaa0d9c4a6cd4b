"""The ``aboutcloud`` command: builds the Typer app from per-command modules.

Each command module exposes ``register(app)``. Errors from the exception tree print as
``TypeName: message`` on stderr and exit with status 1.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer
from rich.console import Console

from backend.errors import AboutCloudError

__all__ = ["build_app", "main"]

_COMMAND_MODULES: tuple[str, ...] = ("backend.cli.top_cmd",)


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
    """Console-script entry point."""
    app = build_app()
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        Console(stderr=True).print("Aborted.")
        return 130
    except AboutCloudError as exc:
        Console(stderr=True).print(f"[red]{type(exc).__name__}[/red]: {exc}", highlight=False)
        return 1
    except (ValueError, OSError) as exc:
        Console(stderr=True).print(f"[red]{type(exc).__name__}[/red]: {exc}", highlight=False)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
