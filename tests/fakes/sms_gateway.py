"""A local stand-in for a Twilio-style SMS gateway, served over real HTTP for tests.

What is faithful to Twilio's Messages API (2010-04-01):

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``
  or ``MessagingServiceSid``, ``Body``; ``201`` with the Message resource as JSON (sid
  ``SM`` + 32 hex digits, status ``queued``, or ``accepted`` via a messaging service,
  ``num_segments`` as a string, ``from`` null via a messaging service).
* ``GET .../Messages.json`` (``To``, ``From``, ``PageSize``, ``Page``; newest first).
* HTTP basic auth with the account sid and auth token; otherwise ``401`` code 20003 with
  ``WWW-Authenticate``. A path naming another account is 20003 too.
* Errors as ``{"code", "message", "more_info", "status"}``: 21604/21603/21602 for a
  missing To/From/Body, 21211 for a 'To' that is not E.164 (the message quotes the number,
  as the real one does), 21212 for a bad 'From', 21617 for a body over 1600 characters,
  21610 for a recipient who replied STOP (``block()``).
* A token bucket over POSTs (``rate_per_second``, ``burst``): over it, ``429`` code 20429
  with a whole-second ``Retry-After``. ``rate_per_second=None`` lifts it (benchmarks).

* Incoming messages (``inbound``): the webhook request the gateway makes when someone
  texts our number: form-encoded ``MessageSid``, ``AccountSid``, ``From``, ``To``, ``Body``,
  ``NumMedia``, ``NumSegments``, signed in ``X-Twilio-Signature`` as base64(HMAC-SHA1(auth
  token, URL + each parameter's name and value, sorted by name)).

Simplifications: messages stay ``queued`` (no delivery status callbacks); no media; the
``Page`` parameter is honoured without Twilio's ``PageToken``.

Usage::

    with SmsGatewayStandIn() as sms:          # or start()/stop(); reset() between tests
        gateway = SmsGateway(base_url=sms.base_url, account_sid=sms.account_sid,
                             auth_token=sms.auth_token, sender="+8657100000000")
        await gateway.send("+8613800000000", "...")
        [record] = sms.messages_to("+8613800000000")
        sms.fail_next(2, status=429, retry_after=3)   # or 500, 503
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API = "/2010-04-01/Accounts/{account}"
MAX_BODY = 1600
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")
_GSM = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
_PHRASES = {500: "An internal server error has occurred", 503: "Service unavailable"}


@dataclass(frozen=True)
class SmsRecord:
    """One message the gateway accepted."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    num_segments: int
    timestamp: float


@dataclass(frozen=True)
class SmsCall:
    """One request, with the answer's HTTP status and gateway error code."""

    method: str
    status: int
    code: int | None
    timestamp: float


