"""A python-telegram-bot request backend on aiohttp, for bulk sending.

python-telegram-bot talks HTTP through a pluggable `BaseRequest`; its default is httpx.
Measured here (benchmarks/campaign_send.py, docs/benchmarks.md), one process sending
through httpx spends about 2 ms of CPU per request and tops out near 350 messages/s,
while aiohttp needs a tenth of that. Campaign sending uses this backend so that the
sender is never what limits a campaign; everything above the transport (the Bot API
methods, errors such as RetryAfter and Forbidden) stays python-telegram-bot's own.

Also here, for every process that talks to the Bot API: the API's address
(`bot_api_urls`, honouring TELEGRAM_BASE_URL), a Bot made with it (`make_bot`, whose
sends take from the shared send budget), and the wait a 429 asks for in seconds
(`retry_after_seconds`).
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import aiohttp
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.delivery import Priority, SendBudget, make_budget
from bot.telegram._budgeted import BudgetLimiter
from civic.settings import Settings

# Set by a sender around one request: called once, the moment the request's body has been
# handed to the kernel. A journal line written then is as close to the wire as a process
# can get: a SIGKILL just before it means the request never completed (the server drops
# it; safe to send again), just after it means the kernel delivers the request anyway.
ON_THE_WIRE: ContextVar[Callable[[], None] | None] = ContextVar("on_the_wire", default=None)


async def _body_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    callback = ON_THE_WIRE.get()
    if callback is not None:
        callback()


class AiohttpRequest(BaseRequest):
    def __init__(
        self, *, connections: int = 16, read_timeout: float = 10.0, connect_timeout: float = 5.0
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections)
            trace = aiohttp.TraceConfig()
            trace.on_request_chunk_sent.append(_body_sent)
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=[trace])

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            await self.initialize()
        assert self._session is not None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        timeout = aiohttp.ClientTimeout(sock_read=read, sock_connect=connect)
        data = self._body(request_data)
        headers = {"User-Agent": self.USER_AGENT}
        if isinstance(data, bytes):
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=data, timeout=timeout, headers=headers
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except (aiohttp.ClientError, asyncio.CancelledError) as err:
            if isinstance(err, asyncio.CancelledError):
                raise
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

    @staticmethod
    def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
        """A JSON body (the Bot API takes application/json, and it is far cheaper to
        build than a form); files as multipart."""
        if request_data is None:
            return None
        files = request_data.multipart_data
        if not files:
            return json.dumps(request_data.parameters, ensure_ascii=False).encode()
        fields = request_data.json_parameters
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, item in files.items():
            filename, content, mime = item if len(item) == 3 else (*item, None)  # type: ignore[misc]
            form.add_field(name, content, filename=filename, content_type=mime)
        return form


@dataclass(frozen=True)
class BotApiUrls:
    base_url: str  # ends in "/bot": the token is appended
    base_file_url: str


def bot_api_urls(settings: Settings) -> BotApiUrls | None:
    """The Bot API's addresses under TELEGRAM_BASE_URL (given with or without "/bot"),
    or None for Telegram's own."""
    if not settings.telegram_base_url:
        return None
    base = settings.telegram_base_url.rstrip("/")
    return BotApiUrls(
        base_url=base + ("" if base.endswith("/bot") else "/bot"),
        base_file_url=base.removesuffix("/bot") + "/file/bot",
    )


def make_bot(
    *,
    settings: Settings,
    request: BaseRequest,
    priority: Priority | None = None,
    role: str = "bot",
) -> Bot:
    """A Bot with the configured token (empty if none), talking through `request` to the
    Bot API at TELEGRAM_BASE_URL when it is set. With a `priority`, each message it sends
    first takes a token of that priority from the shared send budget (`role` names this
    process's meter file)."""
    token = settings.telegram_bot_token or ""
    urls = bot_api_urls(settings) or BotApiUrls(
        "https://api.telegram.org/bot", "https://api.telegram.org/file/bot"
    )
    if priority is None:
        return Bot(token, urls.base_url, urls.base_file_url, request=request)
    limiter = BudgetLimiter(budget_for(settings, role), priority)
    return ExtBot(token, urls.base_url, urls.base_file_url, request=request, rate_limiter=limiter)


async def close_bot(bot: Bot) -> None:
    """Close a Bot made by `make_bot` that was never initialised (no getMe): its send
    budget and its transport."""
    if isinstance(bot, ExtBot) and bot.rate_limiter is not None:
        await bot.rate_limiter.shutdown()
    await bot.request.shutdown()


def budget_for(settings: Settings, role: str) -> SendBudget:
    """This process's share of the bot's send budget (its meter file named by `role`)."""
    return make_budget(
        var_dir=settings.var_dir,
        role=role,
        redis_url=settings.redis_url,
        token=settings.telegram_bot_token,
        rate=settings.telegram_rate_per_second,
        reserve=settings.telegram_reserve_per_second,
    )


def retry_after_seconds(err: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
