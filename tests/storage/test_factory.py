"""open_storage: URL to backend, the environment variable and the default file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.errors import StorageConfigError
from backend.storage import InMemoryStorage, SQLiteStorage, StorageBackend, factory, open_storage
from backend.storage.factory import DATABASE_URL_ENV, redact_url, register_scheme


def test_open_storage_memory_url() -> None:
    assert isinstance(open_storage("memory://"), InMemoryStorage)


def test_open_storage_sqlite_absolute_url(tmp_path: Path) -> None:
    with open_storage(f"sqlite:///{tmp_path / 'a.db'}") as storage:
        assert isinstance(storage, SQLiteStorage)
        assert storage.path == tmp_path / "a.db"
    assert (tmp_path / "a.db").exists()


def test_open_storage_sqlite_relative_url_resolves_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_storage("sqlite:///rel.db").close()
    assert (tmp_path / "rel.db").exists()


def test_open_storage_default_is_file_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    with open_storage() as storage:
        assert isinstance(storage, SQLiteStorage)
    assert (tmp_path / "aboutcloud.db").exists()


def test_open_storage_reads_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATABASE_URL_ENV, "memory://")
    assert isinstance(open_storage(), InMemoryStorage)
    assert not (tmp_path / "aboutcloud.db").exists()


@pytest.mark.parametrize(
    "url", ["mysql://u:pw@host/db", "nonsense", "sqlite://relative.db", "sqlite:///", "memory://x"]
)
def test_open_storage_unusable_url_names_it(url: str) -> None:
    with pytest.raises(StorageConfigError, match=url.split(":")[0]):
        open_storage(url)


def test_open_storage_duckdb_refused_with_reason(tmp_path: Path) -> None:
    with pytest.raises(StorageConfigError, match="one process"):
        open_storage(f"duckdb:///{tmp_path / 'x.duckdb'}")
    assert not (tmp_path / "x.duckdb").exists()


def test_open_storage_error_hides_password() -> None:
    with pytest.raises(StorageConfigError) as info:
        open_storage("mysql://app:hunter2@db/x")
    assert "hunter2" not in str(info.value)
    assert "mysql://app:***@db/x" in str(info.value)


def test_open_storage_missing_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(StorageConfigError, match="does not exist"):
        open_storage(f"sqlite:///{tmp_path / 'nope' / 'a.db'}")


def test_register_scheme_adds_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "_OPENERS", dict(factory._OPENERS))
    made: list[str] = []

    def opener(url: str) -> StorageBackend:
        made.append(url)
        return InMemoryStorage()

    register_scheme("testdb", opener)
    assert isinstance(open_storage("testdb://anything"), InMemoryStorage)
    assert made == ["testdb://anything"]


def test_redact_url_without_password_unchanged() -> None:
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
