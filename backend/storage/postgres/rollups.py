"""The PostgreSQL side of retention: roll raw day chunks up, expire roll-ups, drop partitions.

Implements :class:`backend.storage.retention.RetentionStore`. Rolling up a day is one
transaction: the day's chunks of the due tenants are locked (``FOR UPDATE``, so a concurrent
writer merging into one waits and then finds it gone and writes a fresh chunk), summarised in
batches of series to bound memory, merged into ``rollup_chunks``, deleted, and the tenants' raw
watermarks raised. Empty daily partitions older than every tenant's horizon are then dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import ConnectionPool

from backend.storage._chunks import decode_timestamps, decode_values
from backend.storage.postgres.partitions import PartitionManager, partition_name
from backend.storage.retention import (
    FIVE_MINUTES_S,
    HOUR_S,
    RESOLUTIONS_S,
    Rollup,
    decode_rollup,
    encode_rollup,
    merge_rollups,
    summarise,
)

__all__ = ["PostgresRetention", "read_rollups", "watermarks"]

_BATCH_SERIES = 2000
_LOCK_DAY = """
SELECT series_id FROM point_chunks WHERE day = %s AND tenant_id = ANY(%s)
ORDER BY series_id FOR UPDATE
"""
_READ_DAY = """
SELECT tenant_id, series_id, n, ts_codec, ts, vals FROM point_chunks
WHERE day = %s AND series_id = ANY(%s) AND tenant_id = ANY(%s)
"""
_READ_ROLLUPS_FOR_UPDATE = """
SELECT series_id, resolution_s, summary FROM rollup_chunks
WHERE day = %s AND series_id = ANY(%s) AND tenant_id = ANY(%s)
FOR UPDATE
"""
_UPSERT_ROLLUPS = """
INSERT INTO rollup_chunks (tenant_id, series_id, resolution_s, day, n, summary)
SELECT * FROM unnest(%s::text[], %s::int4[], %s::int4[], %s::int4[], %s::int4[], %s::bytea[])
ON CONFLICT (series_id, resolution_s, day)
DO UPDATE SET n = excluded.n, summary = excluded.summary
"""
_RAISE_WATERMARKS = """
INSERT INTO retention_watermarks (tenant_id, tier, first_day)
SELECT t, %s, d FROM unnest(%s::text[], %s::int4[]) AS w(t, d)
ON CONFLICT (tenant_id, tier) DO UPDATE
SET first_day = GREATEST(retention_watermarks.first_day, excluded.first_day), updated_at = now()
WHERE retention_watermarks.first_day < excluded.first_day
"""
_READ_TIERS = """
SELECT resolution_s, summary FROM rollup_chunks
WHERE tenant_id = %s AND series_id = %s
  AND ((resolution_s = %s AND day BETWEEN %s AND %s)
    OR (resolution_s = %s AND day BETWEEN %s AND %s))
