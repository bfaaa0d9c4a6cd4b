"""Connections to PostgreSQL: URL checks, session settings and the connection pool.

Every session runs in UTC with ``synchronous_commit = on`` whatever the server's defaults, so a
write acknowledged to a caller has reached the write-ahead log on disk (it survives the
application, and the server, being killed). Pools hand out connections in autocommit mode;
callers open explicit transactions, so nothing is ever left implicitly open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from backend.errors import StorageConfigError, StorageError

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MIN_CONNECTIONS",
    "connect",
    "is_postgres_url",
    "normalise_url",
    "open_pool",
    "redact_url",
    "storage_errors",
]

DEFAULT_MIN_CONNECTIONS = 1
DEFAULT_MAX_CONNECTIONS = 8
_SCHEMES = ("postgresql://", "postgres://")
_DRIVER_SUFFIXES = ("+psycopg", "+psycopg3", "+psycopg2")
_SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET synchronous_commit = on",
    "SET application_name = 'aboutcloud'",
)


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``).

    >>> is_postgres_url("postgresql://localhost/aboutcloud"), is_postgres_url("sqlite:///x.db")
    (True, False)
    """
    try:
        return normalise_url(url) is not None
    except StorageConfigError:
        return False


def normalise_url(url: str) -> str:
    """The libpq URL for ``url``, accepting SQLAlchemy-style ``postgresql+psycopg://`` too.

    >>> normalise_url("postgresql+psycopg://u@h:5432/db")
    'postgresql://u@h:5432/db'
    """
    if not isinstance(url, str):
        raise StorageConfigError(f"database URL must be a string, got {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    for suffix in _DRIVER_SUFFIXES:
        scheme = scheme.removesuffix(suffix)
    cleaned = f"{scheme}{sep}{rest}"
    if not sep or not cleaned.startswith(_SCHEMES):
        raise StorageConfigError(f"not a PostgreSQL URL: {url!r} (expected postgresql://...)")
    return cleaned


def _configure(conn: psycopg.Connection) -> None:
    conn.autocommit = True
    for statement in _SESSION_SETTINGS:
        conn.execute(statement)


def connect(url: str, autocommit: bool = True) -> psycopg.Connection:
    """One configured connection (for migrations, CLI commands and tests)."""
    try:
        conn = psycopg.connect(normalise_url(url), autocommit=True)
    except psycopg.Error as exc:
        raise StorageConfigError(f"cannot connect to {redact_url(url)}: {exc}") from exc
    _configure(conn)
    conn.autocommit = autocommit
    return conn


def open_pool(
    url: str,
    min_size: int = DEFAULT_MIN_CONNECTIONS,
    max_size: int = DEFAULT_MAX_CONNECTIONS,
    timeout_s: float = 30.0,
) -> ConnectionPool:
    """An open pool of configured autocommit connections; fails fast if the server is down."""
    if not 1 <= min_size <= max_size:
        raise StorageConfigError(
            f"pool sizes must satisfy 1 <= min ({min_size}) <= max ({max_size})"
        )
    pool = ConnectionPool(
        normalise_url(url),
        min_size=min_size,
        max_size=max_size,
        configure=_configure,
        timeout=timeout_s,
        name="aboutcloud",
        open=False,
    )
    try:
        pool.open(wait=True, timeout=timeout_s)
    except Exception as exc:
        pool.close()
        raise StorageConfigError(f"cannot connect to {redact_url(url)}: {exc}") from exc
    return pool


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Re-raise driver errors as :class:`~backend.errors.StorageError` naming the action."""
    try:
        yield
    except psycopg.Error as exc:
        raise StorageError(f"PostgreSQL failed to {action}: {exc}") from exc


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs.

    >>> redact_url("postgresql://app:secret@db:5432/aboutcloud")
    'postgresql://app:***@db:5432/aboutcloud'
    """
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
