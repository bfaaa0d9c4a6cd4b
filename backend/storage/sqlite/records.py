"""SQL for anomaly results, aggregated scores, detector state and API keys.

Rows go in and out through :mod:`backend.storage._records`, so this module only knows tables.
Upserts keep a row's ``id``, which is what makes it usable as a pagination cursor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from backend.analytics._timeconv import to_epoch_ns, utc_now
from backend.analytics.types import SeriesKey
from backend.errors import ValidationError
from backend.storage._checks import AnomalyQuery, TimeBounds
from backend.storage._records import (
    ANOMALY_COLUMNS,
    API_KEY_COLUMNS,
    SCORE_COLUMNS,
    replace_rows,
)
from backend.storage._sql import anomaly_select, score_where
from backend.storage.interface import STATS_KEYS, ApiKeyRecord

__all__ = [
    "STATS_KEYS",
    "STATS_SQL",
    "api_key_rows",
    "delete_anomaly_rows",
    "insert_api_key",
    "load_state",
    "query_anomaly_rows",
    "query_score_rows",
    "replace_anomaly_rows",
    "revoke_api_key",
    "save_state",
    "upsert_anomaly_rows",
    "upsert_score_rows",
]

Row = tuple[Any, ...]


def _upsert_sql(table: str, columns: tuple[str, ...], key_len: int) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[key_len:])
    conflict = ", ".join(columns[:key_len])
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


_UPSERT_ANOMALY = _upsert_sql("anomaly_results", ANOMALY_COLUMNS, 6)
_UPSERT_SCORE = _upsert_sql("aggregated_scores", SCORE_COLUMNS, 5)


def upsert_anomaly_rows(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Insert or update by (series, window_start, window_end)."""
    conn.executemany(_UPSERT_ANOMALY, rows)


_DELETE_ANOMALY = (
    f"DELETE FROM anomaly_results WHERE {' AND '.join(f'{c} = ?' for c in ANOMALY_COLUMNS[:6])}"
)


def delete_anomaly_rows(conn: sqlite3.Connection, identities: list[Row]) -> None:
    """Delete by (series, window_start, window_end); identities not stored are ignored."""
    conn.executemany(_DELETE_ANOMALY, identities)


_UPDATE_ANOMALY = (
    f"UPDATE anomaly_results SET {', '.join(f'{c} = ?' for c in ANOMALY_COLUMNS)} "
    f"WHERE {' AND '.join(f'{c} = ?' for c in ANOMALY_COLUMNS[:6])}"
)


def replace_anomaly_rows(conn: sqlite3.Connection, gone: list[Row], rows: list[Row]) -> None:
    """Delete the ``gone`` identities and store ``rows``; a row that covers a gone result
    takes its place (and id), see :func:`~backend.storage._records.plan_replacement`."""
    statements = (_UPDATE_ANOMALY, _DELETE_ANOMALY)
    replace_rows(conn, gone, rows, statements, delete_anomaly_rows, upsert_anomaly_rows)


def query_anomaly_rows(conn: sqlite3.Connection, query: AnomalyQuery) -> list[tuple[int, Row]]:
    """(id, row) pairs matching the query, ordered by (window_start, id)."""
    sql, params = anomaly_select("?", query, ", ".join(ANOMALY_COLUMNS))
    return [(row[0], tuple(row[1:])) for row in conn.execute(sql, params)]


