"""Kalshi's token buckets (KALSHI_API.md section 9) and a client-side limiter that respects them.

Each request costs tokens (10 by default, some endpoints less or more) from one of two
independent buckets: *write* for order create/amend/cancel, *read* for everything else. A
bucket refills at the tier's rate up to its capacity; an empty bucket answers 429.

The limiter uses pyrate-limiter's token bucket (``TokenBucket`` over a ``StateBucket``), one
per bucket kind, blocking the calling thread until the tokens are there; it is thread-safe.
It refills at the tier's rate but allows only HALF the server's capacity as a burst: a
request the client admits reaches the server a little later and not always in order, and
the other half of the server's bucket absorbs that jitter, so a long crawl never sees a 429.
(pyrate-limiter also ships SQLite/Redis/PostgreSQL buckets should several processes ever
need to share one key's budget.)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from pyrate_limiter import Duration, Limiter, Rate, StateBucket, TokenBucket

DEFAULT_COST = 10


@dataclass(frozen=True)
class RateTier:
    """Budgets of one usage tier: tokens per second and bucket capacity, per bucket kind."""

    name: str
    read_tokens_per_second: int
    read_capacity: int
    write_tokens_per_second: int
    write_capacity: int

    def rate(self, bucket: str) -> int:
        return self.read_tokens_per_second if bucket == "read" else self.write_tokens_per_second

    def capacity(self, bucket: str) -> int:
        return self.read_capacity if bucket == "read" else self.write_capacity


def _tier(name: str, read: int, write: int, read_seconds: int, write_seconds: int) -> RateTier:
    return RateTier(name, read, read * read_seconds, write, write * write_seconds)


# Capacity is 2 s of budget for Basic/Advanced read and for write above Basic; 1 s for Basic
# write and for read above Advanced.
TIERS: dict[str, RateTier] = {
    tier.name: tier
    for tier in (
        _tier("basic", 200, 100, 2, 1),
        _tier("advanced", 300, 300, 2, 2),
        _tier("expert", 600, 600, 1, 2),
        _tier("premier", 1000, 1000, 1, 2),
        _tier("paragon", 2000, 2000, 1, 2),
        _tier("prime", 4000, 4000, 1, 2),
        _tier("prestige", 10000, 8000, 1, 2),
    )
}

_WRITE_PATHS = re.compile(r"^/portfolio/(events/)?orders(/|$)|^/portfolio/order_groups(/|$)")
# (method, path pattern relative to /trade-api/v2, cost): the documented non-default costs.
_COSTS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("DELETE", re.compile(r"^/portfolio/events/orders/[^/]+$"), 2),  # V2 cancel
    ("GET", re.compile(r"^/portfolio/orders/[^/]+$"), 2),  # get single order
    ("POST", re.compile(r"^/portfolio/orders$"), 100),  # legacy create (deprecated)
    ("POST", re.compile(r"^/portfolio/orders/[^/]+/decrease$"), 100),  # legacy decrease
)


def request_cost(method: str, path: str) -> tuple[str, int]:
    """``(bucket, tokens)`` of a request; ``path`` is relative to ``/trade-api/v2``."""
    method = method.upper()
    bucket = "write" if method != "GET" and _WRITE_PATHS.search(path) else "read"
    for cost_method, pattern, cost in _COSTS:
        if method == cost_method and pattern.search(path):
            return bucket, cost
    return bucket, DEFAULT_COST


def token_bucket_limiter(tokens_per_second: int, burst: int) -> Limiter:
    """A pyrate-limiter token bucket refilling ``tokens_per_second`` up to ``burst`` tokens."""
    rate = Rate(tokens_per_second, Duration.SECOND, burst=burst)
    return Limiter(StateBucket([rate], algorithm=TokenBucket()), buffer_ms=5)


class KalshiRateLimiter:
    """Blocks until a request's tokens are available in its bucket; share one per API key."""

    def __init__(self, tier: RateTier) -> None:
        self.tier = tier
        self._limiters = {
            bucket: token_bucket_limiter(tier.rate(bucket), max(DEFAULT_COST, tier.capacity(bucket) // 2))
            for bucket in ("read", "write")
        }

    def acquire(self, method: str, path: str) -> float:
        """Take the tokens for one request, waiting as needed; returns the seconds waited."""
        bucket, cost = request_cost(method, path)
        started = time.monotonic()
        self._limiters[bucket].try_acquire(bucket, weight=cost, blocking=True)
        return time.monotonic() - started

    def close(self) -> None:
        for limiter in self._limiters.values():
            limiter.close()
