"""Reading and writing series points as day chunks on an open SQLite connection.

Writing merges: the day chunks a batch touches are read back, united with the new points by
timestamp (new values win) and rewritten, so re-ingesting the same points never duplicates them.
Callers hold the write transaction; these functions only issue statements. Values are bound as
numpy views (no copy); the arrays stay alive until the batch's single ``executemany`` ran.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import SeriesNotFoundError
from backend.storage._checks import TimeBounds, decode_json, encode_json
from backend.storage._chunks import (
    DAY_NS,
    Chunk,
    bounds_slice,
    decode_timestamps,
    decode_values,
    encode_timestamps,
    merge_points,
    regular_step,
    split_by_day,
)

__all__ = ["ChunkRow", "chunk_rows", "read_series", "resolve_series", "write_chunks"]

ChunkRow = tuple[int, int, int, int, bytes, np.ndarray]
"""(series_id, day, n, ts_codec, ts blob, values): one row of the ``chunks`` table."""

_SERIES_WHERE = "tenant_id = ? AND cluster_id = ? AND node_id = ? AND metric_name = ?"
_FAR = 2**62
_LOOKUP_BATCH = 500
_LOOKUP = """
SELECT s.id, s.metadata, s.tenant_id, s.cluster_id, s.node_id, s.metric_name
FROM (VALUES {values}) AS v CROSS JOIN series AS s
ON s.tenant_id = v.column1 AND s.cluster_id = v.column2 AND s.node_id = v.column3
AND s.metric_name = v.column4
"""
_EXISTING = """
SELECT c.series_id, c.day, c.n, c.ts_codec, c.ts, c.vals
FROM (VALUES {values}) AS v CROSS JOIN chunks AS c
ON c.series_id = v.column1 AND c.day BETWEEN v.column2 AND v.column3
"""
_READ = f"""
SELECT s.metadata, c.n, c.ts_codec, c.ts, c.vals
FROM series AS s LEFT JOIN chunks AS c ON c.series_id = s.id AND c.day BETWEEN ? AND ?
WHERE s.{_SERIES_WHERE.replace(" AND ", " AND s.")}
ORDER BY c.day
"""


def resolve_series(conn: sqlite3.Connection, items: list[MetricSeries]) -> list[tuple[int, bool]]:
    """(id, is_new) of each series, in batch order: new ones are created, metadata merged.

    Keys must be unique in ``items``. Ids of new series continue from the largest one, which
    is safe because the caller holds the write transaction.
    """
    found = _lookup_series(conn, [series.key for series in items])
    next_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM series").fetchone()[0]) + 1
    inserts, updates, resolved = [], [], []
    for series in items:
        hit = found.get(series.key)
        if hit is None:
            text = encode_json("metadata", series.metadata) if series.metadata else "{}"
            inserts.append((next_id, *series.key, text))
            resolved.append((next_id, True))
            next_id += 1
            continue
        series_id, old_text = hit
        if series.metadata:
            text = encode_json("metadata", {**decode_json(old_text), **series.metadata})
            if text != old_text:
                updates.append((text, series_id))
        resolved.append((series_id, False))
    conn.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)", inserts)
    conn.executemany("UPDATE series SET metadata = ? WHERE id = ?", updates)
    return resolved


def _lookup_series(conn: sqlite3.Connection, keys: list[SeriesKey]) -> dict[SeriesKey, Any]:
    found: dict[SeriesKey, Any] = {}
    for start in range(0, len(keys), _LOOKUP_BATCH):
        part = keys[start : start + _LOOKUP_BATCH]
        values = ", ".join(["(?, ?, ?, ?)"] * len(part))
        rows = conn.execute(_LOOKUP.format(values=values), [v for key in part for v in key])
        for series_id, metadata, *key in rows:
            found[SeriesKey(*key)] = (int(series_id), metadata)
    return found


def chunk_rows(
    conn: sqlite3.Connection, items: list[MetricSeries], ids: list[tuple[int, bool]]
) -> list[ChunkRow]:
    """Every series' points merged into its day chunks, as rows to write.

    Existing chunks are fetched for the whole batch at once; chunks that already hold exactly
    the new points are left out, so re-ingesting identical data rewrites nothing.
    """
    split = [list(split_by_day(s.timestamps_ns, s.values_array)) for s in items]
    wanted = [
        (series_id, chunks[0].day, chunks[-1].day)
        for (series_id, is_new), chunks in zip(ids, split, strict=True)
        if chunks and not is_new
    ]
    existing = _existing_chunks(conn, wanted)
    rows: list[ChunkRow] = []
    for series, (series_id, _), chunks in zip(items, ids, split, strict=True):
        if chunks:
            rows.extend(_series_rows(series, series_id, chunks, existing))
    return rows


def _series_rows(
    series: MetricSeries,
    series_id: int,
    chunks: list[Chunk],
    existing: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
) -> list[ChunkRow]:
    step = regular_step(series.timestamps_ns)
    rows = []
    for chunk in chunks:
        ts, values, known_step = chunk.timestamps_ns, chunk.values, step
        old = existing.get((series_id, chunk.day))
        if old is not None:
            if _already_stored(old, ts, values):
                continue  # re-ingesting identical points: nothing to rewrite
            ts, values = merge_points(old[0], old[1], ts, values)
            known_step = step if ts is chunk.timestamps_ns else None
        codec, ts_blob = encode_timestamps(ts, known_step)
        vals_blob = np.ascontiguousarray(values, dtype="<f8")
        rows.append((series_id, chunk.day, int(ts.size), codec, ts_blob, vals_blob))
    return rows


def write_chunks(conn: sqlite3.Connection, rows: list[ChunkRow]) -> None:
    """Insert or replace chunk rows (one statement for a whole batch)."""
    conn.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)


def _already_stored(old: tuple[np.ndarray, np.ndarray], ts: np.ndarray, values: np.ndarray) -> bool:
    """Whether every new point is already in the chunk with the same value."""
    old_ts, old_values = old
    if ts.size > old_ts.size:
        return False
    idx = np.minimum(np.searchsorted(old_ts, ts), old_ts.size - 1)
    return bool((old_ts[idx] == ts).all() and (old_values[idx] == values).all())


def _existing_chunks(
    conn: sqlite3.Connection, wanted: list[tuple[int, int, int]]
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Stored chunks of (series_id, first_day, last_day) ranges, keyed by (series_id, day)."""
    found: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        part = wanted[start : start + _LOOKUP_BATCH]
        values = ", ".join(["(?, ?, ?)"] * len(part))
        rows = conn.execute(_EXISTING.format(values=values), [v for item in part for v in item])
        for series_id, day, n, codec, ts, vals in rows:
            found[(series_id, day)] = (decode_timestamps(codec, ts, n), decode_values(vals))
    return found


def read_series(conn: sqlite3.Connection, key: SeriesKey, bounds: TimeBounds) -> MetricSeries:
    """Points of one series within the bounds (one statement, so one consistent snapshot)."""
    first_day = -_FAR if bounds.start_ns is None else bounds.start_ns // DAY_NS
    last_day = _FAR if bounds.end_ns is None else bounds.end_ns // DAY_NS
    rows = conn.execute(_READ, (first_day, last_day, *key)).fetchall()
    if not rows:
        raise SeriesNotFoundError(*key)
    ts, values = _concatenate([row for row in rows if row[1] is not None])
    cut = bounds_slice(ts, bounds.start_ns, bounds.end_ns)
    return MetricSeries.from_arrays(
        key, ts[cut], values[cut], decode_json(rows[0][0]), bounds.aware
    )


def _concatenate(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    ts = [decode_timestamps(codec, blob, n) for _, n, codec, blob, _ in rows]
    values = [decode_values(vals) for *_, vals in rows]
    return np.concatenate(ts), np.concatenate(values)
