"""Backends under conformance test: add one entry to ``BACKENDS`` to cover a new backend.

A ``StoreFactory`` opens handles on one fresh store per test. ``persistent`` backends promise
that a new handle (or another process given ``url``) sees the same data; for them the suite
also checks reopening, crash safety and writers in separate OS processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend.storage import InMemoryStorage, StorageBackend, open_storage
from tests.storage.postgres_support import fresh_store_url


@dataclass
class StoreFactory:
    """Opens handles on one store; closes them all when the test ends."""

    name: str
    url: str
    persistent: bool
    opener: Callable[[], StorageBackend]
    cleanup: Callable[[], None] | None = None
    opened: list[StorageBackend] = field(default_factory=list)

    def open(self) -> StorageBackend:
        """A handle on the store (for a non-persistent backend, always the same one)."""
        backend = self.opener()
        self.opened.append(backend)
        return backend

    def close_all(self) -> None:
        for backend in self.opened:
            backend.close()
        if self.cleanup is not None:
            self.cleanup()


@dataclass(frozen=True)
class BackendSpec:
    """How to make a fresh store of one backend kind inside a test's temporary directory."""

    make: Callable[[Path], StoreFactory]
    persistent: bool


def _memory(tmp_path: Path) -> StoreFactory:
    shared = InMemoryStorage()
    return StoreFactory("memory", "memory://", False, lambda: shared)


def _sqlite(tmp_path: Path) -> StoreFactory:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    return StoreFactory("sqlite", url, True, lambda: open_storage(url))


def _postgres(tmp_path: Path) -> StoreFactory:
    url = fresh_store_url()
    return StoreFactory("postgres", url, True, lambda: open_storage(url))


BACKENDS: dict[str, BackendSpec] = {
    "memory": BackendSpec(_memory, persistent=False),
    "sqlite": BackendSpec(_sqlite, persistent=True),
    "postgres": BackendSpec(_postgres, persistent=True),
}


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.postgres) if n == "postgres" else n for n in names]


PERSISTENT = [name for name, spec in BACKENDS.items() if spec.persistent]


def _factory(name: str, tmp_path: Path) -> Iterator[StoreFactory]:
    factory = BACKENDS[name].make(tmp_path)
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture(params=_params(list(BACKENDS)))
def storage_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A fresh store of every backend kind."""
    yield from _factory(request.param, tmp_path)


@pytest.fixture(params=_params(PERSISTENT))
def persistent_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A fresh store of every backend kind that survives reopening."""
    yield from _factory(request.param, tmp_path)


@pytest.fixture
def storage(storage_factory: StoreFactory) -> StorageBackend:
    """One handle on a fresh store of every backend kind."""
    return storage_factory.open()
