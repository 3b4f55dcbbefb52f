"""The notifier's settings and the report of one batch."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from civic.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifierOptions:
    rate_per_second: float | None = 25.0  # overall; None = no limit of our own
    per_chat_per_second: float | None = 1.0
    concurrency: int = 8  # sends in flight at once
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    retry_delay: timedelta = timedelta(seconds=30)  # doubled on every further failure
    poll_seconds: float = 0.5  # with nothing to wake it (SQLite without Redis)
    # when a committed row wakes it (storage/wakeups.py): the poll only catches lost wakes
    # and rows whose retry time has come
    fallback_poll_seconds: float = 5.0
    listen: bool = True  # False: never woken, poll every poll_seconds

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1:
            raise ValueError("the notifier's concurrency and batch size must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierOptions:
        """NOTIFIER_RATE_PER_SECOND (0: no pace of its own) and NOTIFIER_CONCURRENCY, read
        and checked with every other setting (civic/settings.py)."""
        return cls(
            rate_per_second=settings.notifier_rate_per_second or None,
            concurrency=settings.notifier_concurrency,
        )


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    lost: int = 0  # another notifier took the row over
    released: int = 0  # handed back unsent because we are stopping
    flood_waits: int = 0  # 429 answers waited out

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
