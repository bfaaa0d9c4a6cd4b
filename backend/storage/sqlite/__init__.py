"""The embedded default backend: day-chunked series in one SQLite file (see docs/decisions.md)."""

from backend.storage.sqlite.storage import DEFAULT_BUSY_TIMEOUT_S, SQLiteStorage

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "SQLiteStorage"]
