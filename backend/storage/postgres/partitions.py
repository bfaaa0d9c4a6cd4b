"""Daily range partitions of ``point_chunks``: created ahead of time, on demand, and dropped.

Partitions are made in a short transaction of their own, before the data transaction that
needs them, under a transaction advisory lock, so concurrent writers in several processes never
race to create the same one. A new partition is built detached (``CREATE TABLE ... LIKE``) and
then attached, which locks the parent only in SHARE UPDATE EXCLUSIVE mode: readers and writers of
other days carry on. When TimescaleDB owns the table (a hypertable), it creates chunks itself and
this module only answers which days exist and drops expired chunks.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable
from datetime import date, timedelta

import psycopg
from psycopg import sql

__all__ = ["PARENT", "PartitionManager", "day_to_date", "partition_name"]

PARENT = "point_chunks"
_LOCK_KEY = 0x41B0C1DA
_EPOCH = date(1970, 1, 1)
_BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")
_LIST = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'point_chunks'::regclass
"""


def day_to_date(day: int) -> date:
    """The calendar date of a UTC day number (days since 1970-01-01).

    >>> day_to_date(19723)
    datetime.date(2024, 1, 1)
    """
    return _EPOCH + timedelta(days=day)


def partition_name(day: int) -> str:
    """Name of the partition holding ``day``.

    >>> partition_name(19723)
    'point_chunks_p20240101'
    """
    return f"{PARENT}_p{day_to_date(day):%Y%m%d}"


class PartitionManager:
    """Knows which days have a partition and creates the missing ones.

    The set of known ranges is a per-process cache; it is refreshed from the catalog when a write
    finds a day without a partition (another process may have dropped it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: list[tuple[int, int]] = []
        self._hypertable: bool | None = None

    def is_hypertable(self, conn: psycopg.Connection) -> bool:
        """True when TimescaleDB manages ``point_chunks`` (no declarative partitions)."""
        if self._hypertable is None:
            row = conn.execute(
                "SELECT relkind FROM pg_class WHERE oid = 'point_chunks'::regclass"
            ).fetchone()
            self._hypertable = row is not None and row[0] != "p"
        return self._hypertable

    def refresh(self, conn: psycopg.Connection) -> list[tuple[int, int]]:
        """Reload partition ranges [lo, hi) from the catalog; returns them sorted."""
        ranges = []
        if not self.is_hypertable(conn):
            for _name, bound in conn.execute(_LIST).fetchall():
                match = _BOUND.search(bound or "")
                if match:
                    ranges.append((int(match[1]), int(match[2])))
        ranges.sort()
        with self._lock:
            self._ranges = ranges
        return ranges

    def missing(self, days: Iterable[int]) -> list[int]:
        """Days (sorted, unique) with no known partition."""
        with self._lock:
            ranges = self._ranges
        return sorted({day for day in days if not _covered(ranges, day)})

    def ensure(self, conn: psycopg.Connection, days: Iterable[int]) -> list[int]:
        """Create partitions for the days that lack one; returns the days created.

        ``conn`` must be in autocommit mode (the creation is its own transaction).
        """
        wanted = list(days)
        if self.is_hypertable(conn) or not self.missing(wanted):
            return []
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            self.refresh(conn)
            todo = self.missing(wanted)
            for day in todo:
                _create(conn, day)
        with self._lock:
            self._ranges = sorted([*self._ranges, *((d, d + 1) for d in todo)])
        return todo

    def existing_days_before(self, conn: psycopg.Connection, day: int) -> list[int]:
        """Daily partitions whose whole range lies before ``day`` (candidates for dropping)."""
        return [lo for lo, hi in self.refresh(conn) if hi <= day and hi - lo == 1]

    def drop(self, conn: psycopg.Connection, day: int) -> None:
        """Drop the daily partition of ``day`` (inside the caller's transaction)."""
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(day))))
        with self._lock:
            self._ranges = [r for r in self._ranges if r != (day, day + 1)]


def _covered(ranges: list[tuple[int, int]], day: int) -> bool:
    index = bisect.bisect_right(ranges, (day, float("inf"))) - 1
    return index >= 0 and ranges[index][0] <= day < ranges[index][1]


def _create(conn: psycopg.Connection, day: int) -> None:
    name = sql.Identifier(partition_name(day))
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (LIKE point_chunks INCLUDING DEFAULTS INCLUDING STORAGE)"
        ).format(name)
    )
    conn.execute(
        sql.SQL("ALTER TABLE point_chunks ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            name, sql.Literal(day), sql.Literal(day + 1)
        )
    )
