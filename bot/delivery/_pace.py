"""Pacing sends: a token bucket, and the clock and sleep it is driven by (real ones in
production, fake ones in tests)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def delay(self, now: float) -> float:
        """Seconds until one token is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