ORDER BY resolution_s, day
"""


def watermarks(conn: psycopg.Connection, tenant_id: str) -> tuple[int | None, int | None]:
    """(first raw day, first 5-minute day) kept for the tenant; None before any retention run."""
    rows = conn.execute(
        "SELECT tier, first_day FROM retention_watermarks WHERE tenant_id = %s", (tenant_id,)
    ).fetchall()
    found: dict[str, int] = {str(tier): int(day) for tier, day in rows}
    return found.get("raw"), found.get("5m")


def read_rollups(
    conn: psycopg.Connection,
    tenant_id: str,
    series_id: int,
    five_minute_days: tuple[int, int],
    hourly_days: tuple[int, int],
) -> tuple[Rollup | None, Rollup | None]:
    """(hourly, 5-minute) roll-ups of the series over the given inclusive day ranges."""
    params = (tenant_id, series_id, FIVE_MINUTES_S, *five_minute_days, HOUR_S, *hourly_days)
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_READ_TIERS, params).fetchall()
    by_resolution: dict[int, list[Rollup]] = {}
    for resolution, blob in rows:
        by_resolution.setdefault(int(resolution), []).append(decode_rollup(blob))
    return _concat(by_resolution.get(HOUR_S)), _concat(by_resolution.get(FIVE_MINUTES_S))


def _concat(parts: list[Rollup] | None) -> Rollup | None:
    if not parts:
        return None
    columns = zip(*((r.bucket_ns, r.count, r.min, r.max, r.mean) for r in parts), strict=True)
    return Rollup(*(np.concatenate(list(c)) for c in columns))


class PostgresRetention:
    """:class:`~backend.storage.retention.RetentionStore` over a pool of connections."""

    def __init__(self, pool: ConnectionPool, partitions: PartitionManager) -> None:
        self.pool = pool
        self.partitions = partitions

    def retention_tenants(self) -> list[str]:
        """Every tenant that has series."""
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT DISTINCT tenant_id FROM series ORDER BY 1").fetchall()
        return [row[0] for row in rows]

    def raw_days_before(self, day: int) -> list[tuple[str, int]]:
        """(tenant, day) pairs with raw chunks before ``day``."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT tenant_id, day FROM point_chunks WHERE day < %s", (day,)
            ).fetchall()
        return [(str(t), int(d)) for t, d in rows]

    def roll_up_day(self, day: int, tenants: Sequence[str]) -> int:
        """Summarise, merge, delete and raise watermarks for one day, in one transaction."""
        tenants = list(tenants)
        rolled = 0
        with self.pool.connection() as conn, conn.transaction():
            ids = [row[0] for row in conn.execute(_LOCK_DAY, (day, tenants)).fetchall()]
            for start in range(0, len(ids), _BATCH_SERIES):
                rolled += self._roll_batch(conn, day, ids[start : start + _BATCH_SERIES], tenants)
            conn.execute(
                "DELETE FROM point_chunks WHERE day = %s AND series_id = ANY(%s) "
                "AND tenant_id = ANY(%s)",
                (day, ids, tenants),
            )
            conn.execute(_RAISE_WATERMARKS, ("raw", tenants, [day + 1] * len(tenants)))
        return rolled

    def _roll_batch(
        self, conn: psycopg.Connection, day: int, ids: list[int], tenants: list[str]
    ) -> int:
        with conn.cursor(binary=True) as cur:
            raw = cur.execute(_READ_DAY, (day, ids, tenants)).fetchall()
            stored = cur.execute(_READ_ROLLUPS_FOR_UPDATE, (day, ids, tenants)).fetchall()
        old = {(int(sid), int(res)): decode_rollup(blob) for sid, res, blob in stored}
        rows = []
        points = 0
        for tenant, series_id, n, codec, ts_blob, vals_blob in raw:
            ts, values = decode_timestamps(codec, ts_blob, n), decode_values(vals_blob)
            points += int(n)
            for resolution in RESOLUTIONS_S:
                rollup = summarise(ts, values, resolution)
                previous = old.get((int(series_id), resolution))
                if previous is not None:
                    rollup = merge_rollups(previous, rollup)
                rows.append(
                    (tenant, series_id, resolution, day, len(rollup), encode_rollup(rollup))
                )
        if rows:
            conn.execute(_UPSERT_ROLLUPS, [list(col) for col in zip(*rows, strict=True)])
        return points

    def raise_watermarks(self, tier: str, first_days: Mapping[str, int]) -> None:
        """Raise (never lower) the tier's watermark of each tenant."""
        if not first_days:
            return
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(_RAISE_WATERMARKS, (tier, list(first_days), list(first_days.values())))

    def expire_rollups(self, resolution_s: int, tenant_id: str, before_day: int) -> int:
        """Delete the tenant's roll-ups at this resolution before ``before_day``."""
        with self.pool.connection() as conn, conn.transaction():
            cur = conn.execute(
                "DELETE FROM rollup_chunks WHERE tenant_id = %s AND resolution_s = %s AND day < %s",
                (tenant_id, resolution_s, before_day),
            )
            return max(cur.rowcount, 0)

    def drop_expired_partitions(self, before_day: int) -> int:
        """Drop empty daily partitions wholly before ``before_day``; busy ones wait a run."""
        with self.pool.connection() as conn:
            if self.partitions.is_hypertable(conn):
                return _drop_hypertable_chunks(conn, before_day)
            dropped = 0
            for day in self.partitions.existing_days_before(conn, before_day):
                dropped += _drop_if_empty(conn, self.partitions, day)
        return dropped


def _drop_if_empty(conn: psycopg.Connection, partitions: PartitionManager, day: int) -> int:
    name = sql.Identifier(partition_name(day))
    try:
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '5s'")
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(name))
            row = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(name)).fetchone()
            if row is not None and row[0]:
                return 0
            partitions.drop(conn, day)
    except (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected):
        return 0
    return 1


def _drop_hypertable_chunks(conn: psycopg.Connection, before_day: int) -> int:
    rows = conn.execute(
        "SELECT drop_chunks('point_chunks', older_than => %s::integer)", (before_day,)
    ).fetchall()
    return len(rows)
