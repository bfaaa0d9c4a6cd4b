"""``aboutcloud keys create|list|revoke`` against a real SQLite storage."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.api import ApiKeyService
from backend.cli.keys_cmd import register
from backend.errors import AuthenticationError, NotFoundError
from backend.storage.factory import open_storage
from tests.cli._apps import WIDE, app_with


def app() -> typer.Typer:
    return app_with(register)


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keys.db'}"


def _create(tmp_path: Path, tenant: str = "acme", role: str = "writer") -> str:
    result = CliRunner().invoke(app(), ["keys", "create", "--tenant", tenant, "--role", role,
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_keys_create_prints_key_once_and_stores_hash(tmp_path: Path) -> None:
    key = _create(tmp_path)
    assert key.startswith("ack_")
    with open_storage(db_url(tmp_path)) as storage:
        principal = ApiKeyService(storage).authenticate(key)
        (record,) = storage.list_api_keys("acme")
    assert (principal.tenant_id, principal.role.value) == ("acme", "writer")
    assert key not in record.key_hash


def test_keys_list_shows_ids_not_keys(tmp_path: Path) -> None:
    key = _create(tmp_path)
    _create(tmp_path, tenant="globex", role="admin")
    result = CliRunner().invoke(app(), ["keys", "list", "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert result.exit_code == 0
    assert key.split("_")[1] in result.output
    assert key not in result.output
    assert "writer" in result.output and "globex" not in result.output


def test_keys_revoke_then_key_fails(tmp_path: Path) -> None:
    key = _create(tmp_path)
    key_id = key.split("_")[1]
    result = CliRunner().invoke(app(), ["keys", "revoke", key_id, "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert result.exit_code == 0, result.output
    with open_storage(db_url(tmp_path)) as storage, pytest.raises(AuthenticationError):
        ApiKeyService(storage).authenticate(key)
    listed = CliRunner().invoke(app(), ["keys", "list", "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert "revoked" in listed.output


def test_keys_revoke_other_tenant_fails(tmp_path: Path) -> None:
    key_id = _create(tmp_path).split("_")[1]
    result = CliRunner().invoke(app(), ["keys", "revoke", key_id, "--tenant", "globex",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert isinstance(result.exception, NotFoundError)


def test_keys_create_unknown_role_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["keys", "create", "--tenant", "acme", "--role", "root",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip
    assert result.exit_code == 2


def test_keys_list_without_tenant_shows_every_tenant(tmp_path: Path) -> None:
    _create(tmp_path, tenant="acme")
    _create(tmp_path, tenant="globex")
    result = CliRunner().invoke(app(), ["keys", "list", "--database-url", db_url(tmp_path)],
                                env=WIDE)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "acme" in result.stdout
    assert "globex" in result.stdout


def test_keys_revoke_by_id_alone(tmp_path: Path) -> None:
    key = _create(tmp_path, tenant="globex")
    with open_storage(db_url(tmp_path)) as storage:
        (record,) = storage.list_api_keys("globex")
    result = CliRunner().invoke(app(), ["keys", "revoke", record.key_id,
                                        "--database-url", db_url(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    with open_storage(db_url(tmp_path)) as storage, pytest.raises(AuthenticationError):
        ApiKeyService(storage).authenticate(key)
