"""Retention on the embedded SQLite default: the same policy and roll-ups as PostgreSQL.

Implements :class:`backend.storage.retention.RetentionStore` on a :class:`SQLiteStorage` file,
adding two tables beside the backend's own (``rollup_chunks``, ``retention_watermarks``; created
if missing). Each rolled-up day is one write transaction of the backend, so readers in other
processes see either the raw day or its roll-ups, never neither. SQLite has no partitions: expired
days are deleted rather than dropped. :func:`read_series_with_rollups` is the read path that
stitches tiers together once a watermark exists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import SeriesNotFoundError
from backend.storage._checks import TimeBounds, decode_json
from backend.storage._chunks import DAY_NS, bounds_slice, decode_timestamps, decode_values
from backend.storage.retention import (
    FIVE_MINUTES_S,
    HOUR_S,
    RESOLUTIONS_S,
    Rollup,
    decode_rollup,
    encode_rollup,
    merge_rollups,
    stitch_tiers,
    summarise,
    tier_days,
)

if TYPE_CHECKING:  # the backend may import this module for its read path
    from backend.storage.sqlite import SQLiteStorage

__all__ = ["SQLiteRetention", "read_series_with_rollups", "without_expired_points"]

_DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_chunks (series_id INTEGER NOT NULL, "
    "resolution_s INTEGER NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL, "
    "summary BLOB NOT NULL, PRIMARY KEY (series_id, resolution_s, day)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS retention_watermarks (tenant_id TEXT NOT NULL, "
    "tier TEXT NOT NULL, first_day INTEGER NOT NULL, PRIMARY KEY (tenant_id, tier)) WITHOUT ROWID",
)
_RAISE = (
    "INSERT INTO retention_watermarks (tenant_id, tier, first_day) VALUES (?, ?, ?) "
    "ON CONFLICT (tenant_id, tier) DO UPDATE SET first_day = max(first_day, excluded.first_day)"
)
_MIN_DAY, _MAX_DAY = -(2**62), 2**62
_SERIES = (
    "SELECT id, metadata FROM series WHERE tenant_id = ? AND cluster_id = ? AND node_id = ? "
    "AND metric_name = ?"
)


class SQLiteRetention:
    """:class:`~backend.storage.retention.RetentionStore` over an embedded database."""

    def __init__(self, storage: SQLiteStorage) -> None:
        self.storage = storage
        with storage._write() as conn:
            for statement in _DDL:
                conn.execute(statement)

    def retention_tenants(self) -> list[str]:
        """Every tenant that has series."""
        with self.storage._read() as conn:
            rows = conn.execute("SELECT DISTINCT tenant_id FROM series ORDER BY 1").fetchall()
        return [row[0] for row in rows]

    def raw_days_before(self, day: int) -> list[tuple[str, int]]:
        """(tenant, day) pairs with raw chunks before ``day``."""
        with self.storage._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT s.tenant_id, c.day FROM chunks AS c "
                "JOIN series AS s ON s.id = c.series_id WHERE c.day < ?",
                (day,),
            ).fetchall()
        return [(str(t), int(d)) for t, d in rows]

    def roll_up_day(self, day: int, tenants: Sequence[str]) -> int:
        """Summarise, merge, delete and raise watermarks for one day, in one transaction."""
        marks = ", ".join("?" * len(tenants))
        with self.storage._write() as conn:
            raw = conn.execute(
                "SELECT c.series_id, c.n, c.ts_codec, c.ts, c.vals FROM chunks AS c "
                "JOIN series AS s ON s.id = c.series_id "
                f"WHERE c.day = ? AND s.tenant_id IN ({marks})",
                (day, *tenants),
            ).fetchall()
            points = sum(int(row[1]) for row in raw)
            for series_id, n, codec, ts_blob, vals_blob in raw:
                ts, values = decode_timestamps(codec, ts_blob, n), decode_values(vals_blob)
                _merge_into(conn, int(series_id), day, ts, values)
                conn.execute("DELETE FROM chunks WHERE series_id = ? AND day = ?", (series_id, day))
            conn.executemany(_RAISE, [(t, "raw", day + 1) for t in tenants])
        return points

    def raise_watermarks(self, tier: str, first_days: Mapping[str, int]) -> None:
        """Raise (never lower) the tier's watermark of each tenant."""
        with self.storage._write() as conn:
            conn.executemany(_RAISE, [(t, tier, d) for t, d in first_days.items()])

    def expire_rollups(self, resolution_s: int, tenant_id: str, before_day: int) -> int:
        """Delete the tenant's roll-ups at this resolution before ``before_day``."""
        with self.storage._write() as conn:
            cur = conn.execute(
                "DELETE FROM rollup_chunks WHERE resolution_s = ? AND day < ? "
                "AND series_id IN (SELECT id FROM series WHERE tenant_id = ?)",
                (resolution_s, before_day, tenant_id),
            )
            return max(cur.rowcount, 0)

    def drop_expired_partitions(self, before_day: int) -> int:
        """SQLite has no partitions: expired days were deleted row by row."""
        return 0


