"""The public surface of backend.storage is pinned."""

from __future__ import annotations

import backend.storage


def test_storage_exports_exactly_the_public_names() -> None:
    assert sorted(backend.storage.__all__) == [
        "ApiKeyRecord",
        "InMemoryStorage",
        "SQLiteStorage",
        "StorageBackend",
        "WriteReport",
        "configure_storage",
        "get_metric_series",
        "get_storage",
        "open_storage",
    ]
    for name in backend.storage.__all__:
        assert getattr(backend.storage, name) is not None
