"""Strict mode's read and write rate limits: Qdrant's token bucket, per collection.

A bucket holds `limit` tokens (operations per minute), starts full and refills at
`limit / 60` tokens a second. An operation costs tokens (`strict.py` prices it as Qdrant
does); one that costs more than the whole bucket is never allowed, one that costs more
than is left is refused with the seconds until enough has refilled. A collection's
buckets are made anew whenever its strict mode config is replaced (as Qdrant rebuilds
its limiters on every strict mode update).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from typing import Any

from crewchief.errors import RateLimited

TOO_LARGE = "request larger than rate limiter capacity, please try to split your request"


class TokenBucket:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.tokens = float(per_minute)
        self.checked = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + self.per_second * (now - self.checked))
        self.checked = now

    def take(self, kind: str, costs: list[int]) -> None:
        """Take every cost in turn, or none of them: the first that does not fit is refused
        (RateLimited, Qdrant's text) and the bucket is left as it was."""
        self._refill()
        before = self.tokens
        for cost in costs:
            if cost > self.capacity:
                self.tokens = before
                raise RateLimited(f"{kind} rate limit exceeded, {TOO_LARGE}", None)
            if self.tokens < cost:
                available, wait = self.tokens, (cost - self.tokens) / self.per_second
                self.tokens = before
                raise RateLimited(
                    f"{kind} rate limit exceeded: Operation requires {cost} tokens but only "
                    f"{available:.1f} were available. Retry after {math.ceil(wait)}s",
                    wait,
                )
            self.tokens -= cost


class _Buckets:
    def __init__(self, strict: Any) -> None:
        self.strict = strict
        self.read = TokenBucket(strict.read_rate_limit) if strict.read_rate_limit else None
        self.write = TokenBucket(strict.write_rate_limit) if strict.write_rate_limit else None


_lock = threading.Lock()
_by_collection: weakref.WeakKeyDictionary[Any, _Buckets] = weakref.WeakKeyDictionary()


def _buckets(col: Any, strict: Any) -> _Buckets:
    with _lock:
        found = _by_collection.get(col)
        if found is None or found.strict is not strict:
            found = _by_collection[col] = _Buckets(strict)
        return found


def take_read(col: Any, strict: Any, costs: list[int]) -> None:
    """Spend read tokens of `col` (whose enabled strict mode config is `strict`)."""
    buckets = _buckets(col, strict)
    if buckets.read is not None:
        with _lock:
            buckets.read.take("Read", costs)


def take_write(col: Any, strict: Any, costs: list[int]) -> None:
    buckets = _buckets(col, strict)
    if buckets.write is not None:
        with _lock:
            buckets.write.take("Write", costs)