def _merge_into(
    conn: sqlite3.Connection, series_id: int, day: int, ts: np.ndarray, values: np.ndarray
) -> None:
    for resolution in RESOLUTIONS_S:
        rollup = summarise(ts, values, resolution)
        old = conn.execute(
            "SELECT summary FROM rollup_chunks "
            "WHERE series_id = ? AND resolution_s = ? AND day = ?",
            (series_id, resolution, day),
        ).fetchone()
        if old is not None:
            rollup = merge_rollups(decode_rollup(old[0]), rollup)
        conn.execute(
            "INSERT OR REPLACE INTO rollup_chunks VALUES (?, ?, ?, ?, ?)",
            (series_id, resolution, day, len(rollup), encode_rollup(rollup)),
        )


def read_series_with_rollups(
    conn: sqlite3.Connection, key: SeriesKey, bounds: TimeBounds
) -> MetricSeries:
    """Points of one series within the bounds: raw from the tenant's raw watermark on, roll-up
    means before it (5-minute, then hourly below the 5-minute watermark)."""
    row = conn.execute(_SERIES, tuple(key)).fetchone()
    if row is None:
        raise SeriesNotFoundError(*key)
    series_id, metadata = int(row[0]), decode_json(row[1])
    first = _MIN_DAY if bounds.start_ns is None else bounds.start_ns // DAY_NS
    last = _MAX_DAY if bounds.end_ns is None else bounds.end_ns // DAY_NS
    raw_from, five_from = _watermarks(conn, key.tenant_id)
    tiers = tier_days(first, last, raw_from, five_from)
    raw = _raw(conn, series_id, *tiers.raw)
    hourly = _rollups(conn, series_id, HOUR_S, tiers.hourly)
    five = _rollups(conn, series_id, FIVE_MINUTES_S, tiers.five_minute)
    ts, values = stitch_tiers(hourly, five, raw)
    cut = bounds_slice(ts, bounds.start_ns, bounds.end_ns)
    return MetricSeries.from_arrays(key, ts[cut], values[cut], metadata, bounds.aware)


