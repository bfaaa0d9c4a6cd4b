from __future__ import annotations

from pathlib import Path

from backend.storage.retention import RetentionSettings


def test_start_retention_job_memory_backend_has_nothing_to_expire() -> None:
    from backend.storage import InMemoryStorage
    from backend.storage.retention import start_retention_job

    assert start_retention_job(InMemoryStorage()) is None


def test_start_retention_job_embedded_runs_and_stops(tmp_path: Path) -> None:
    from backend.storage import SQLiteStorage
    from backend.storage.retention import start_retention_job

    with SQLiteStorage(tmp_path / "s.db") as storage:
        job = start_retention_job(storage, RetentionSettings(interval_seconds=3600))
        assert job is not None
        job.stop()
        assert job.run_once() is not None
