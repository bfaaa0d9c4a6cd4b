"""SQLite specifics the conformance suite cannot see: file layout, locking, schema version."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import StorageConfigError, StorageError
from backend.storage import SQLiteStorage
from backend.storage._chunks import TS_RAW, TS_REGULAR

KEY = SeriesKey("t1", "c1", "n1", "cpu")


def minute_series(count: int, start: datetime = datetime(2024, 1, 1)) -> MetricSeries:
    ts = [start + timedelta(minutes=i) for i in range(count)]
    return MetricSeries(*KEY, ts, np.arange(count, dtype=float))


def chunk_rows(path: Path) -> list[tuple[int, int, int, int]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT day, n, ts_codec, length(ts) FROM chunks ORDER BY day"
        ).fetchall()


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    SQLiteStorage(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_one_chunk_per_day_regular_timestamps_compact(tmp_path: Path) -> None:
    with SQLiteStorage(tmp_path / "a.db") as storage:
        storage.store_metrics([minute_series(3 * 1440)])
    rows = chunk_rows(tmp_path / "a.db")
    assert [(n, codec, size) for _, n, codec, size in rows] == [(1440, TS_REGULAR, 16)] * 3


def test_sqlite_merge_with_gap_falls_back_to_raw_timestamps(tmp_path: Path) -> None:
    with SQLiteStorage(tmp_path / "a.db") as storage:
        storage.store_metrics([minute_series(10)])
        storage.store_metrics([minute_series(5, datetime(2024, 1, 1, 1))])
        assert storage.get_metric_series(*KEY).length == 15
    assert chunk_rows(tmp_path / "a.db") == [(19723, 15, TS_RAW, 15 * 8)]


def test_sqlite_reads_proceed_while_another_connection_writes(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "a.db", busy_timeout_s=0.2)
    storage.store_metrics([minute_series(10)])
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("DELETE FROM chunks")
    try:
        assert storage.get_metric_series(*KEY).length == 10
        with pytest.raises(StorageError, match="write"):
            storage.store_metrics([minute_series(20)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    storage.store_metrics([minute_series(20)])
    assert storage.get_metric_series(*KEY).length == 20
    storage.close()


def test_sqlite_closed_storage_raises(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "a.db")
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        storage.list_series("t1")


def test_sqlite_newer_schema_rejected(tmp_path: Path) -> None:
    SQLiteStorage(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageConfigError, match="schema version 99"):
        SQLiteStorage(tmp_path / "a.db")


def test_sqlite_not_a_database_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError):
        SQLiteStorage(tmp_path / "a.db")