def read_series_batch_with_rollups(
    conn: sqlite3.Connection, tenant_id: str, keys: Sequence[SeriesKey], bounds: TimeBounds
) -> dict[SeriesKey, MetricSeries]:
    """What :func:`read_series_with_rollups` answers for each of many series of one tenant,
    in two queries when the range holds only raw days (series that do not exist are left
    out); a range reaching into rolled-up days is read series by series."""
    if not keys:
        return {}
    first = _MIN_DAY if bounds.start_ns is None else bounds.start_ns // DAY_NS
    last = _MAX_DAY if bounds.end_ns is None else bounds.end_ns // DAY_NS
    tiers = tier_days(first, last, *_watermarks(conn, tenant_id))
    if tiers.five_minute[0] <= tiers.five_minute[1] or tiers.hourly[0] <= tiers.hourly[1]:
        return {key: read_series_with_rollups(conn, key, bounds) for key in _existing(conn, keys)}
    values_sql = ", ".join("(?, ?, ?, ?)" for _ in keys)
    params = [value for i, key in enumerate(keys) for value in (i, *key[1:])]
    found = conn.execute(
        f"WITH k(ord, cluster_id, node_id, metric_name) AS (VALUES {values_sql}) "
        "SELECT k.ord, s.id, s.metadata FROM k JOIN series AS s ON s.tenant_id = ? "
        "AND s.cluster_id = k.cluster_id AND s.node_id = k.node_id "
        "AND s.metric_name = k.metric_name ORDER BY k.ord",
        (*params, tenant_id),
    ).fetchall()
    ids = {int(series_id): (keys[int(ordinal)], metadata) for ordinal, series_id, metadata in found}
    chunks: dict[int, list[tuple[Any, ...]]] = {series_id: [] for series_id in ids}
    marks = ", ".join("?" * len(ids))
    for row in conn.execute(
        f"SELECT series_id, n, ts_codec, ts, vals FROM chunks WHERE series_id IN ({marks}) "
        "AND day BETWEEN ? AND ? ORDER BY series_id, day",
        (*ids, *tiers.raw),
    ):
        chunks[int(row[0])].append(row[1:])
    out: dict[SeriesKey, MetricSeries] = {}
    for series_id, (key, metadata) in ids.items():
        ts, values = _decoded(chunks[series_id])
        cut = bounds_slice(ts, bounds.start_ns, bounds.end_ns)
        out[key] = MetricSeries.from_arrays(key, ts[cut], values[cut], decode_json(metadata),
                                            bounds.aware)  # fmt: skip
    return {key: out[key] for key in keys if key in out}  # in the order asked


def _existing(conn: sqlite3.Connection, keys: Sequence[SeriesKey]) -> list[SeriesKey]:
    return [key for key in keys if conn.execute(_SERIES, tuple(key)).fetchone() is not None]


def without_expired_points(
    conn: sqlite3.Connection, items: Sequence[MetricSeries]
) -> list[MetricSeries]:
    """The batch minus points older than their tenant's raw watermark: those days were already
    rolled up, so writing the points again must not count them twice."""
    out = []
    for series in items:
        raw_from = _watermarks(conn, series.tenant_id)[0]
        if raw_from is not None and series.length and series.timestamps_ns[0] < raw_from * DAY_NS:
            keep = series.timestamps_ns >= raw_from * DAY_NS
            series = series.with_arrays(series.timestamps_ns[keep], series.values_array[keep])
        out.append(series)
    return out


def _watermarks(conn: sqlite3.Connection, tenant_id: str) -> tuple[int | None, int | None]:
    try:
        rows = conn.execute(
            "SELECT tier, first_day FROM retention_watermarks WHERE tenant_id = ?", (tenant_id,)
        ).fetchall()
    except sqlite3.OperationalError:  # retention never ran on this file: no table yet
        return None, None
    found = {str(tier): int(day) for tier, day in rows}
    return found.get("raw"), found.get("5m")


def _raw(
    conn: sqlite3.Connection, series_id: int, first: int, last: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute(
        "SELECT n, ts_codec, ts, vals FROM chunks WHERE series_id = ? AND day BETWEEN ? AND ? "
        "ORDER BY day",
        (series_id, first, last),
    ).fetchall()
    return _decoded(rows)


def _decoded(rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated points of ``(n, ts_codec, ts, vals)`` chunk rows, in their order."""
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    ts = np.concatenate([decode_timestamps(codec, blob, n) for n, codec, blob, _ in rows])
    return ts, np.concatenate([decode_values(vals) for *_, vals in rows])


def _rollups(
    conn: sqlite3.Connection, series_id: int, resolution_s: int, days: tuple[int, int]
) -> Rollup | None:
    if days[0] > days[1]:
        return None
    rows = conn.execute(
        "SELECT summary FROM rollup_chunks WHERE series_id = ? AND resolution_s = ? "
        "AND day BETWEEN ? AND ? ORDER BY day",
        (series_id, resolution_s, *days),
    ).fetchall()
    parts = [decode_rollup(row[0]) for row in rows]
    if not parts:
        return None
    columns = zip(*((r.bucket_ns, r.count, r.min, r.max, r.mean) for r in parts), strict=True)
    return Rollup(*(np.concatenate(list(c)) for c in columns))
