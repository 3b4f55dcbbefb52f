"""Every Bot API call that sends a message takes a token from the shared send budget
(bot/delivery/_budget.py) first, as a python-telegram-bot rate limiter: whatever part of
a process calls sendMessage or sendPhoto, the budget sees it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import BaseRateLimiter

from bot.delivery import Priority, SendBudget

# The methods that put a message in a chat; edits, answers to taps and reads are not
# messages and are left to python-telegram-bot's own limiter, if any.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "copyMessage",
        "forwardMessage",
    }
)


class BudgetLimiter(BaseRateLimiter[dict[str, Any]]):
    """Takes a `priority` token for each send, then hands the call to `inner` (the
    gateway's AIORateLimiter, which waits out 429s) or makes it."""

    def __init__(
        self, budget: SendBudget, priority: Priority, inner: BaseRateLimiter[Any] | None = None
    ) -> None:
        self.budget, self.priority, self._inner = budget, priority, inner

    async def initialize(self) -> None:
        if self._inner is not None:
            await self._inner.initialize()

    async def shutdown(self) -> None:
        if self._inner is not None:
            await self._inner.shutdown()
        self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | JSONDict | list[JSONDict]:
        async def budgeted(*a: Any, **k: Any) -> bool | JSONDict | list[JSONDict]:
            if endpoint in SENDING:  # each try, a retry after a 429 too, takes a token
                await self.budget.acquire(self.priority)
            return await callback(*a, **k)

        if self._inner is None:
            return await budgeted(*args, **kwargs)
        return await self._inner.process_request(
            budgeted, args, kwargs, endpoint, data, rate_limit_args
        )
