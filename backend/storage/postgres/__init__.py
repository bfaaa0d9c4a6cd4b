"""PostgreSQL backend: day-chunked points in daily partitions, versioned migrations, retention.

Select it with ``ABOUTCLOUD_DATABASE_URL=postgresql://user:password@host:5432/dbname`` after
``aboutcloud db upgrade``. Needs the ``postgres`` extra (psycopg 3 and its pool).
"""

from backend.storage.postgres.backend import DEFAULT_PARTITIONS_AHEAD_DAYS, PostgresStorage
from backend.storage.postgres.connection import is_postgres_url, normalise_url, redact_url
from backend.storage.postgres.migrate import (
    Migration,
    MigrationStatus,
    current_version,
    head_version,
    migration_status,
    upgrade,
)
from backend.storage.postgres.rollups import PostgresRetention

__all__ = [
    "DEFAULT_PARTITIONS_AHEAD_DAYS",
    "Migration",
    "MigrationStatus",
    "PostgresRetention",
    "PostgresStorage",
    "current_version",
    "head_version",
    "is_postgres_url",
    "migration_status",
    "normalise_url",
    "redact_url",
    "upgrade",
]
