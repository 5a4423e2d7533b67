"""Token-bucket rate limits per API token and per client address, in memory."""

from __future__ import annotations

import threading
import time

from pollwatch.errors import RateLimitError


class RateLimiter:
    """``rate`` requests per second with bursts of ``burst``, per key."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, what: str) -> None:
        """Take one request from ``key``'s bucket or raise RateLimitError (HTTP 429)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                raise RateLimitError(
                    f"too many requests from this {what}",
                    expected=f"at most {self.rate:g} per second (bursts of {self.burst:g})",
                    remedy="wait a second and retry with the same submission_id",
                )
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
