"""A client-side request budget: spend a service's published rate limit without tripping it.

Connectors share one `RateLimiter` per quota category between all their threads and call
`acquire()` before every request (retries included).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class _Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until one token is there (0 when it is)."""
        missing = 1 - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate  # no endless sub-ns waits


class RateLimiter:
    """At most ``per_second`` requests a second and ``per_minute`` a minute, across threads.

    A bucket holds one second's (or one minute's) worth of requests, so a quiet client may
    burst up to that much, as the services' own token buckets allow.
    """

    def __init__(
        self,
        per_second: float,
        per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0 or (per_minute is not None and per_minute <= 0):
            raise ValueError("a rate limit must be positive")
        now = clock()
        self._buckets = [_Bucket(per_second, max(1.0, per_second), now)]
        if per_minute is not None:
            self._buckets.append(_Bucket(per_minute / 60, max(1.0, per_minute), now))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0
        """Seconds spent waiting for the budget, in total."""

    def try_acquire(self) -> float:
        """Take a request's room now and return 0, or return the seconds to wait, taking none.

        What a server answering 429 with ``Retry-After`` needs.
        """
        with self._lock:
            now = self._clock()
            for bucket in self._buckets:
                bucket.refill(now)
            delay = max(bucket.wait() for bucket in self._buckets)
            if delay == 0:
                for bucket in self._buckets:
                    bucket.tokens -= 1
            return delay

    def acquire(self) -> float:
        """Wait until a request fits the budget, take it, and return the seconds waited."""
        waited = 0.0
        while (delay := self.try_acquire()) > 0:
            self._sleep(delay)
            waited += delay
        with self._lock:
            self.waited += waited
        return waited
