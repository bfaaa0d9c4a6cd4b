"""A test app holding one command module's commands, as the real ``aboutcloud`` app does."""

from __future__ import annotations

from collections.abc import Callable

import typer

WIDE = {"COLUMNS": "200"}  # wide enough that rich never wraps the lines tests read


def app_with(register: Callable[[typer.Typer], None]) -> typer.Typer:
    """A multi-command app (a lone command would become the app itself) with ``register``'s."""
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """AboutCloud."""

    register(root)
    return root
