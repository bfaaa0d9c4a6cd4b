"""A small time-bounded cache for reads every dashboard repeats (SPEC §12: cache frequent
queries).

Aggregated scores change only when detection runs (every tens of seconds), while every open
dashboard asks for them every few seconds; rebuilding a thousand scores per request is wasted
work. An entry older than ``ttl_seconds`` is still served while one background thread reloads
it, so answers are at most one TTL plus one reload old (0 disables caching). The table is an
LRU of at most ``max_entries`` keys, so memory stays bounded however many tenants ask.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import structlog

__all__ = ["TtlCache"]

V = TypeVar("V")
_log = structlog.get_logger("aboutcloud.api")


class TtlCache(Generic[V]):
    """``get_or_load(key, load)``: the cached value, loading or refreshing it as needed.

    >>> cache = TtlCache(ttl_seconds=5)
    >>> cache.get_or_load("t", lambda: 1), cache.get_or_load("t", lambda: 2)
    (1, 1)
    """

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value for ``key``: loaded now when missing; when older than the TTL, the old
        value is returned while one background thread reloads it (stale-while-revalidate),
        so only the very first request for a key waits for storage."""
        if self.ttl_seconds <= 0:
            return load()
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                if now - entry[0] >= self.ttl_seconds and key not in self._refreshing:
                    self._refreshing.add(key)
                    threading.Thread(target=self._refresh, args=(key, load), daemon=True).start()
                return entry[1]
        value = load()
        self._put(key, now, value)
        return value

    def _refresh(self, key: Hashable, load: Callable[[], V]) -> None:
        now = self.clock()
        try:
            value = load()
        except Exception as exc:  # keep serving the old value; the next call retries
            _log.warning("cache_refresh_failed", error_type=type(exc).__name__, error=str(exc))
        else:
            self._put(key, now, value)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _put(self, key: Hashable, now: float, value: V) -> None:
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. after this process stored new scores)."""
        with self._lock:
            self._entries.clear()
