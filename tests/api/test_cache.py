"""The TTL cache behind /health and /nodes/top (stale-while-revalidate, bounded)."""

from __future__ import annotations

import threading
import time

from backend.api.services.cache import TtlCache


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _settle(cache: TtlCache[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while cache._refreshing and time.monotonic() < deadline:
        time.sleep(0.005)


def test_cache_serves_fresh_value_without_loading() -> None:
    cache: TtlCache[int] = TtlCache(5.0, clock=_Clock())
    loads = iter(range(100))
    assert [cache.get_or_load("t", lambda: next(loads)) for _ in range(3)] == [0, 0, 0]


def test_cache_expired_value_served_while_refreshing() -> None:
    clock = _Clock()
    cache: TtlCache[int] = TtlCache(5.0, clock=clock)
    release = threading.Event()
    assert cache.get_or_load("t", lambda: 0) == 0
    clock.now = 6.0

    def slow_load() -> int:
        release.wait(5)
        return 1

    assert cache.get_or_load("t", slow_load) == 0  # stale answer, no waiting
    assert cache.get_or_load("t", slow_load) == 0  # one refresh at a time
    release.set()
    _settle(cache)
    assert cache.get_or_load("t", lambda: 2) == 1


def test_cache_failed_refresh_keeps_old_value() -> None:
    clock = _Clock()
    cache: TtlCache[int] = TtlCache(5.0, clock=clock)
    cache.get_or_load("t", lambda: 7)
    clock.now = 6.0

    def broken() -> int:
        raise RuntimeError("storage down")

    assert cache.get_or_load("t", broken) == 7
    _settle(cache)
    assert cache.get_or_load("t", lambda: 8) == 7  # still stale: a refresh was started again
    _settle(cache)
    assert cache.get_or_load("t", lambda: 9) == 8


def test_cache_zero_ttl_always_loads() -> None:
    cache: TtlCache[int] = TtlCache(0.0)
    loads = iter(range(100))
    assert [cache.get_or_load("t", lambda: next(loads)) for _ in range(3)] == [0, 1, 2]


def test_cache_bounded_lru() -> None:
    cache: TtlCache[str] = TtlCache(60.0, max_entries=3, clock=_Clock())
    for tenant in "abcde":
        cache.get_or_load(tenant, lambda t=tenant: t)  # type: ignore[misc]
    assert list(cache._entries) == ["c", "d", "e"]


def test_cache_keys_are_separate() -> None:
    cache: TtlCache[str] = TtlCache(60.0, clock=_Clock())
    assert cache.get_or_load("acme", lambda: "A") == "A"
    assert cache.get_or_load("globex", lambda: "G") == "G"
    assert cache.get_or_load("acme", lambda: "X") == "A"
