"""The SQLite file layout, connection settings and schema creation.

Points live in ``chunks``: one row per (series, UTC day) with packed little-endian arrays, so a
week of minute data is 7-8 rows, reads are a single range scan, and retention can delete whole
days. The file runs in WAL mode: readers in any process never block the one writer, and a
crash leaves either the whole last transaction or none of it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from backend.errors import StorageConfigError, StorageError

__all__ = ["SCHEMA_VERSION", "connect", "initialise"]

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (tenant_id, cluster_id, node_id, metric_name)
);
CREATE TABLE IF NOT EXISTS chunks (
    series_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    n INTEGER NOT NULL,
    ts_codec INTEGER NOT NULL,
    ts BLOB NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (series_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anomaly_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    anomaly_score REAL NOT NULL,
    anomaly_label TEXT NOT NULL,
    magnitude REAL,
    explanation TEXT,
    timestamp_detected INTEGER NOT NULL,
    engine_metadata TEXT NOT NULL,
    anomaly_kind TEXT,
    UNIQUE (tenant_id, cluster_id, node_id, metric_name, window_start, window_end)
);
CREATE INDEX IF NOT EXISTS anomaly_results_time ON anomaly_results (tenant_id, window_start);
CREATE TABLE IF NOT EXISTS aggregated_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    aggregation_strategy TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    aggregate_score REAL NOT NULL,
    num_metrics_analyzed INTEGER NOT NULL,
    num_anomalies_detected INTEGER NOT NULL,
    contributors TEXT NOT NULL,
    UNIQUE (tenant_id, cluster_id, node_id, aggregation_strategy, timestamp)
);
CREATE INDEX IF NOT EXISTS aggregated_scores_time ON aggregated_scores (tenant_id, timestamp);
CREATE TABLE IF NOT EXISTS detector_state (
    tenant_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    engine TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (tenant_id, cluster_id, node_id, metric_name, engine)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    label TEXT NOT NULL,
    aware INTEGER NOT NULL
);
"""

_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -16000",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA journal_size_limit = 67108864",
)
_OPEN_RETRY_S = 0.05


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with our pragmas set."""
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StorageConfigError(f"cannot open SQLite database {str(path)!r}: {exc}") from exc
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageConfigError(f"cannot open SQLite database {str(path)!r}: {exc}") from exc
    return conn


def initialise(conn: sqlite3.Connection, path: Path, busy_timeout_s: float) -> None:
    """Switch to WAL and create missing tables; safe when several processes open at once."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            _initialise_once(conn, path)
            return
        except sqlite3.Error as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StorageError(f"cannot initialise {str(path)!r}: {exc}") from exc
            time.sleep(_OPEN_RETRY_S)


def _initialise_once(conn: sqlite3.Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageConfigError(f"{str(path)!r} cannot use WAL journaling (got {mode!r})")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageConfigError(
            f"{str(path)!r} has schema version {version}, newer than this code ({SCHEMA_VERSION})"
        )
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
