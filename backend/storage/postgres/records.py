"""SQL for anomaly results, aggregated scores, detector state, API keys and counts.

Rows go in and out through :mod:`backend.storage._records` (times as epoch ns, JSON as text),
so PostgreSQL returns exactly what every other backend returns. Upserts keep a row's ``id``,
which is what makes it usable as a pagination cursor. Every query names the tenant, except
:func:`find_api_key`, which is how a tenant is found in the first place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

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
from backend.storage.interface import STATS_KEYS

__all__ = [
    "STATS_KEYS",
    "api_key_rows",
    "delete_anomaly_rows",
    "insert_api_key",
    "load_state",
    "query_anomaly_rows",
    "query_score_rows",
    "replace_anomaly_rows",
    "revoke_api_key",
    "save_state",
    "stats",
    "upsert_anomaly_rows",
    "upsert_score_rows",
]

Row = tuple[Any, ...]
_ANOMALY_TYPES = (
    "text", "text", "text", "text", "int8", "int8", "float8", "text", "float8", "text", "int8",
    "jsonb", "text",
)  # fmt: skip
_SCORE_TYPES = ("text", "text", "text", "text", "int8", "float8", "int4", "int4", "jsonb")
_STATS = """
SELECT
    (SELECT count(*) FROM (SELECT tenant_id FROM series UNION SELECT tenant_id
        FROM anomaly_results UNION SELECT tenant_id FROM aggregated_scores) AS t),
    (SELECT count(*) FROM series),
    (SELECT coalesce(sum(n), 0) FROM point_chunks),
    (SELECT count(*) FROM anomaly_results),
    (SELECT count(*) FROM aggregated_scores)
"""


def _select(columns: tuple[str, ...], json_columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c}::text" if c in json_columns else c for c in columns)


def _upsert_sql(table: str, columns: tuple[str, ...], types: tuple[str, ...], key: int) -> str:
    arrays = ", ".join(f"%s::{'text' if t == 'jsonb' else t}[]" for t in types)
    casts = ", ".join(
        f"{c}::jsonb" if t == "jsonb" else c for c, t in zip(columns, types, strict=True)
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[key:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {casts} "
        f"FROM unnest({arrays}) AS u({', '.join(columns)}) "
        f"ON CONFLICT ({', '.join(columns[:key])}) DO UPDATE SET {updates}"
    )


_UPSERT_ANOMALIES = _upsert_sql("anomaly_results", ANOMALY_COLUMNS, _ANOMALY_TYPES, 6)
_UPSERT_SCORES = _upsert_sql("aggregated_scores", SCORE_COLUMNS, _SCORE_TYPES, 5)


def _last_per_key(rows: list[Row], key: int) -> list[Row]:
    """One row per conflict key (the last wins), as one statement may touch a row only once."""
    return list({row[:key]: row for row in rows}.values())


def upsert_anomaly_rows(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Insert or update by (series, window_start, window_end)."""
    unique = _last_per_key(rows, 6)
    if unique:
        conn.execute(_UPSERT_ANOMALIES, [list(c) for c in zip(*unique, strict=True)])


_DELETE_ANOMALIES = (
    "DELETE FROM anomaly_results AS a USING unnest(%s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::int8[], %s::int8[]) AS u(tenant_id, cluster_id, node_id, metric_name, "
    "window_start, window_end) WHERE " + " AND ".join(f"a.{c} = u.{c}" for c in ANOMALY_COLUMNS[:6])
)


def delete_anomaly_rows(conn: psycopg.Connection, identities: list[Row]) -> None:
    """Delete by (series, window_start, window_end) in one statement; identities not stored
    are ignored."""
    if identities:
        conn.execute(_DELETE_ANOMALIES, [list(c) for c in zip(*identities, strict=True)])


_UPDATE_ANOMALY = (
    "UPDATE anomaly_results SET "
    + ", ".join(
        f"{c} = %s::jsonb" if t == "jsonb" else f"{c} = %s"
        for c, t in zip(ANOMALY_COLUMNS, _ANOMALY_TYPES, strict=True)
    )
    + " WHERE "
    + " AND ".join(f"{c} = %s" for c in ANOMALY_COLUMNS[:6])
)
_DELETE_ONE_ANOMALY = "DELETE FROM anomaly_results WHERE " + " AND ".join(
    f"{c} = %s" for c in ANOMALY_COLUMNS[:6]
)


def replace_anomaly_rows(conn: psycopg.Connection, gone: list[Row], rows: list[Row]) -> None:
    """Delete the ``gone`` identities and store ``rows``; a row that covers a gone result
    takes its place (and id), see :func:`~backend.storage._records.plan_replacement`."""
    statements = (_UPDATE_ANOMALY, _DELETE_ONE_ANOMALY)
    replace_rows(conn, gone, rows, statements, delete_anomaly_rows, upsert_anomaly_rows)


def query_anomaly_rows(conn: psycopg.Connection, query: AnomalyQuery) -> list[tuple[int, Row]]:
    """(id, row) pairs matching the query, ordered by (window_start, id)."""
    columns = _select(ANOMALY_COLUMNS, ("engine_metadata",))
    sql, params = anomaly_select("%s", query, columns)
    return [(int(row[0]), tuple(row[1:])) for row in conn.execute(sql, params).fetchall()]


