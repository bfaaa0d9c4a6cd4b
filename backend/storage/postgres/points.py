"""Writing and reading points as (series, UTC day) chunks on one PostgreSQL connection.

A batch is written in the caller's transaction: series rows are resolved (inserted when new),
the day chunks the batch touches are locked with ``SELECT ... FOR UPDATE`` in (series, day)
order, merged with the new points in numpy (new values win, so re-ingesting is idempotent) and
written back with one ``UPDATE``; chunks that do not exist yet go in through binary ``COPY``.
Two processes writing the same day chunk serialise on its row lock; two inserting the same new
chunk collide on the primary key, and the loser retries its whole transaction
(:data:`RETRYABLE`). Every statement names the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import errors as pg_errors

from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage._checks import encode_json
from backend.storage._chunks import (
    DAY_NS,
    decode_timestamps,
    decode_values,
    encode_timestamps,
    merge_points,
    split_by_day,
)

__all__ = [
    "MAX_DAY",
    "MIN_DAY",
    "RETRYABLE",
    "SeriesIds",
    "SeriesRead",
    "StagedSeries",
    "read_raw_chunks",
    "read_series",
    "read_series_batch",
    "stage_batch",
    "write_batch",
]

MIN_DAY = -(2**31)
MAX_DAY = 2**31 - 1
RETRYABLE: tuple[type[psycopg.Error], ...] = (
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.CheckViolation,
)
"""Errors after which the whole write transaction is retried (a concurrent writer won a race,
or a partition was dropped under us)."""

_COPY_CHUNKS = (
    "COPY point_chunks (tenant_id, series_id, day, n, ts_codec, ts, vals) "
    "FROM STDIN (FORMAT BINARY)"
)
_CHUNK_TYPES = ["text", "int4", "int4", "int4", "int2", "bytea", "bytea"]
_KEYS = "unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
_FIND_SERIES = f"""
SELECT s.series_id, s.tenant_id, s.cluster_id, s.node_id, s.metric_name
FROM {_KEYS} AS k(t, c, n, m)
JOIN series AS s ON s.tenant_id = k.t AND s.cluster_id = k.c AND s.node_id = k.n
    AND s.metric_name = k.m
"""
_INSERT_SERIES = """
INSERT INTO series (tenant_id, cluster_id, node_id, metric_name, metadata)
SELECT t, c, n, m, md::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS k(t, c, n, m, md)
ON CONFLICT DO NOTHING
RETURNING series_id, tenant_id, cluster_id, node_id, metric_name
"""
_MERGE_METADATA = """
UPDATE series AS s SET metadata = s.metadata || u.md::jsonb
FROM unnest(%s::int4[], %s::text[], %s::text[]) AS u(series_id, tenant_id, md)
WHERE s.series_id = u.series_id AND s.tenant_id = u.tenant_id AND NOT s.metadata @> u.md::jsonb
"""
_LOCK_CHUNKS = """
SELECT c.series_id, c.day, c.n, c.ts_codec, c.ts, c.vals
FROM point_chunks AS c
JOIN unnest(%s::text[], %s::int4[], %s::int4[]) AS k(tenant_id, series_id, day)
    ON c.series_id = k.series_id AND c.day = k.day AND c.tenant_id = k.tenant_id
ORDER BY c.series_id, c.day
FOR UPDATE OF c
"""
_UPDATE_CHUNKS = """
UPDATE point_chunks AS c SET n = u.n, ts_codec = u.codec, ts = u.ts, vals = u.vals
FROM unnest(%s::text[], %s::int4[], %s::int4[], %s::int4[], %s::int2[], %s::bytea[], %s::bytea[])
    AS u(tenant_id, series_id, day, n, codec, ts, vals)
WHERE c.series_id = u.series_id AND c.day = u.day AND c.tenant_id = u.tenant_id
"""
_READ_SERIES = """
SELECT s.series_id, s.metadata::text, wr.first_day, w5.first_day, c.n, c.ts_codec, c.ts, c.vals
FROM series AS s
LEFT JOIN retention_watermarks AS wr ON wr.tenant_id = s.tenant_id AND wr.tier = 'raw'
LEFT JOIN retention_watermarks AS w5 ON w5.tenant_id = s.tenant_id AND w5.tier = '5m'
LEFT JOIN point_chunks AS c ON c.series_id = s.series_id AND c.tenant_id = s.tenant_id
    AND c.day BETWEEN %s AND %s
WHERE s.tenant_id = %s AND s.cluster_id = %s AND s.node_id = %s AND s.metric_name = %s
ORDER BY c.day
"""
_READ_BATCH = """
SELECT k.ord, s.series_id, s.metadata::text, wr.first_day, w5.first_day,
    c.n, c.ts_codec, c.ts, c.vals
FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS k(cluster_id, node_id,
    metric_name, ord)
