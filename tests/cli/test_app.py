"""The aboutcloud entry point: commands registered, errors printed as TypeName: message."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from backend.cli.app import build_app, main


def test_app_registers_core_commands() -> None:
    names = {command.name for command in build_app().registered_commands}
    assert {"simulate", "ingest", "top"} <= names


def test_main_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out


def test_main_usage_error_exits_two() -> None:
    assert main(["simulate", "--n-series", "0"]) == 2


def test_main_domain_error_prints_type_name_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    code = main(["ingest", str(bad), "--tenant", "t1", "--database-url", "memory://"])
    assert code == 1
    assert "MetricFileError:" in capsys.readouterr().err


def _command_names() -> list[str]:
    app = build_app()
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    return sorted(n.replace("_", "-") for n in names if n)


@pytest.mark.parametrize("command", _command_names())
def test_help_text_reads_as_plain_text(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # docstrings are written for Sphinx, but ``--help`` prints them as they are
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage" in out
    assert "``" not in out and ":class:" not in out and ":func:" not in out


def test_option_help_keeps_square_brackets_out_of_rich_markup() -> None:
    # rich reads "[default: 7]" in a help string as a markup tag and prints nothing of it
    for command in build_app().registered_commands:
        callback = command.callback
        assert callback is not None
        for name, hint in typing.get_type_hints(callback, include_extras=True).items():
            for meta in getattr(hint, "__metadata__", ()):
                text = getattr(meta, "help", None) or ""
                assert "[" not in text, f"{command.name} --{name}: {text!r}"