def upsert_score_rows(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Insert or update by (tenant, cluster, node, strategy, timestamp)."""
    unique = _last_per_key(rows, 5)
    if unique:
        conn.execute(_UPSERT_SCORES, [list(c) for c in zip(*unique, strict=True)])


def query_score_rows(
    conn: psycopg.Connection,
    tenant_id: str,
    level: str | None,
    cluster_id: str | None,
    bounds: TimeBounds,
    latest_only: bool,
) -> list[tuple[int, Row]]:
    """(id, row) pairs of the tenant's scores by (timestamp, id); ``latest_only`` keeps the
    newest per (cluster, node)."""
    where, params = score_where("%s", tenant_id, level, cluster_id, bounds)
    columns = f"id, {_select(SCORE_COLUMNS, ('contributors',))}"
    inner = f"SELECT {columns} FROM aggregated_scores WHERE {where}"
    if latest_only:
        inner = (
            f"SELECT DISTINCT ON (cluster_id, node_id) {columns} FROM ({inner}) AS s "
            "ORDER BY cluster_id, node_id, timestamp DESC, id DESC"
        )
    query = f"SELECT * FROM ({inner}) AS picked ORDER BY timestamp, id"
    return [(int(row[0]), tuple(row[1:])) for row in conn.execute(query, params).fetchall()]


def save_state(conn: psycopg.Connection, key: SeriesKey, engine: str, state: bytes) -> None:
    """Replace the state of (series, engine)."""
    conn.execute(
        "INSERT INTO detector_state (tenant_id, cluster_id, node_id, metric_name, engine, state) "
        "VALUES (%s, %s, %s, %s, %s, %b) ON CONFLICT (tenant_id, cluster_id, node_id, "
        "metric_name, engine) DO UPDATE SET state = excluded.state, updated_at = now()",
        (*key, engine, state),
    )


def save_states(
    conn: psycopg.Connection, engine: str, rows: Sequence[tuple[SeriesKey, bytes]]
) -> None:
    """Replace the states of many series of one engine (one pipelined statement)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO detector_state (tenant_id, cluster_id, node_id, metric_name, engine, "
            "state) VALUES (%s, %s, %s, %s, %s, %b) ON CONFLICT (tenant_id, cluster_id, "
            "node_id, metric_name, engine) DO UPDATE SET state = excluded.state, "
            "updated_at = now()",
            [(*key, engine, state) for key, state in rows],
        )


def load_state(conn: psycopg.Connection, key: SeriesKey, engine: str) -> bytes | None:
    """The saved state of (series, engine), or None."""
    row = conn.execute(
        "SELECT state FROM detector_state WHERE tenant_id = %s AND cluster_id = %s "
        "AND node_id = %s AND metric_name = %s AND engine = %s",
        (*key, engine),
    ).fetchone()
    return None if row is None else bytes(row[0])


def load_states(
    conn: psycopg.Connection, engine: str, keys: Sequence[SeriesKey]
) -> dict[SeriesKey, bytes]:
    """The saved states of ``keys`` of one engine (those with one)."""
    columns = [list(part) for part in zip(*keys, strict=True)]
    rows = conn.execute(
        "SELECT d.tenant_id, d.cluster_id, d.node_id, d.metric_name, d.state "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
        "AS k(tenant_id, cluster_id, node_id, metric_name) JOIN detector_state d USING "
        "(tenant_id, cluster_id, node_id, metric_name) WHERE d.engine = %s",
        (*columns, engine),
    ).fetchall()
    return {SeriesKey(*row[:4]): bytes(row[4]) for row in rows}


def insert_api_key(conn: psycopg.Connection, row: Row) -> None:
    """Insert a key; a duplicate key_id or key_hash is a ValidationError naming the field."""
    try:
        with conn.transaction():
            conn.execute(
                f"INSERT INTO api_keys ({', '.join(API_KEY_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(API_KEY_COLUMNS))})",
                (*row[:-1], bool(row[-1])),
            )
    except pg_errors.UniqueViolation as exc:
        constraint = exc.diag.constraint_name or ""
        field = "key_hash" if "key_hash" in constraint else "key_id"
        value = row[API_KEY_COLUMNS.index(field)]
        raise ValidationError(field, value, "already exists") from None


def api_key_rows(conn: psycopg.Connection, column: str | None, value: str | None) -> list[Row]:
    """Key rows where ``column`` (tenant_id, key_hash or key_id) equals ``value`` (all rows
    when column is None), oldest first."""
    if column is not None and column not in ("tenant_id", "key_hash", "key_id"):
        raise ValueError(f"cannot look API keys up by {column!r}")
    where = "" if column is None else f" WHERE {column} = %s"
    params = () if column is None else (value,)
    rows = conn.execute(
        f"SELECT {', '.join(API_KEY_COLUMNS)} FROM api_keys{where} ORDER BY created_at, seq",
        params,
    ).fetchall()
    return [(*row[:-1], int(row[-1])) for row in rows]


def revoke_api_key(conn: psycopg.Connection, tenant_id: str, key_id: str, now_ns: int) -> bool:
    """Stamp revoked_at once; False if the tenant has no such key."""
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) "
        "WHERE key_id = %s AND tenant_id = %s RETURNING 1",
        (now_ns, key_id, tenant_id),
    ).fetchone()
    return row is not None


def stats(conn: psycopg.Connection) -> dict[str, int]:
    """The counts :meth:`StorageBackend.get_stats` promises."""
    row = conn.execute(_STATS).fetchone()
    return {key: int(value) for key, value in zip(STATS_KEYS, row or (0,) * 5, strict=True)}
