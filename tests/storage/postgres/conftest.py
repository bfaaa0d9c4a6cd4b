"""Fixtures on the real PostgreSQL server (see ``tests/storage/postgres_support.py``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from backend.storage.postgres import PostgresStorage
from backend.storage.postgres.connection import connect
from tests.storage.postgres_support import fresh_store_url, worker_database


@pytest.fixture
def pg_url() -> str:
    """URL of an empty store migrated to head (this worker's database, emptied)."""
    return fresh_store_url()


@pytest.fixture
def pg_storage(pg_url: str) -> Iterator[PostgresStorage]:
    """A backend on an empty store, closed after the test."""
    storage = PostgresStorage(pg_url)
    try:
        yield storage
    finally:
        storage.close()


@pytest.fixture
def empty_url() -> Iterator[str]:
    """URL whose search_path is a brand-new empty schema (for migration tests); dropped after."""
    base = worker_database().url
    schema = f"empty_{secrets.token_hex(4)}"
    with connect(base) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with connect(base) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
