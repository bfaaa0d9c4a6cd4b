"""Throwaway PostgreSQL databases for tests: the real server, never a mock.

Each test process (each pytest-xdist worker) gets its own database ``aboutcloud_test_<time>_<rand>``
made through the ``postgres`` maintenance database, migrated to head and dropped when the process
exits. Between tests :meth:`ThrowawayDatabase.reset` empties every table (keeping the schema and
partitions), which takes milliseconds where a new database takes seconds. Databases left behind
by killed runs are swept after a day.

The server defaults to CI's: ``postgresql://postgres@127.0.0.1:5432/postgres`` (trust auth);
``ABOUTCLOUD_TEST_POSTGRES_URL`` points elsewhere.
"""

from __future__ import annotations

import atexit
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from backend.storage.postgres import PostgresStorage, upgrade
from backend.storage.postgres.connection import connect

ADMIN_URL = os.environ.get(
    "ABOUTCLOUD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PREFIX = "aboutcloud_test_"
STALE_AFTER_S = 86_400
_TABLES_QUERY = """
SELECT quote_ident(c.relname) FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND c.relname <> 'schema_migrations' AND NOT c.relispartition
"""


@dataclass
class ThrowawayDatabase:
    """A database of its own on the test server."""

    name: str
    admin_url: str = ADMIN_URL

    @property
    def url(self) -> str:
        """URL of this database (same server, user and options as the admin URL)."""
        base, _, query = self.admin_url.partition("?")
        server = base.rsplit("/", 1)[0]
        return f"{server}/{self.name}" + (f"?{query}" if query else "")

    def create(self, migrate: bool = True) -> ThrowawayDatabase:
        """Create the database (and bring its schema to head unless ``migrate`` is False)."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        if migrate:
            with connect(self.url) as conn:
                upgrade(conn)
        return self

    def reset(self) -> None:
        """Empty every table; schema and partitions stay.

        ``DELETE`` rather than ``TRUNCATE``: on tables this small it takes milliseconds, where
        TRUNCATE rewrites (and syncs) every file of every partition.
        """
        with connect(self.url) as conn, conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '10s'")
            for (table,) in conn.execute(_TABLES_QUERY).fetchall():
                conn.execute(f"DELETE FROM {table}")

    def open(self, **options: object) -> PostgresStorage:
        """A backend on this database."""
        return PostgresStorage(self.url, **options)  # type: ignore[arg-type]

    def drop(self) -> None:
        """Drop the database, disconnecting anyone still on it."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def new_database_name() -> str:
    """``aboutcloud_test_<unix time>_<random>``: unique per call, its age readable by sweeps."""
    return f"{PREFIX}{int(time.time())}_{secrets.token_hex(4)}"


def throwaway_database(migrate: bool = True) -> ThrowawayDatabase:
    """Create a fresh database (migrated to head by default); the caller drops it."""
    sweep_stale_databases()
    return ThrowawayDatabase(new_database_name()).create(migrate)


@contextmanager
def postgres_storage(**options: object) -> Iterator[PostgresStorage]:
    """A backend on a brand-new migrated database, dropped afterwards."""
    database = throwaway_database()
    storage = database.open(**options)
    try:
        yield storage
    finally:
        storage.close()
        database.drop()


_worker: ThrowawayDatabase | None = None


def worker_database() -> ThrowawayDatabase:
    """This process's database: created on first use, dropped when the process exits."""
    global _worker
    if _worker is None:
        _worker = throwaway_database()
        atexit.register(_worker.drop)
    return _worker


def fresh_store_url() -> str:
    """URL of this process's database, emptied: an empty migrated store for one test."""
    database = worker_database()
    database.reset()
    return database.url


def sweep_stale_databases(max_age_s: float = STALE_AFTER_S) -> list[str]:
    """Drop test databases older than ``max_age_s`` (left by runs that were killed)."""
    now = time.time()
    dropped = []
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        names = [
            row[0]
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
            ).fetchall()
        ]
    for name in names:
        stamp = name.removeprefix(PREFIX).split("_", 1)[0]
        if stamp.isdigit() and now - int(stamp) > max_age_s:
            ThrowawayDatabase(name).drop()
            dropped.append(name)
    return dropped
