"""Token bucket per credential: burst, refill, bounded memory, 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from backend.api.ratelimit import TokenBucketLimiter
from backend.errors import RateLimitedError, ValidationError


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_burst_then_refuses() -> None:
    limiter = TokenBucketLimiter(rate=2.0, burst=3, clock=_Clock())
    for _ in range(3):
        limiter.acquire("k")
    with pytest.raises(RateLimitedError) as caught:
        limiter.acquire("k")
    assert caught.value.retry_after == pytest.approx(0.5)


def test_limiter_refills_at_rate() -> None:
    clock = _Clock()
    limiter = TokenBucketLimiter(rate=2.0, burst=1, clock=clock)
    limiter.acquire("k")
    clock.now = 0.5
    limiter.acquire("k")
    with pytest.raises(RateLimitedError):
        limiter.acquire("k")


def test_limiter_keys_are_independent() -> None:
    limiter = TokenBucketLimiter(rate=1.0, burst=1, clock=_Clock())
    limiter.acquire("a")
    limiter.acquire("b")
    with pytest.raises(RateLimitedError):
        limiter.acquire("a")


def test_limiter_memory_bounded_by_max_keys() -> None:
    limiter = TokenBucketLimiter(rate=1.0, burst=1, max_keys=10, clock=_Clock())
    for i in range(1000):
        limiter.acquire(f"key-{i}")
    assert len(limiter._buckets) == 10


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_limiter_rejects_bad_config(rate: float, burst: int) -> None:
    with pytest.raises(ValidationError):
        TokenBucketLimiter(rate=rate, burst=burst)


def test_rate_limit_over_http_429_with_retry_after(make_client: Any, auth: Any) -> None:
    client = make_client(rate_limit_per_second=0.01, rate_limit_burst=2)
    statuses = [client.get("/nodes/top", headers=auth()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/nodes/top", headers=auth())
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    other_key = client.get("/nodes/top", headers=auth("acme", "admin"))
    assert other_key.status_code == 200


def test_rate_limit_disabled(make_client: Any, auth: Any) -> None:
    client = make_client(rate_limit_enabled=False, rate_limit_burst=1)
    assert all(client.get("/nodes/top", headers=auth()).status_code == 200 for _ in range(5))
