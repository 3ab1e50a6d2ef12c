"""Requests per client address: a token bucket each, with the clock as a parameter.

>>> now = [0.0]
>>> limit = RateLimit(per_minute=2, clock=lambda: now[0])
>>> [limit.allow("10.0.0.1") for _ in range(3)], limit.allow("10.0.0.2")
([True, True, False], True)
>>> now[0] = 30.0  # half a minute refills one of the two
>>> limit.allow("10.0.0.1"), limit.allow("10.0.0.1")
(True, False)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Requests a client address may make per minute (and in one burst).
PER_MINUTE = 30
#: Addresses remembered at most; past it, the longest-idle ones are forgotten.
MAX_ADDRESSES = 10_000


class RateLimit:
    """``allow(address)`` is False once that address has used up its bucket."""

    def __init__(
        self,
        per_minute: int = PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        with self._lock:
            now = self.clock()
            tokens, since = self._buckets.pop(address, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - since) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[address] = (tokens, now)
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after(self) -> int:
        """Whole seconds until one more request is allowed to an exhausted address."""
        return max(1, round(1.0 / self.rate))