JOIN series AS s ON s.tenant_id = %s AND s.cluster_id = k.cluster_id
    AND s.node_id = k.node_id AND s.metric_name = k.metric_name
LEFT JOIN retention_watermarks AS wr ON wr.tenant_id = s.tenant_id AND wr.tier = 'raw'
LEFT JOIN retention_watermarks AS w5 ON w5.tenant_id = s.tenant_id AND w5.tier = '5m'
LEFT JOIN point_chunks AS c ON c.series_id = s.series_id AND c.tenant_id = s.tenant_id
    AND c.day BETWEEN %s AND %s
ORDER BY k.ord, c.day
"""
_READ_RAW = """
SELECT n, ts_codec, ts, vals FROM point_chunks
WHERE tenant_id = %s AND series_id = %s AND day BETWEEN %s AND %s
ORDER BY day
"""


@dataclass
class StagedSeries:
    """One series of a batch after merging duplicates of the same key within the batch."""

    key: SeriesKey
    timestamps_ns: np.ndarray
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> np.ndarray:
        """Distinct UTC days the points fall on."""
        return np.unique(np.floor_divide(self.timestamps_ns, DAY_NS))


def stage_batch(items: Sequence[MetricSeries]) -> dict[SeriesKey, StagedSeries]:
    """Merge the batch per key (later series win on equal timestamps), checking metadata."""
    staged: dict[SeriesKey, StagedSeries] = {}
    for series in items:
        encode_json("metadata", series.metadata)
        ts, values = series.timestamps_ns, series.values_array
        current = staged.get(series.key)
        if current is None:
            staged[series.key] = StagedSeries(series.key, ts, values, dict(series.metadata))
            continue
        current.timestamps_ns, current.values = merge_points(
            current.timestamps_ns, current.values, ts, values
        )
        current.metadata.update(series.metadata)
    return staged


class SeriesIds:
    """Series ids by key: a bounded per-process cache in front of the ``series`` table.

    Ids never change once assigned, so a cached id stays valid; the cache only saves a round
    trip. It is cleared when it grows past ``max_entries``.
    """

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self.max_entries = max_entries
        self._ids: dict[SeriesKey, int] = {}

    def get(self, key: SeriesKey) -> int | None:
        """The cached id of ``key``, or None."""
        return self._ids.get(key)

    def remember(self, key: SeriesKey, series_id: int) -> None:
        """Cache an id (clearing the cache first when it is full)."""
        if len(self._ids) >= self.max_entries:
            self._ids.clear()
        self._ids[key] = series_id

    def resolve(
        self, conn: psycopg.Connection, staged: dict[SeriesKey, StagedSeries]
    ) -> tuple[dict[SeriesKey, int], set[SeriesKey]]:
        """(ids of every staged key, keys created by this transaction)."""
        ids = {key: i for key in staged if (i := self.get(key)) is not None}
        unknown = [key for key in staged if key not in ids]
        created: set[SeriesKey] = set()
        if unknown:
            ids.update(_find_series(conn, unknown))
            missing = [key for key in unknown if key not in ids]
            if missing:
                inserted = _insert_series(conn, [staged[key] for key in missing])
                ids.update(inserted)
                created.update(inserted)
                still = [key for key in missing if key not in ids]
                ids.update(_find_series(conn, still) if still else {})
        return ids, created

    def commit(self, ids: dict[SeriesKey, int]) -> None:
        """Remember ids once their transaction committed."""
        for key, series_id in ids.items():
            if key not in self._ids:
                self.remember(key, series_id)


def _columns(keys: Sequence[SeriesKey]) -> list[list[str]]:
    return [[key[i] for key in keys] for i in range(4)]


def _find_series(conn: psycopg.Connection, keys: Sequence[SeriesKey]) -> dict[SeriesKey, int]:
    rows = conn.execute(_FIND_SERIES, _columns(keys)).fetchall()
    return {SeriesKey(*row[1:]): int(row[0]) for row in rows}


def _insert_series(
    conn: psycopg.Connection, staged: Sequence[StagedSeries]
) -> dict[SeriesKey, int]:
    metadata = [encode_json("metadata", s.metadata) for s in staged]
    rows = conn.execute(_INSERT_SERIES, [*_columns([s.key for s in staged]), metadata]).fetchall()
    return {SeriesKey(*row[1:]): int(row[0]) for row in rows}


def write_batch(
    conn: psycopg.Connection,
    staged: dict[SeriesKey, StagedSeries],
    ids: dict[SeriesKey, int],
    created: set[SeriesKey],
) -> None:
    """Merge the staged points into day chunks (inside the caller's transaction).

    Series created by this very transaction cannot have chunks yet, so they skip the lookup.
    """
    _merge_metadata(conn, staged, ids, created)
    pieces = [
        (key.tenant_id, ids[key], chunk, key in created)
        for key, s in staged.items()
        for chunk in split_by_day(s.timestamps_ns, s.values)
    ]
    existing = _lock_existing(conn, [(t, i, c.day) for t, i, c, new in pieces if not new])
    new_rows: list[tuple[Any, ...]] = []
    merged_rows: list[tuple[Any, ...]] = []
    for tenant_id, series_id, chunk, _ in pieces:
        ts, values = chunk.timestamps_ns, chunk.values
        old = existing.get((series_id, chunk.day))
        if old is not None:
            ts, values = merge_points(old[0], old[1], ts, values)
        codec, ts_blob = encode_timestamps(ts)
        row = (tenant_id, series_id, chunk.day, int(ts.size), codec, ts_blob, _pack(values))
        (merged_rows if old is not None else new_rows).append(row)
    if merged_rows:
        conn.execute(_UPDATE_CHUNKS, [list(col) for col in zip(*merged_rows, strict=True)])
    if new_rows:
        _copy_chunks(conn, new_rows)


def _merge_metadata(
    conn: psycopg.Connection,
    staged: dict[SeriesKey, StagedSeries],
    ids: dict[SeriesKey, int],
    created: set[SeriesKey],
) -> None:
    """Top-level keys of new metadata replace old ones (jsonb ``||``), as in every backend."""
    todo = [
        (ids[k], k.tenant_id, s.metadata)
        for k, s in staged.items()
        if s.metadata and k not in created
    ]
    if todo:
        conn.execute(
            _MERGE_METADATA,
            [
                [i for i, _, _ in todo],
                [t for _, t, _ in todo],
                [encode_json("metadata", m) for *_, m in todo],
            ],
        )


def _lock_existing(
    conn: psycopg.Connection, wanted: list[tuple[str, int, int]]
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Existing chunks among (tenant, series, day), locked for update, decoded."""
    if not wanted:
        return {}
    columns = [list(col) for col in zip(*wanted, strict=True)]
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_LOCK_CHUNKS, columns).fetchall()
    return {
        (int(sid), int(day)): (decode_timestamps(codec, ts, n), decode_values(vals))
        for sid, day, n, codec, ts, vals in rows
    }


