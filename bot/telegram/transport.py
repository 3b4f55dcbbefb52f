"""A python-telegram-bot request backend on aiohttp, for bulk sending.

python-telegram-bot talks HTTP through a pluggable `BaseRequest`; its default is httpx.
Measured here (benchmarks/campaign_send.py, docs/benchmarks.md), one process sending
through httpx spends about 2 ms of CPU per request and tops out near 350 messages/s,
while aiohttp needs a tenth of that. Campaign sending uses this backend so that the
sender is never what limits a campaign; everything above the transport (the Bot API
methods, errors such as RetryAfter and Forbidden) stays python-telegram-bot's own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextvars import ContextVar
from types import SimpleNamespace

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

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
