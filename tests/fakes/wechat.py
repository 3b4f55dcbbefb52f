"""A local stand-in for WeChat's official-account platform, over real HTTP, for tests.

Both directions, as WeChat does them:

* The API the account calls (``{base_url}/cgi-bin/...``): ``token`` (checks grant_type,
  appid and secret: 40002, 40013, 40125; a token lives 7200 s, and an older one stays good
  5 minutes after a new one is fetched), ``message/custom/send`` (text only; 43004 for a
  user who unsubscribed, 40003 for an unknown openid, 45015 when the user's last message
  is 48 hours old or more), ``message/template/send`` (40037 for a template not approved
  for the account), ``media/get`` (the file with its content type, or 40007). Every call
  checks its access_token: 41001 missing, 40001 unknown, 42001 expired. Errors come as
  ``{"errcode": N, "errmsg": "..."}`` with HTTP 200, as WeChat answers them.
* Users' messages pushed to the account's server address (``push``): signed with the
  token (``signature``, and ``msg_signature`` over the AES envelope in safe mode), with a
  MsgId for messages; the answer is read as WeChat reads it: within 5 seconds or not at
  all (a later answer counts as none), "success" or empty for no reply, otherwise a
  passive reply's XML (in safe mode sealed, whose signature is checked).

`fail_next(path, errcode)` makes the next call of a method fail with that code (45009
rate limits, 40001 a token revoked, ...). Simplifications: no menus, no voice or video,
and a user is followed from their first message.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.wechat import Crypto, ProtocolError, parse_xml, signature, to_xml

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43019: "require remove blacklist",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}
TOKEN_LIFETIME = 7200.0
OLD_TOKEN_GRACE = 300.0
WINDOW = 48 * 3600.0
PASSIVE_LIMIT = 5.0
ACCOUNT = "gh_0123456789ab"


class _Refusal(Exception):
    def __init__(self, errcode: int) -> None:
        self.errcode = errcode


@dataclass
class Sent:
    kind: str  # "custom" or "template"
    touser: str
    text: str = ""
    template_id: str = ""
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Pushed:
    status: int
    body: str
    timed_out: bool = False
    reply: dict[str, str] | None = None  # the passive reply's fields, if there was one


@dataclass
class _Follower:
    subscribed: bool = True
    last_message: float | None = None


class WeChatStandIn:
    def __init__(
        self,
        *,
        app_id: str = "wx0123456789abcdef",
        app_secret: str = "app-secret-0123",
        token: str = "server-token",
        aes_key: str | None = None,
        templates: tuple[str, ...] = ("TPL_STATUS",),
        clock: Callable[[], float] = time.time,
        passive_limit: float = PASSIVE_LIMIT,
    ) -> None:
        self.app_id, self.app_secret, self.token = app_id, app_secret, token
        self.crypto = Crypto(token, aes_key, app_id) if aes_key else None
        self.templates = set(templates)
        self.clock = clock
        self.passive_limit = passive_limit  # WeChat's 5 s; tests of the stand-in shorten it
        self.endpoint = ""  # the account's server address, for push
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.reset()
        self._app = Starlette(
            routes=[
                Route("/cgi-bin/token", self._token, methods=["GET"]),
                Route("/cgi-bin/message/custom/send", self._custom, methods=["POST"]),
                Route("/cgi-bin/message/template/send", self._template, methods=["POST"]),
                Route("/cgi-bin/media/get", self._media, methods=["GET"]),
            ]
        )

    def reset(self) -> None:
        with self._lock:
            self.tokens: dict[str, float] = {}  # token -> when it stops being good
            self.token_fetches = 0
            self.followers: dict[str, _Follower] = {}
            self.sent: list[Sent] = []
            self.calls: list[str] = []
            self.media: dict[str, tuple[bytes, str]] = {}
            self._faults: dict[str, list[int]] = {}
            self._msg_id = 10**15

    # -- running ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("WeChatStandIn is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WeChatStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off", loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("WeChatStandIn did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> WeChatStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- controls -----------------------------------------------------------------

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls of `path` (say "message/custom/send") fail with `errcode`."""
        with self._lock:
            self._faults.setdefault(path, []).extend([errcode] * times)

    def expire_tokens(self) -> None:
        """Every token issued so far has expired (42001 from now on)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def add_media(self, data: bytes, content_type: str = "image/jpeg") -> str:
        media_id = secrets.token_urlsafe(24)
        with self._lock:
            self.media[media_id] = (data, content_type)
        return media_id

    def set_last_message(self, openid: str, at: float) -> None:
        with self._lock:
            self.followers.setdefault(openid, _Follower()).last_message = at

    def texts_to(self, openid: str) -> list[str]:
        return [s.text for s in self.sent if s.kind == "custom" and s.touser == openid]

    def templates_to(self, openid: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == "template" and s.touser == openid]

    # -- the API ------------------------------------------------------------------

    @staticmethod
    def _error(errcode: int) -> JSONResponse:
        return JSONResponse({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})

    def _fault(self, path: str) -> None:
        faults = self._faults.get(path)
        if faults:
            raise _Refusal(faults.pop(0))

    async def _token(self, request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "client_credential":
            return self._error(40002)
        if query.get("appid") != self.app_id:
            return self._error(40013)
        if query.get("secret") != self.app_secret:
            return self._error(40125)
        now = self.clock()
        with self._lock:
            self.token_fetches += 1
            # fetching a new token leaves the older ones five more minutes
            self.tokens = {t: min(end, now + OLD_TOKEN_GRACE) for t, end in self.tokens.items()}
            token = secrets.token_urlsafe(32)
            self.tokens[token] = now + TOKEN_LIFETIME
        return JSONResponse({"access_token": token, "expires_in": int(TOKEN_LIFETIME)})

    def _check_token(self, request: Request, path: str) -> None:
        token = request.query_params.get("access_token")
        with self._lock:
            self.calls.append(path)
            if not token:
                raise _Refusal(41001)
            if token not in self.tokens:
                raise _Refusal(40001)
            if self.tokens[token] <= self.clock():
                raise _Refusal(42001)
            self._fault(path)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise _Refusal(47001) from None
        if not isinstance(body, dict):
            raise _Refusal(47001)
        return body

    def _follower(self, openid: Any) -> _Follower:
        follower = self.followers.get(openid) if isinstance(openid, str) else None
        if follower is None:
            raise _Refusal(40003)
        if not follower.subscribed:
            raise _Refusal(43004)
        return follower

    async def _custom(self, request: Request) -> Response:
        try:
            self._check_token(request, "message/custom/send")
            body = await self._json_body(request)
            with self._lock:
                follower = self._follower(body.get("touser"))
                last = follower.last_message
                if last is None or self.clock() - last >= WINDOW:
                    raise _Refusal(45015)
                if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
                    raise _Refusal(40008)
                content = body["text"].get("content")
                if not isinstance(content, str) or not content:
                    raise _Refusal(44004)
                self.sent.append(Sent("custom", body["touser"], text=content))
        except _Refusal as refusal:
            return self._error(refusal.errcode)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: Request) -> Response:
        try:
            self._check_token(request, "message/template/send")
            body = await self._json_body(request)
            with self._lock:
                self._follower(body.get("touser"))
                if body.get("template_id") not in self.templates:
                    raise _Refusal(40037)
                data = body.get("data")
                if not isinstance(data, dict) or not all(
                    isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()
                ):
                    raise _Refusal(47001)
                values = {k: v["value"] for k, v in data.items()}
                self.sent.append(
                    Sent("template", body["touser"], template_id=body["template_id"], data=values)
                )
                msgid = len(self.sent)
        except _Refusal as refusal:
            return self._error(refusal.errcode)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def _media(self, request: Request) -> Response:
        try:
            self._check_token(request, "media/get")
            found = self.media.get(request.query_params.get("media_id", ""))
            if found is None:
                raise _Refusal(40007)
        except _Refusal as refusal:
            return self._error(refusal.errcode)
        data, kind = found
        disposition = 'attachment; filename="media.jpg"'
        return Response(data, media_type=kind, headers={"Content-disposition": disposition})

    # -- pushing users' messages --------------------------------------------------

    def message(self, openid: str, msg_type: str, **fields: str) -> dict[str, str | int]:
        """A user's message as WeChat writes it (a MsgId for messages, none for events)."""
        xml: dict[str, str | int] = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": int(self.clock()),
            "MsgType": msg_type,
        }
        xml.update(fields)
        if msg_type != "event" and "MsgId" not in fields:
            with self._lock:
                self._msg_id += 1
                xml["MsgId"] = self._msg_id
        return xml

    def push(
        self, message: dict[str, str | int], *, encrypted: bool = False, **tamper: str
    ) -> Pushed:
        """POST `message` to the endpoint as WeChat does; `tamper` overrides query
        parameters (signature, timestamp, ...) to act as a forger would."""
        self._follow(message)
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(5)
        query = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signature(self.token, timestamp, nonce),
            "openid": str(message["FromUserName"]),
        }
        body = to_xml(message)
        if encrypted:
            assert self.crypto is not None, "safe mode needs aes_key"
            sealed = self.crypto.encrypt(body)
            body = to_xml({"ToUserName": ACCOUNT, "Encrypt": sealed})
            query["encrypt_type"] = "aes"
            query["msg_signature"] = signature(self.token, timestamp, nonce, sealed)
        query.update(tamper)
        return self.post(body, query)

    def post(self, body: str | bytes, query: dict[str, str]) -> Pushed:
        """One POST to the endpoint, read within WeChat's 5 seconds."""
        started = time.monotonic()
        try:
            response = httpx.post(
                self.endpoint, params=query, content=body, timeout=self.passive_limit
            )
        except httpx.TimeoutException:
            return Pushed(status=0, body="", timed_out=True)
        if time.monotonic() - started > self.passive_limit:
            return Pushed(status=response.status_code, body=response.text, timed_out=True)
        pushed = Pushed(status=response.status_code, body=response.text)
        if response.status_code == 200 and response.text not in ("", "success"):
            pushed.reply = self._read_reply(response.text, query)
        return pushed

    def _read_reply(self, text: str, query: dict[str, str]) -> dict[str, str]:
        fields = parse_xml(text)
        if query.get("encrypt_type") != "aes":
            return fields
        assert self.crypto is not None
        given = fields.get("MsgSignature", "")
        expected = signature(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if given != expected:
            raise ProtocolError("the passive reply's MsgSignature is wrong")
        return parse_xml(self.crypto.decrypt(fields["Encrypt"]))

    def _follow(self, message: dict[str, str | int]) -> None:
        openid, event = str(message["FromUserName"]), str(message.get("Event", "")).lower()
        with self._lock:
            follower = self.followers.setdefault(openid, _Follower())
            follower.subscribed = event != "unsubscribe"
            if event not in ("unsubscribe", "templatesendjobfinish"):
                follower.last_message = self.clock()