def upsert_score_rows(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Insert or update by (tenant, cluster, node, strategy, timestamp)."""
    conn.executemany(_UPSERT_SCORE, rows)


def query_score_rows(
    conn: sqlite3.Connection,
    tenant_id: str,
    level: str | None,
    cluster_id: str | None,
    bounds: TimeBounds,
) -> list[tuple[int, Row]]:
    """(id, row) pairs of the tenant's scores, ordered by (timestamp, id)."""
    where, params = score_where("?", tenant_id, level, cluster_id, bounds)
    sql = (
        f"SELECT id, {', '.join(SCORE_COLUMNS)} FROM aggregated_scores "
        f"WHERE {where} ORDER BY timestamp, id"
    )
    return [(row[0], tuple(row[1:])) for row in conn.execute(sql, params)]


def save_state(conn: sqlite3.Connection, key: SeriesKey, engine: str, state: bytes) -> None:
    """Replace the state of (series, engine)."""
    conn.execute(
        "INSERT OR REPLACE INTO detector_state VALUES (?, ?, ?, ?, ?, ?)", (*key, engine, state)
    )


def save_states(
    conn: sqlite3.Connection, engine: str, rows: Sequence[tuple[SeriesKey, bytes]]
) -> None:
    """Replace the states of many series of one engine."""
    conn.executemany(
        "INSERT OR REPLACE INTO detector_state VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, engine, state) for key, state in rows],
    )


def load_state(conn: sqlite3.Connection, key: SeriesKey, engine: str) -> bytes | None:
    """The saved state of (series, engine), or None."""
    row = conn.execute(
        "SELECT state FROM detector_state WHERE tenant_id = ? AND cluster_id = ? "
        "AND node_id = ? AND metric_name = ? AND engine = ?",
        (*key, engine),
    ).fetchone()
    return None if row is None else bytes(row[0])


_KEYS_PER_QUERY = 500  # 4 parameters each: well within SQLite's 32,766


def load_states(
    conn: sqlite3.Connection, engine: str, keys: Sequence[SeriesKey]
) -> dict[SeriesKey, bytes]:
    """The saved states of ``keys`` of one engine (those with one)."""
    found: dict[SeriesKey, bytes] = {}
    for first in range(0, len(keys), _KEYS_PER_QUERY):
        part = keys[first : first + _KEYS_PER_QUERY]
        rows = conn.execute(
            "SELECT tenant_id, cluster_id, node_id, metric_name, state FROM detector_state "
            "WHERE engine = ? AND (tenant_id, cluster_id, node_id, metric_name) IN (VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(part))
            + ")",
            (engine, *(field for key in part for field in key)),
        ).fetchall()
        found.update((SeriesKey(*row[:4]), bytes(row[4])) for row in rows)
    return found


def insert_api_key(conn: sqlite3.Connection, record: ApiKeyRecord, row: Row) -> None:
    """Insert a key; a duplicate key_id or key_hash is a ValidationError."""
    for column in ("key_id", "key_hash"):
        value = getattr(record, column)
        if conn.execute(f"SELECT 1 FROM api_keys WHERE {column} = ?", (value,)).fetchone():
            raise ValidationError(column, value, "already exists")
    conn.execute(
        f"INSERT INTO api_keys ({', '.join(API_KEY_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(API_KEY_COLUMNS))})",
        row,
    )


_KEY_LOOKUPS = ("tenant_id", "key_hash", "key_id")


def api_key_rows(conn: sqlite3.Connection, column: str | None, value: str | None) -> list[Row]:
    """Key rows where ``column`` equals ``value`` (all rows when column is None), oldest first."""
    if column is not None and column not in _KEY_LOOKUPS:
        raise ValueError(f"cannot look API keys up by {column!r}")
    where = "" if column is None else f" WHERE {column} = ?"
    params = () if column is None else (value,)
    sql = f"SELECT {', '.join(API_KEY_COLUMNS)} FROM api_keys{where} ORDER BY created_at, seq"
    return [tuple(row) for row in conn.execute(sql, params)]


def revoke_api_key(conn: sqlite3.Connection, tenant_id: str, key_id: str) -> bool:
    """Stamp revoked_at once; False if the tenant has no such key."""
    found = conn.execute(
        "SELECT revoked_at FROM api_keys WHERE key_id = ? AND tenant_id = ?", (key_id, tenant_id)
    ).fetchone()
    if found is None:
        return False
    if found[0] is None:
        conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (to_epoch_ns(utc_now()), key_id)
        )
    return True


STATS_SQL = """
SELECT
    (SELECT COUNT(*) FROM (SELECT tenant_id FROM series UNION SELECT tenant_id
        FROM anomaly_results UNION SELECT tenant_id FROM aggregated_scores)),
    (SELECT COUNT(*) FROM series),
    (SELECT COALESCE(SUM(n), 0) FROM chunks),
    (SELECT COUNT(*) FROM anomaly_results),
    (SELECT COUNT(*) FROM aggregated_scores)
"""