class GatewayError(Exception):
    def __init__(
        self, status: int, code: int, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        return JSONResponse(body, status_code=self.status, headers=headers)


def segments(body: str) -> int:
    if all(c in _GSM or c in _GSM_EXTENSION for c in body):
        size, single, part = sum(1 + (c in _GSM_EXTENSION) for c in body), 160, 153
    else:
        size, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if size <= single else math.ceil(size / part)


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, time.monotonic()

    def take(self) -> float:
        """0 when a token was taken, else seconds until one is there."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class _Fault:
    status: int
    count: int
    retry_after: float | None


class SmsGatewayStandIn:
    """Real HTTP stand-in for the SMS gateway plus a thread-safe control API for tests."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0123456789abcdef" * 2,
        auth_token: str = "test-auth-token",
        rate_per_second: float | None = 10.0,
        burst: float | None = None,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self._lock = threading.RLock()
        self._rate, self._burst = rate_per_second, burst
        self._reset_state()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self._app = Starlette(
            routes=[
                Route(f"{API}/Messages.json", self._create, methods=["POST"]),
                Route(f"{API}/Messages.json", self._list, methods=["GET"]),
            ]
        )

    def _reset_state(self) -> None:
        self._messages: list[SmsRecord] = []
        self._calls: list[SmsCall] = []
        self._blocked: set[str] = set()
        self._faults: list[_Fault] = []
        self._bucket = _Bucket(self._rate, self._burst or self._rate) if self._rate else None
        self.rate_limited_count = 0

    # ----------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("SmsGatewayStandIn is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SmsGatewayStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off", loop="asyncio"
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="SmsGatewayStandIn",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("SmsGatewayStandIn server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SmsGatewayStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- control API
    def reset(self) -> None:
        """Forget messages, calls, blocked numbers and faults; refill the rate limit."""
        with self._lock:
            self._reset_state()

    def set_rate_limit(self, rate_per_second: float | None, burst: float | None = None) -> None:
        """A new token bucket (full); None lifts the limit."""
        with self._lock:
            self._rate, self._burst = rate_per_second, burst
            self._bucket = _Bucket(self._rate, self._burst or self._rate) if self._rate else None

    def block(self, number: str) -> None:
        """The recipient replied STOP: sends to it answer 21610."""
        with self._lock:
            self._blocked.add(number)

    def fail_next(
        self, count: int = 1, *, status: int = 500, retry_after: float | None = None
    ) -> None:
        """The next `count` authenticated POSTs fail with `status` (429, 500, 503...);
        `retry_after` becomes the Retry-After header (a 429 always has one)."""
        with self._lock:
            self._faults.append(_Fault(status, count, retry_after))

    @property
    def messages(self) -> list[SmsRecord]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, number: str) -> list[SmsRecord]:
        with self._lock:
            return [m for m in self._messages if m.to == number]

    @property
    def calls(self) -> list[SmsCall]:
        with self._lock:
            return list(self._calls)

    def inbound(
        self, url: str, *, from_: str, to: str, body: str, sid: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The webhook request for a text from `from_` to our number `to`: (form, headers).
        The same `sid` again is the gateway delivering the same message twice."""
        form = {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
        }
        data = url + "".join(k + form[k] for k in sorted(form))
        mac = hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()
        return form, {"X-Twilio-Signature": base64.b64encode(mac).decode()}

    # ----------------------------------------------------------------- HTTP layer
    async def _create(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            async with request.form() as form:
                params = {k: v for k, v in form.items() if isinstance(v, str)}
            with self._lock:
                self._admit()
                record = self._accept(params)
        except GatewayError as err:
            return self._error(request, err)
        self._log(request, 201, None)
        return JSONResponse(self._resource(record), status_code=201)

    async def _list(self, request: Request) -> Response:
        try:
            self._authenticate(request)
        except GatewayError as err:
            return self._error(request, err)
        query = request.query_params
        size = min(max(int(query.get("PageSize", "50")), 1), 1000)
        page = max(int(query.get("Page", "0")), 0)
        with self._lock:
            found = [
                m
                for m in reversed(self._messages)
                if query.get("To") in (None, m.to) and query.get("From") in (None, m.from_)
            ]
        chunk, more = found[page * size : (page + 1) * size], len(found) > (page + 1) * size
        uri = f"{API.format(account=self.account_sid)}/Messages.json?PageSize={size}&Page="
        self._log(request, 200, None)
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in chunk],
                "page": page,
                "page_size": size,
                "start": page * size,
                "end": page * size + max(len(chunk) - 1, 0),
                "uri": f"{uri}{page}",
                "first_page_uri": f"{uri}0",
                "next_page_uri": f"{uri}{page + 1}" if more else None,
                "previous_page_uri": f"{uri}{page - 1}" if page else None,
            }
        )

    def _error(self, request: Request, err: GatewayError) -> Response:
        headers: dict[str, str] = {}
        if err.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        if err.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(err.retry_after)))
        self._log(request, err.status, err.code)
        return err.response(headers)

    def _log(self, request: Request, status: int, code: int | None) -> None:
        with self._lock:
            self._calls.append(SmsCall(request.method, status, code, time.time()))

    def _authenticate(self, request: Request) -> None:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except ValueError:
            given = b""
        if (
            scheme.lower() != "basic"
            or not secrets.compare_digest(given, expected)
            or request.path_params["account"] != self.account_sid
        ):
            raise GatewayError(401, 20003, "Authenticate")

    def _admit(self) -> None:
        """Injected faults first, then the rate limit."""
        fault = next((f for f in self._faults if f.count > 0), None)
        if fault is not None:
            fault.count -= 1
            if fault.status == 429:
                raise _rate_limited(fault.retry_after or 1.0)
            phrase = _PHRASES.get(fault.status, "Error")
            raise GatewayError(fault.status, 20000 + fault.status, phrase, fault.retry_after)
        wait = self._bucket.take() if self._bucket else 0.0
        if wait > 0:
            self.rate_limited_count += 1
            raise _rate_limited(wait)

    def _accept(self, params: dict[str, str]) -> SmsRecord:
        to, body = params.get("To", ""), params.get("Body", "")
        sender, service = params.get("From"), params.get("MessagingServiceSid")
        _validate(to, body, sender, service)
        if to in self._blocked:
            raise GatewayError(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        record = SmsRecord(sid, to, sender, service, body, segments(body), time.time())
        self._messages.append(record)
        return record

    def _resource(self, m: SmsRecord) -> dict[str, Any]:
        date = formatdate(m.timestamp, usegmt=True)
        uri = f"{API.format(account=self.account_sid)}/Messages/{m.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": date,
            "date_sent": None,
            "date_updated": date,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(m.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": "queued" if m.from_ else "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": m.to,
            "uri": uri,
        }


def _validate(to: str, body: str, sender: str | None, service: str | None) -> None:
    if not to:
        raise GatewayError(400, 21604, "A 'To' phone number is required.")
    if not sender and not service:
        raise GatewayError(400, 21603, "A 'From' phone number is required.")
    if not body:
        raise GatewayError(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise GatewayError(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if not _E164.match(to):
        raise GatewayError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if sender and not (_E164.match(sender) or _ALPHANUMERIC_SENDER.match(sender)):
        raise GatewayError(
            400,
            21212,
            f"The 'From' number {sender} is not a valid phone number, shortcode, "
            "or alphanumeric sender ID.",
        )
    if service and not _SERVICE_SID.match(service):
        raise GatewayError(400, 21701, f"The Messaging Service Sid {service} is invalid.")


def _rate_limited(wait: float) -> GatewayError:
    return GatewayError(429, 20429, "Too Many Requests", wait)
