"""Storage: where series, anomaly results, aggregated scores, detector state and API keys live.

Every backend implements :class:`StorageBackend` (tenant first, idempotent points, inclusive
bounds). :func:`open_storage` picks one from ``ABOUTCLOUD_DATABASE_URL``; the default is
:class:`SQLiteStorage` on ``aboutcloud.db`` in the working directory.
"""

from backend.storage.factory import open_storage
from backend.storage.interface import (
    ApiKeyRecord,
    StorageBackend,
    WriteReport,
    configure_storage,
    get_metric_series,
    get_storage,
)
from backend.storage.memory_storage import InMemoryStorage
from backend.storage.sqlite import SQLiteStorage

__all__ = [
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
