"""Versioned schema migrations: numbered ``.sql`` files applied in order, recorded in a table.

Each file ``migrations/NNNN_name.sql`` runs in its own transaction together with the row that
records it in ``schema_migrations``, so a failed migration leaves the database at the previous
version and nothing half-applied. A session advisory lock serialises concurrent upgraders
(two replicas starting at once apply each migration exactly once). Migrations only ever add or
alter; upgrading a database that holds data keeps it. The checksum of every applied file is
stored so an edited, already-applied migration is reported instead of silently ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from backend.errors import StorageConfigError

__all__ = [
    "Migration",
    "MigrationStatus",
    "current_version",
    "head_version",
    "load_migrations",
    "migration_status",
    "upgrade",
]

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x41B0C10D
_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One versioned schema change."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file text, to detect edits of applied migrations."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database stands: its version, the code's head and what is pending."""

    current: int | None
    head: int
    pending: tuple[Migration, ...]

    @property
    def up_to_date(self) -> bool:
        """True when no migration is pending."""
        return not self.pending


def load_migrations() -> list[Migration]:
    """The packaged migrations in version order; versions must be 1, 2, 3, ... without gaps."""
    folder = resources.files("backend.storage.postgres") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StorageConfigError(f"migration {expected:04d} is missing")
    return found


def head_version() -> int:
    """The newest version this code knows."""
    return load_migrations()[-1].version


def current_version(conn: psycopg.Connection) -> int | None:
    """The database's schema version, or None when no migration was ever applied."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def migration_status(conn: psycopg.Connection) -> MigrationStatus:
    """Current version, head and pending migrations; checks applied files were not edited."""
    migrations = load_migrations()
    current = current_version(conn)
    if current is not None:
        _check_applied(conn, migrations, current)
    pending = tuple(m for m in migrations if current is None or m.version > current)
    return MigrationStatus(current, migrations[-1].version, pending)


def upgrade(conn: psycopg.Connection, target: int | None = None) -> list[Migration]:
    """Apply pending migrations up to ``target`` (default: head); returns those applied.

    ``conn`` must be in autocommit mode: each migration gets its own transaction.
    """
    if not conn.autocommit:
        raise StorageConfigError("upgrade needs an autocommit connection")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(_CREATE_VERSION_TABLE)
        status = migration_status(conn)
        if target is not None and not 0 <= target <= status.head:
            raise StorageConfigError(f"target version {target} is not in 0..{status.head}")
        todo = [m for m in status.pending if target is None or m.version <= target]
        for migration in todo:
            _apply(conn, migration)
        return todo
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    with conn.transaction():
        conn.execute(migration.sql.encode())
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )


def _check_applied(conn: psycopg.Connection, migrations: list[Migration], current: int) -> None:
    if current > migrations[-1].version:
        raise StorageConfigError(
            f"database schema version {current} is newer than this code "
            f"({migrations[-1].version}); upgrade AboutCloud"
        )
    stored: dict[int, str] = dict(
        conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    )
    for migration in migrations:
        checksum = stored.get(migration.version)
        if checksum is not None and checksum != migration.checksum:
            raise StorageConfigError(
                f"migration {migration.version:04d}_{migration.name} was edited after it was "
                "applied; add a new migration instead"
            )
