"""A token bucket per credential, in memory and bounded.

Each key gets ``burst`` tokens that refill at ``rate`` per second; a request takes one. The
table of buckets is an LRU capped at ``max_keys`` so a flood of distinct keys cannot grow memory
without bound (an evicted key simply starts again with a full bucket).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from backend.errors import RateLimitedError, ValidationError

__all__ = ["TokenBucketLimiter"]


class TokenBucketLimiter:
    """Admit or refuse requests per key.

    >>> clock = iter([0.0, 0.0, 0.0]).__next__
    >>> limiter = TokenBucketLimiter(rate=1.0, burst=2, clock=clock)
    >>> limiter.acquire("k"); limiter.acquire("k")
    >>> try:
    ...     limiter.acquire("k")
    ... except RateLimitedError as exc:
    ...     print(exc.retry_after)
    1.0
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValidationError("rate", rate, "must be > 0")
        if burst < 1:
            raise ValidationError("burst", burst, "must be >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise :class:`RateLimitedError`."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._store(key, tokens - cost, now)
                return
            self._store(key, tokens, now)
        raise RateLimitedError((cost - tokens) / self.rate)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