def _pack(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _copy_chunks(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(_COPY_CHUNKS) as copy:
        copy.set_types(_CHUNK_TYPES)
        for row in rows:
            copy.write_row(row)


@dataclass(frozen=True)
class SeriesRead:
    """One statement's answer: the series, its tenant's watermarks and its raw points."""

    series_id: int
    metadata: str
    raw_from: int | None
    five_from: int | None
    timestamps_ns: np.ndarray
    values: np.ndarray


def read_series(
    conn: psycopg.Connection, key: SeriesKey, first_day: int, last_day: int
) -> SeriesRead | None:
    """Series row, watermarks and raw chunks of [first_day, last_day] in one round trip (one
    statement, so one snapshot); None when the tenant has no such series."""
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_READ_SERIES, (first_day, last_day, *key)).fetchall()
    if not rows:
        return None
    series_id, metadata, raw_from, five_from = rows[0][:4]
    chunks = [row[4:] for row in rows if row[4] is not None]
    ts, values = _concatenate(chunks)
    return SeriesRead(int(series_id), metadata, raw_from, five_from, ts, values)


def read_series_batch(
    conn: psycopg.Connection,
    tenant_id: str,
    keys: Sequence[SeriesKey],
    first_day: int,
    last_day: int,
) -> dict[SeriesKey, SeriesRead]:
    """What :func:`read_series` answers, for many series of one tenant in one statement
    (one snapshot); series that do not exist are left out."""
    if not keys:
        return {}
    columns = [[key.cluster_id for key in keys], [key.node_id for key in keys],
               [key.metric_name for key in keys]]  # fmt: skip
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_READ_BATCH, (*columns, tenant_id, first_day, last_day)).fetchall()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(int(row[0]), []).append(row[1:])
    found: dict[SeriesKey, SeriesRead] = {}
    for ordinal, series_rows in grouped.items():
        series_id, metadata, raw_from, five_from = series_rows[0][:4]
        chunks = [row[4:] for row in series_rows if row[4] is not None]
        ts, values = _concatenate(chunks)
        found[keys[ordinal - 1]] = SeriesRead(
            int(series_id), metadata, raw_from, five_from, ts, values
        )
    return found


def _concatenate(rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return _empty()
    ts = [decode_timestamps(codec, blob, n) for n, codec, blob, _ in rows]
    values = [decode_values(vals) for *_, vals in rows]
    return np.concatenate(ts), np.concatenate(values)


def read_raw_chunks(
    conn: psycopg.Connection, tenant_id: str, series_id: int, first_day: int, last_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated raw points of the series' chunks for days in [first_day, last_day]."""
    if first_day > last_day:
        return _empty()
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_READ_RAW, (tenant_id, series_id, first_day, last_day)).fetchall()
    return _concatenate(rows)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
