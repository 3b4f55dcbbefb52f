"""How fast the notifier may send: overall and per chat, and Telegram's flood pauses."""

from __future__ import annotations

from collections.abc import Callable

from bot.delivery import Clock, Sleep, TokenBucket
from bot.notifier._options import NotifierOptions


class SendRate:
    """The overall and per-chat rates and Telegram's flood pause, shared by all sends."""

    def __init__(self, options: NotifierOptions, clock: Clock, sleep: Sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._per_chat = options.per_chat_per_second
        rate = options.rate_per_second
        # A fifth of a second's worth in hand makes up for late wake-ups and batch
        # boundaries; any one second still sees at most 1.2 x the rate.
        self._overall = TokenBucket(rate, clock(), max(1.0, rate / 5)) if rate else None
        self._chats: dict[str, TokenBucket] = {}
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat: str, stopping: Callable[[], bool], take: bool = True) -> bool:
        """Wait until a message may go to `chat` and take the tokens (with take=False,
        only wait for the chat's own pace). False if told to stop meanwhile."""
        while not stopping():
            now = self._clock()
            overall = self._overall if take else None
            buckets = [b for b in (overall, self._chat_bucket(chat, now)) if b]
            wait = max([self._paused_until - now, *(b.delay(now) for b in buckets)])
            if wait <= 0:
                for bucket in buckets if take else ():
                    bucket.tokens -= 1
                return True
            await self._sleep(min(wait, 1.0))  # a long flood pause still hears a stop
        return False

    def _chat_bucket(self, chat: str, now: float) -> TokenBucket | None:
        if not self._per_chat:
            return None
        if len(self._chats) > 50_000:  # forget chats idle long enough to be full again
            self._chats = {k: b for k, b in self._chats.items() if b.delay(now) > 0}
        return self._chats.setdefault(chat, TokenBucket(self._per_chat, now))
