from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from backend.cli.db_cmd import register
from backend.errors import StorageConfigError
from backend.storage.postgres import head_version
from backend.storage.postgres.connection import connect
from tests.storage.postgres_support import worker_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_url() -> Iterator[str]:
    base = worker_database().url
    schema = f"cli_{secrets.token_hex(4)}"
    with connect(base) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with connect(base) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_db_current_empty_database_lists_pending(empty_url: str) -> None:
    result = CliRunner().invoke(_app(), ["db", "current", "--database-url", empty_url])
    assert result.exit_code == 0, result.output
    assert "version none" in result.output and "pending 0001_core" in result.output


def test_db_upgrade_then_current_up_to_date(empty_url: str) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(_app(), ["db", "upgrade", "--database-url", empty_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "applied 0001_core" in upgraded.output
    assert f"upgraded to version {head_version()}" in upgraded.output
    again = runner.invoke(_app(), ["db", "upgrade", "--database-url", empty_url])
    assert f"already at version {head_version()}" in again.output
    current = runner.invoke(_app(), ["db", "current"], env={"ABOUTCLOUD_DATABASE_URL": empty_url})
    assert "up to date" in current.output


def test_db_upgrade_to_version_stops_there(empty_url: str) -> None:
    result = CliRunner().invoke(_app(), ["db", "upgrade", "--to", "1", "--database-url", empty_url])
    assert "upgraded to version 1" in result.output
    current = CliRunner().invoke(_app(), ["db", "current", "--database-url", empty_url])
    assert "pending 0002_retention" in current.output


def test_db_upgrade_non_postgres_url_rejected() -> None:
    result = CliRunner().invoke(_app(), ["db", "upgrade", "--database-url", "sqlite:///x.db"])
    assert isinstance(result.exception, StorageConfigError)
    assert "db commands manage PostgreSQL" in str(result.exception)
