"""The one client of WeChat's official-account API: the access token, customer-service
and template messages, and media downloads. Its failures become our own errors.

The access token (/cgi-bin/token) is cached until a minute before it expires and fetched
again when WeChat says it is invalid or expired (40001, 42001, 40014). A rate limit
(45009, 45047) is waited out and retried, as Telegram's 429 is; what remains is raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 42001, 40014})
RATE_LIMITED = frozenset({45009, 45047})
UNREACHABLE = frozenset({43004, 43019})  # unsubscribed; blocked the account
OUT_OF_WINDOW = frozenset({45015})  # no message from the user in the last 48 hours
TOKEN_MARGIN = 60.0  # seconds before expiry a cached token is replaced
RATE_PAUSES = (1.0, 2.0, 4.0)


class WeChatError(Exception):
    """WeChat answered with an error code."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode


class WeChatRateLimited(WeChatError):
    pass


class WeChatUnreachable(WeChatError):
    """The user unsubscribed or blocked the account: like Telegram's 403."""


class WeChatOutOfWindow(WeChatError):
    """A customer-service message outside the 48 hours after the user's last message."""


class WeChatUnavailable(Exception):
    """WeChat could not be reached, or answered with something that is not its API."""


def error_for(errcode: int, errmsg: str) -> WeChatError:
    for codes, kind in (
        (RATE_LIMITED, WeChatRateLimited),
        (UNREACHABLE, WeChatUnreachable),
        (OUT_OF_WINDOW, WeChatOutOfWindow),
    ):
        if errcode in codes:
            return kind(errcode, errmsg)
    return WeChatError(errcode, errmsg)


class WeChatClient:
    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._app_id, self._secret = app_id, app_secret
        self._base = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._clock, self._sleep = clock, sleep
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.rate_waits = 0  # rate limits waited out

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one when it is near its end or is `stale`."""
        async with self._lock:
            fresh = self._token and self._token != stale and self._clock() < self._expires
            if not fresh:
                body = await self._get_json(
                    "/cgi-bin/token",
                    {
                        "grant_type": "client_credential",
                        "appid": self._app_id,
                        "secret": self._secret,
                    },
                )
                self._token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 7200))
                self._expires = self._clock() + max(lifetime - TOKEN_MARGIN, 0.0)
            assert self._token is not None
            return self._token

    async def _get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.get(self._base + path, params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from None
        _raise_for(body)
        return dict(body)

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST `payload` to an API method with the access token; a stale token is
        replaced once and a rate limit waited out, then the error is raised."""
        pauses = list(RATE_PAUSES)
        token = await self.access_token()
        refreshed = False
        while True:
            try:
                response = await self._http.post(
                    self._base + path, params={"access_token": token}, json=payload
                )
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from None
            code = int(body.get("errcode", 0) or 0)
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                token = await self.access_token(stale=token)
                continue
            if code in RATE_LIMITED and pauses:
                self.rate_waits += 1
                log.warning("WeChat rate limit (%d) on %s; waiting", code, path)
                await self._sleep(pauses.pop(0))
                continue
            _raise_for(body)
            return dict(body)

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (only within the 48-hour window)."""
        await self.call(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(self, openid: str, template_id: str, data: dict[str, str]) -> None:
        fields = {name: {"value": value} for name, value in data.items()}
        await self.call(
            "/cgi-bin/message/template/send",
            {"touser": openid, "template_id": template_id, "data": fields},
        )

    async def download_media(self, media_id: str) -> bytes:
        """A user's upload by its MediaId; an error answer is JSON, a file is not."""
        for attempt in range(2):
            token = await self.access_token()
            try:
                response = await self._http.get(
                    self._base + "/cgi-bin/media/get",
                    params={"access_token": token, "media_id": media_id},
                )
            except httpx.HTTPError as exc:
                raise WeChatUnavailable(f"media: {type(exc).__name__}") from None
            kind = response.headers.get("content-type", "")
            if "json" not in kind and "text/plain" not in kind:
                return response.content
            try:
                body = response.json()
            except ValueError:
                raise WeChatUnavailable("media: an answer that is neither file nor JSON") from None
            if int(body.get("errcode", 0)) in TOKEN_ERRORS and attempt == 0:
                await self.access_token(stale=token)
                continue
            _raise_for(body)
        raise WeChatUnavailable("media: no file")

    async def aclose(self) -> None:
        await self._http.aclose()


def _raise_for(body: Any) -> None:
    if not isinstance(body, dict):
        raise WeChatUnavailable("an answer that is not a JSON object")
    code = int(body.get("errcode", 0) or 0)
    if code:
        raise error_for(code, str(body.get("errmsg", "")))
