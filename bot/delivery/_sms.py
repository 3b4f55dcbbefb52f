"""The one client of the SMS gateway, which speaks Twilio's Messages API.

    POST {SMS_GATEWAY_URL}/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json
    form: To, From (or MessagingServiceSid), Body; HTTP basic auth (sid, token)
    201 {"sid": "SM...", "status": "queued", ...}

Its failures become our own errors: `SmsRetryLater` (429, 5xx, network) says when to try
again, `SmsRejected` is final for this recipient and message, and `SmsGatewayMisconfigured`
stops a campaign run, since every other message would fail the same way.

Phone numbers are personal data: they are never logged nor put into an error, and the
gateway's error text is dropped because it quotes the number.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx

from civic.errors import CivicError
from civic.settings import Settings

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
# Gateway error codes that mean this number cannot get our SMS: invalid 'To' number,
# unsubscribed recipient (replied STOP), not reachable by SMS, not a mobile number.
UNREACHABLE_CODES = frozenset({21211, 21610, 21612, 21614})
RATE_LIMITED_RETRY_AFTER = 1.0  # a 429 without Retry-After
UNAVAILABLE_RETRY_AFTER = 30.0  # 5xx and network errors

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")  # two septets each


class SmsError(CivicError):
    """The SMS gateway did not take a message."""


class SmsRetryLater(SmsError):
    """Rate limited, or the gateway is down or unreachable: send again after `retry_after`
    seconds."""

    def __init__(self, retry_after: float, reason: str) -> None:
        super().__init__(f"{reason}; retry after {retry_after:g}s")
        self.retry_after = retry_after


class SmsRejected(SmsError):
    """The gateway refused this message for good (HTTP 4xx with a gateway error code)."""

    def __init__(self, code: int | None, status: int) -> None:
        super().__init__(f"SMS gateway refused the message: HTTP {status}, code {code}")
        self.code, self.status = code, status

    @property
    def unreachable(self) -> bool:
        """True when the number itself cannot get SMS (invalid, unsubscribed, landline)."""
        return self.code in UNREACHABLE_CODES


class SmsGatewayMisconfigured(SmsError):
    """Wrong or missing credentials or URL: no message can go out until this is fixed."""


def sms_segments(body: str) -> int:
    """How many SMS segments `body` costs: GSM-7 texts take 160 septets in one segment and
    153 per segment when split; anything else (Chinese) is UCS-2, 70 and 67 characters."""
    if is_gsm7(body):
        size = sum(2 if c in _GSM_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        size = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if size <= single else math.ceil(size / part)


def is_gsm7(text: str) -> bool:
    """True when `text` needs no UCS-2 encoding (which would cut a segment to 70)."""
    return all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)


class _Pace:
    """Spaces sends `1/rate` seconds apart, shared by every concurrent caller; a 429
    pushes the next slot back by the gateway's Retry-After."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, time.monotonic() + seconds)


def _retry_after_header(response: httpx.Response, default: float) -> float:
    """Seconds an HTTP Retry-After header asks for (a number or an HTTP date), else
    `default`. Telegram's RetryAfter is another thing: `bot.telegram.retry_after_seconds`."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return default
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return default


def _error_code(response: httpx.Response) -> int | None:
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None


class SmsGateway:
    """Sends SMS through the gateway, at most `rate_per_second` (None: no pacing)."""

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        rate_per_second: float | None = 10.0,
        timeout: float = 15.0,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        # A messaging service id (MG + 32 hex digits) picks the sender from its pool.
        sender_field = "MessagingServiceSid" if sender.startswith("MG") else "From"
        self._sender = {sender_field: sender}
        self._pace = _Pace(rate_per_second)
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsGateway:
        url, sid = settings.sms_gateway_url, settings.sms_account_sid
        token, sender = settings.sms_auth_token, settings.sms_from
        if not (url and sid and token and sender):
            raise SmsGatewayMisconfigured(
                "SMS_GATEWAY_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM must all be set"
            )
        return cls(
            base_url=url,
            account_sid=sid,
            auth_token=token,
            sender=sender,
            rate_per_second=settings.sms_rate_per_second or None,
        )

    async def send(self, to: str, body: str) -> str:
        """Hand one SMS to the gateway; its message sid comes back."""
        await self._pace.wait()
        try:
            response = await self._client.post(
                self._url, data={"To": to, "Body": body, **self._sender}
            )
        except httpx.HTTPError as exc:
            raise SmsRetryLater(
                UNAVAILABLE_RETRY_AFTER, f"SMS gateway unreachable ({type(exc).__name__})"
            ) from exc
        return self._accepted(response)

    def _accepted(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (200, 201):
            data = _json(response)
            sid = data.get("sid") if isinstance(data, dict) else None
            if not isinstance(sid, str):
                raise SmsRetryLater(UNAVAILABLE_RETRY_AFTER, "SMS gateway answered without a sid")
            log.info("SMS %s accepted by the gateway (%s)", sid, data.get("status"))
            return sid
        if status == 429:
            retry_after = _retry_after_header(response, RATE_LIMITED_RETRY_AFTER)
            self._pace.pause(retry_after)
            raise SmsRetryLater(retry_after, "SMS gateway rate limit")
        if status >= 500:
            retry_after = _retry_after_header(response, UNAVAILABLE_RETRY_AFTER)
            raise SmsRetryLater(retry_after, f"SMS gateway failed with HTTP {status}")
        if status in (401, 403, 404):
            raise SmsGatewayMisconfigured(
                f"SMS gateway answered HTTP {status} (code {_error_code(response)}): "
                "check SMS_GATEWAY_URL, SMS_ACCOUNT_SID and SMS_AUTH_TOKEN"
            )
        code = _error_code(response)
        log.info("SMS refused by the gateway: HTTP %s, code %s", status, code)
        raise SmsRejected(code, status)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
