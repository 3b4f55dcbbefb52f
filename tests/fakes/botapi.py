"""A local stand-in for the Telegram Bot API, served over real HTTP for tests.

What is faithful to api.telegram.org:

* URLs ``{base_url}{token}/{method}`` (method names case-insensitive, GET or POST) and
  ``{base_file_url}{token}/{file_path}``; a malformed token or an unknown method answers 404.
* Bodies as python-telegram-bot sends them (form-encoded or multipart, non-string values
  JSON-encoded) and plain JSON bodies.
* The envelope ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": N,
  "description": "...", "parameters": {...}}`` with the real HTTP status and descriptions.
* getUpdates: ``offset`` confirms (drops) earlier updates, a negative offset keeps only the
  tail, ``limit`` 1-100, ``timeout`` long polling that returns as soon as updates are queued,
  ``allowed_updates`` is remembered and filters updates created afterwards (by default
  chat_member, message_reaction and message_reaction_count are left out), a newer getUpdates
  call ends a pending one with 409, and getUpdates while a webhook is set answers 409.
* Webhooks: updates are POSTed to the URL (with ``X-Telegram-Bot-Api-Secret-Token``) and
  retried until a 2xx answer, as Telegram does: one chat's updates in order, the next only
  after the last was answered; different chats' at once, up to ``max_connections`` (40)
  requests in flight; a request unanswered within ``webhook_timeout`` seconds counts as
  failed and is sent again. getWebhookInfo reports pending count and the last error.
* Flood control: token buckets, global (30 msg/s) and per chat (1 msg/s, burst 3), over sent
  messages (send* methods but sendChatAction); over the limit: 429 with
  ``parameters.retry_after``.
* Groups (``add_group``): members' messages reach the bot as in privacy mode (commands and
  replies to the bot's messages only), buttons can be pressed under the bot's group posts,
  and a bot removed from a group (``kick_bot``) gets 403 "bot was kicked from the ... chat".
* 403 for blocked users and for users who never started the bot; 400 for empty or too long
  texts (4096) and captions (1024) measured after entity parsing, callback_data over 64 bytes,
  HTML that does not parse (see ``botapi_html``), unknown messages to edit or delete,
  "message is not modified", stale callback query ids, unknown file ids.
* Results: Message objects with message_id (one counter per chat, shared with the user's
  messages), date, chat, from (the bot), text/caption with entities (parsed from HTML and
  auto-detected), reply_to_message and reply_markup (inline keyboards only, like the real API).

Simplifications: Markdown/MarkdownV2 texts are not validated; photos are not re-encoded or
measured; URLs given as files are not fetched; webhook URLs may be plain http on any port;
callback queries do not expire; editing a message does not count against flood control.

Usage (the bot may run in this thread's event loop, another thread or another process)::

    with BotApiStandIn() as api:              # or start()/stop(); reset() between tests
        app = (Application.builder().token("123:ABC").base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...                                   # initialize, start, updater.start_polling()
        api.send_text(42, "/start")           # user 42 now counts as having started the bot
        [reply] = api.wait_for_messages(42, 1)   # await api.wait_for_messages_async(...)
                                                 # when the bot shares this event loop

Tip: httpx clients load the CA bundle at creation (~0.1 s each, two per PTB Bot); nothing here
uses TLS, so tests may pass ``HTTPXRequest(httpx_kwargs={"verify": False})`` to PTB.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import json
import math
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .botapi_html import HtmlParseError, find_auto_entities, parse_html, trim

MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_METHODS = (
    "getMe getUpdates deleteWebhook setWebhook getWebhookInfo sendMessage "
    "editMessageText editMessageReplyMarkup answerCallbackQuery sendPhoto sendDocument "
    "sendChatAction getFile setMyCommands getMyCommands deleteMyCommands deleteMessage"
)
_CANONICAL = {name.lower(): name for name in _METHODS.split()}
_STRING_PARAMS = _words(  # form values kept as strings, the others are JSON-decoded
    "text caption parse_mode callback_query_id url secret_token file_id action language_code "
    "inline_message_id ip_address photo document business_connection_id message_effect_id"
)
_UPDATE_TYPES = _words(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages message_reaction "
    "message_reaction_count inline_query chosen_inline_result callback_query shipping_query "
    "pre_checkout_query purchased_paid_media poll poll_answer my_chat_member chat_member "
    "chat_join_request chat_boost removed_chat_boost"
)
_DEFAULT_ALLOWED = _UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)
_BUTTON_ACTIONS = _words(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay"
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
    "502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_KEEP: Any = object()


def _tiny_png() -> bytes:
    """A valid 1x1 PNG, the default picture of ``send_photo``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xc8\x1e\x1e"))
        + chunk(b"IEND", b"")
    )


TINY_PNG = _tiny_png()


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict:
        body = {"ok": False, "error_code": self.code, "description": self.description}
        return body | ({"parameters": self.parameters} if self.parameters else {})


def _bad(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


@dataclass
class SentMessage:
    """One message the bot sent or edited (edits are logged as separate entries)."""

    method: str
    chat_id: int | str
    message_id: int
    text: str | None  # text or caption as sent (HTML included)
    plain_text: str | None  # after entity parsing, as users see it
    parse_mode: str | None
    reply_markup: dict | None
    timestamp: float
    result: dict  # the Message object returned to the bot


@dataclass
class CallbackAnswer:
    callback_query_id: str
    user_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    timestamp: float


@dataclass
class ApiCall:
    method: str
    params: dict
    status: int
    description: str | None
    timestamp: float


@dataclass
class WebhookAttempt:
    update_id: int
    url: str
    error: str | None  # None when the webhook answered 2xx
    timestamp: float


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _File:
    file_id: str
    unique_id: str
    path: str
    data: bytes
    mime: str
    name: str | None = None


@dataclass
class _Pending:
    update: dict
    duplicate: bool = False
    delivered: bool = False
    retry_at: float = 0.0  # monotonic time before which a failed delivery is not re-sent


def _update_chat(update: dict) -> object:
    """The chat an update belongs to, whose updates a webhook gets one at a time in order;
    an update of no chat is ordered with nothing."""
    for kind, body in update.items():
        if not isinstance(body, dict):
            continue
        if isinstance(body.get("chat"), dict):
            return body["chat"].get("id")
        message = body.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return message["chat"].get("id")
        if isinstance(body.get("from"), dict):
            return body["from"].get("id")
        return ("update", update.get("update_id"), kind)
    return ("update", update.get("update_id"))


@dataclass
class _Webhook:
    url: str
    secret: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Fault:
    status: int
    count: int
    executed: bool


@dataclass
class _Described:
    """A result that the real API sends with a ``description`` next to it."""

    result: Any
    description: str


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, time.monotonic()

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def _decode_param(name: str, raw: str) -> Any:
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def _read_params(request: Request) -> tuple[dict, dict[str, _Upload]]:
    """Query string plus JSON, form-encoded or multipart body, values decoded."""
    params: dict = {k: _decode_param(k, v) for k, v in request.query_params.items()}
    files: dict[str, _Upload] = {}
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        body = await request.body()
        data = json.loads(body) if body.strip() else {}
        if not isinstance(data, dict):
            raise _bad("parameters must be a JSON object")
        params.update(data)
    elif ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form(max_part_size=50 * 1024 * 1024) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = _Upload(value.filename, value.content_type, await value.read())
                else:
                    params[key] = _decode_param(key, value)
    chat_id = params.get("chat_id")
    if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
        params["chat_id"] = int(chat_id)
    return params, files


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard", markup.get("keyboard", []))
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad("can't parse reply keyboard markup JSON object")
    for button in (b for row in rows for b in row):
        if "inline_keyboard" in markup:
            _check_inline_button(button)
        elif not isinstance(button, str) and not (
            isinstance(button, dict) and isinstance(button.get("text"), str)
        ):
            raise _bad('can\'t parse keyboard button: Field "text" must be of type String')


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not any(action in button for action in _BUTTON_ACTIONS):
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
        raise _bad("BUTTON_URL_INVALID")


def _inline_only(markup: Any) -> dict | None:
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class BotApiStandIn:
    """Real HTTP stand-in for the Bot API plus a thread-safe control API for tests.

    ``token=None`` accepts every well-formed token (the bot's id is the token's number);
    ``strict_ampersand`` makes a bare ``&`` in HTML an error (the real server keeps it).
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_name: str = "Civic Feedback Assistant",
        bot_username: str = "civic_feedback_bot",
        strict_ampersand: bool = True,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token, self.bot_name, self.bot_username = token, bot_name, bot_username
        self.strict_ampersand, self.webhook_retry_delay = strict_ampersand, webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._lock = threading.RLock()
        self._bot_id = int(token.split(":")[0]) if token else 123456
        self._next_update_id, self._poll_generation, self._query_count = 100_000_001, 0, 0
        self._waiting = 0  # getUpdates calls currently long polling
        self._reset_state()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._event: asyncio.Event | None = None
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )

    def _reset_state(self) -> None:
        self._users: dict[int, dict] = {}
        self._chats: dict[int | str, dict] = {}
        self._blocked: set[int] = set()
        self._store: dict[int | str, dict[int, dict]] = {}
        self._message_ids: dict[int | str, int] = {}
        self._history: dict[int, dict] = {}
        self._pending: list[_Pending] = []
        self._allowed = _DEFAULT_ALLOWED
        self._open_queries: dict[str, int | None] = {}
        self._files: dict[str, _File] = {}
        self._commands: dict[tuple[str, str], list] = {}
        self._webhook: _Webhook | None = None
        self._faults: dict[str, _Fault] = {}
        self._before: dict[str, Callable[[], None]] = {}
        self._sent: list[SentMessage] = []
        self._answers: list[CallbackAnswer] = []
        self._calls: list[ApiCall] = []
        self._attempts: list[WebhookAttempt] = []
        self._deleted: list[tuple[int | str, int]] = []
        self.rate_limited_count = 0
        self._limits: dict[str, float | None] = {
            "global_per_s": 30.0,
            "per_chat_per_s": 1.0,
            "per_chat_burst": 3.0,
        }
        self._buckets: dict[Any, TokenBucket] = {}

    def reset(self) -> None:
        """Back to a fresh state (users, chats, updates, webhook, limits, logs) without
        restarting the server; update ids keep growing.  Ends pending long polls with 409."""
        with self._lock:
            self._reset_state()
            self._poll_generation += 1
        self._wake()

    # ----------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self.port is None:
            raise RuntimeError("BotApiStandIn is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BotApiStandIn:
        # IPPROTO_TCP explicitly: asyncio then sets TCP_NODELAY on accepted connections
        # (without it every answer waits ~40 ms for a delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port, self._closing = sock.getsockname()[1], False
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(sock)), name="BotApiStandIn", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("BotApiStandIn server did not start")
            time.sleep(0.005)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._event = asyncio.Event()
        worker = asyncio.create_task(self._webhook_worker())
        try:
            assert self._server is not None
            await self._server.serve(sockets=[sock])
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            self._loop = None

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._closing = True
        self._wake()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BotApiStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wake(self) -> None:
        """Wake every long poll and the webhook worker (callable from any thread)."""
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._fire()
        else:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        if self._event is not None:
            old, self._event = self._event, asyncio.Event()
            old.set()

    # ----------------------------------------------------------------- HTTP layer
    async def _endpoint(self, request: Request) -> Response:
        token, name = request.path_params["token"], request.path_params["method"]
        method = _CANONICAL.get(name.lower(), name)
        params: dict = {}
        try:
            params, files = await _read_params(request)
            with self._lock:
                before = self._before.get(method.lower())
            if before is not None:
                await asyncio.to_thread(before)
            status, body = await self._dispatch(token, method, params, files)
        except ApiError as err:
            status, body = err.code, err.body()
        except ValueError:  # malformed JSON body
            status, body = 400, _bad("can't parse JSON object").body()
        description = body.get("description") if isinstance(body, dict) else "Bad Gateway"
        if method != "getUpdates" or not await request.is_disconnected():  # abandoned polls
            with self._lock:
                self._calls.append(ApiCall(method, params, status, description, time.time()))
        if isinstance(body, str):
            return HTMLResponse(body, status_code=status)
        return JSONResponse(body, status_code=status)

    async def _dispatch(
        self, token: str, method: str, params: dict, files: dict[str, _Upload]
    ) -> tuple[int, dict | str]:
        if not _TOKEN_RE.fullmatch(token) or method.lower() not in _CANONICAL:
            raise ApiError(404, "Not Found")
        if self.token is not None and token != self.token:
            raise ApiError(401, "Unauthorized")
        fault = self._take_fault(method)
        if fault is not None and not fault.executed:
            return self._fault_answer(fault)
        try:
            with self._lock:
                self._bot_id = int(token.split(":")[0])
            if method == "getUpdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = getattr(self, f"_m_{method}")(params, files)
            body = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            answer: tuple[int, dict | str] = (200, body)
        except ApiError as err:
            answer = (err.code, err.body())
        return self._fault_answer(fault) if fault is not None else answer

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for key in (method.lower(), "*"):
                fault = self._faults.get(key)
                if fault is not None and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[int, dict | str]:
        if fault.status == 502:
            return 502, _NGINX_502
        return fault.status, ApiError(fault.status, HTTPStatus(fault.status).phrase).body()

    async def _file_endpoint(self, request: Request) -> Response:
        path = request.path_params["path"]
        with self._lock:
            found = next((f for f in self._files.values() if f.path == path), None)
        if found is None:
            return JSONResponse(ApiError(404, "Not Found").body(), status_code=404)
        return Response(found.data, media_type=found.mime)

    # ----------------------------------------------------------------- updates
    async def _get_updates(self, params: dict) -> list[dict]:
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + max(float(params.get("timeout") or 0), 0.0)
        with self._lock:
            self._check_no_webhook()
            if params.get("allowed_updates") is not None:
                self._allowed = frozenset(params["allowed_updates"]) or _DEFAULT_ALLOWED
            self._confirm(int(params.get("offset") or 0))
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake()  # ends an older pending getUpdates with 409
        while True:
            event = self._event
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make "
                        "sure that only one bot instance is running",
                    )
                self._check_no_webhook()
                batch = self._pending[:limit]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing or event is None:
                    for entry in batch:
                        entry.delivered = True
                    return [copy.deepcopy(entry.update) for entry in batch]
            self._waiting += 1
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._waiting -= 1

    def _check_no_webhook(self) -> None:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [
                p
                for p in self._pending
                if p.update["update_id"] >= offset or (p.duplicate and not p.delivered)
            ]

    def _enqueue(self, update: dict, *, duplicate: bool = False) -> None:
        kind = next((key for key in update if key != "update_id"), None)
        if duplicate or kind in self._allowed:
            bisect.insort(
                self._pending, _Pending(update, duplicate), key=lambda p: p.update["update_id"]
            )

    async def _webhook_worker(self) -> None:
        client: httpx.AsyncClient | None = None  # created on first use: it costs ~0.1 s
        in_flight: dict[int, asyncio.Task[None]] = {}  # by update_id
        try:
            while True:
                event = self._event
                with self._lock:
                    hook = self._webhook
                    due, wait = self._due_deliveries(hook, in_flight) if hook else ([], None)
                for entry in due:
                    assert hook is not None
                    client = client or httpx.AsyncClient()
                    task = asyncio.create_task(self._deliver(client, hook, entry))
                    in_flight[entry.update["update_id"]] = task
                    task.add_done_callback(
                        lambda _, key=entry.update["update_id"]: self._delivered(in_flight, key)
                    )
                if due or event is None:
                    await asyncio.sleep(0 if due else 0.01)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await event.wait()
        finally:
            for task in in_flight.values():
                task.cancel()
            await asyncio.gather(*in_flight.values(), return_exceptions=True)
            if client is not None:
                await client.aclose()

    def _due_deliveries(
        self, hook: _Webhook, in_flight: dict[int, asyncio.Task[None]]
    ) -> tuple[list[_Pending], float | None]:
        """The pending updates to POST now (under the lock), and how long until a failed
        one may be sent again (None: nothing is waiting for its retry time)."""
        now, room = time.monotonic(), hook.max_connections - len(in_flight)
        held: set[object] = set()  # chats with an earlier update in flight or waiting
        due: list[_Pending] = []
        wait: float | None = None
        for entry in self._pending:
            chat = _update_chat(entry.update)
            if chat in held:
                continue
            held.add(chat)
            if entry.update["update_id"] in in_flight:
                continue
            if entry.retry_at > now:
                wait = min(wait or math.inf, entry.retry_at - now)
                continue
            if len(due) < room:
                due.append(entry)
        return due, wait

    def _delivered(self, in_flight: dict[int, asyncio.Task[None]], update_id: int) -> None:
        in_flight.pop(update_id, None)
        self._fire()

    async def _deliver(self, client: httpx.AsyncClient, hook: _Webhook, entry: _Pending) -> None:
        error = await self._post_update(client, hook, entry.update)
        self._webhook_done(hook, entry, error)

    async def _post_update(
        self, client: httpx.AsyncClient, hook: _Webhook, update: dict
    ) -> str | None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret} if hook.secret else {}
        try:
            response = await client.post(
                hook.url, json=update, headers=headers, timeout=self.webhook_timeout
            )
        except httpx.ConnectError:
            return "Connection refused"
        except httpx.TimeoutException:
            return "Read timeout expired"
        except httpx.HTTPError as err:
            return f"Connection error: {type(err).__name__}"
        if 200 <= response.status_code < 300:
            return None
        return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"

    def _webhook_done(self, hook: _Webhook, entry: _Pending, error: str | None) -> None:
        with self._lock:
            self._attempts.append(
                WebhookAttempt(entry.update["update_id"], hook.url, error, time.time())
            )
            if error is None:
                self._pending = [p for p in self._pending if p is not entry]
            else:
                hook.last_error_date, hook.last_error_message = int(time.time()), error
                entry.retry_at = time.monotonic() + self.webhook_retry_delay

    # ----------------------------------------------------------------- checks and builders
    def _bot_user(self) -> dict:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _chat(self, chat_id: int | str) -> dict:
        if chat_id not in self._chats and chat_id in self._users:
            user = self._users[chat_id]
            return {
                k: user[k] for k in ("id", "first_name", "last_name", "username") if k in user
            } | {"type": "private"}
        return dict(self._chats.get(chat_id) or {"id": chat_id, "type": "private"})

    def _check_chat(self, chat_id: Any) -> int:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if chat_id in self._blocked:
            kind = self._chats.get(chat_id, {}).get("type", "private")
            if kind in ("group", "supergroup"):
                raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._chats and chat_id not in self._users:
            if isinstance(chat_id, int) and chat_id > 0:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        return chat_id

    def _throttle(self, chat_id: int) -> None:
        now, buckets = time.monotonic(), []
        if self._limits["global_per_s"]:
            rate = self._limits["global_per_s"]
            buckets.append(self._buckets.setdefault("*", TokenBucket(rate, max(rate, 1))))
        if self._limits["per_chat_per_s"]:
            rate, burst = self._limits["per_chat_per_s"], self._limits["per_chat_burst"] or 1
            buckets.append(self._buckets.setdefault(chat_id, TokenBucket(rate, burst)))
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait > 0:
            self.rate_limited_count += 1
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        for bucket in buckets:
            bucket.tokens -= 1

    def _formatted(self, text: Any, params: dict, *, caption: bool) -> tuple[str, list[dict]]:
        """Plain text and entities for a text or caption, with the server's checks."""
        text = "" if text is None else str(text)
        entities = params.get("caption_entities" if caption else "entities")
        mode = str(params.get("parse_mode") or "").lower()
        if entities is not None or not mode or mode in ("markdown", "markdownv2"):
            plain, found = text, list(entities or [])
        elif mode == "html":
            try:
                plain, found = parse_html(text, strict_ampersand=self.strict_ampersand)
            except HtmlParseError as err:
                raise _bad(f"can't parse entities: {err}") from None
        else:
            raise _bad("unsupported parse_mode")
        plain, found = trim(plain, found)
        if not plain and not caption:
            raise _bad("message text is empty")
        if len(plain) > (MAX_CAPTION if caption else MAX_TEXT):
            raise _bad("message caption is too long" if caption else "message is too long")
        return plain, find_auto_entities(plain, found)

    def _new_message_id(self, chat_id: int | str) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _remember(self, message: dict) -> None:
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self._store.setdefault(chat_id, {})[message_id] = message
        self._message_ids[chat_id] = max(self._message_ids.get(chat_id, 0), message_id)

    def _bot_message(self, chat_id: int, params: dict, content: dict) -> dict:
        message = {
            "message_id": self._new_message_id(chat_id),
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        reply = self._reply_target(chat_id, params)
        if reply is not None:
            message["reply_to_message"] = reply
        if _inline_only(params.get("reply_markup")):
            message["reply_markup"] = params["reply_markup"]
        self._remember(message)
        return message

    def _reply_target(self, chat_id: int, params: dict) -> dict | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = self._store.get(reply.get("chat_id", chat_id), {}).get(message_id)
        if target is None:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise _bad("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _record(
        self, method: str, params: dict, message: dict, text: str | None, plain: str | None
    ) -> dict:
        self._sent.append(
            SentMessage(
                method,
                message["chat"]["id"],
                message["message_id"],
                text,
                plain,
                params.get("parse_mode"),
                params.get("reply_markup"),
                time.time(),
                copy.deepcopy(message),
            )
        )
        return message

    def _add_file(self, data: bytes, folder: str, mime: str, name: str | None = None) -> _File:
        number = len(self._files) + 1
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(mime)
        if ext is None:
            ext = name.rsplit(".", 1)[-1] if name and "." in name else "bin"
        stored = _File(
            f"{folder[:2].upper()}ACAgIAAxkBAAI{number:06d}standin",
            f"AQAD{number:06d}",
            f"{folder}/file_{number}.{ext}",
            data,
            mime,
            name,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(
        self, field_name: str, params: dict, files: dict[str, _Upload], folder: str
    ) -> _File:
        value, upload = params.get(field_name), files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        if upload is not None:
            mime = upload.content_type or "application/octet-stream"
            return self._add_file(upload.data, folder, mime, upload.filename)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and re.match(r"https?://", value):
            return self._add_file(b"", folder, "application/octet-stream", value.rsplit("/")[-1])
        if value is None:
            raise _bad(f"there is no {field_name} in the request")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, stored: _File) -> list[dict]:
        thumb = self._add_file(stored.data, "photos", stored.mime)
        return [
            {
                "file_id": f.file_id,
                "file_unique_id": f.unique_id,
                "file_size": len(f.data),
                "width": size,
                "height": size,
            }
            for f, size in ((thumb, 90), (stored, 800))
        ]

    def _message_to_edit(self, params: dict) -> dict:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id is None:
            raise _bad("chat_id is empty")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = self._store.get(chat_id, {}).get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if not message["from"].get("is_bot"):
            raise _bad("message can't be edited")
        return message

    # ----------------------------------------------------------------- API methods
    def _m_getMe(self, params: dict, files: dict) -> dict:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_sendMessage(self, params: dict, files: dict) -> dict:
        plain, entities = self._formatted(params.get("text"), params, caption=False)
        _check_markup(params.get("reply_markup"))
        chat_id = self._check_chat(params.get("chat_id"))
        self._throttle(chat_id)
        content: dict = {"text": plain} | ({"entities": entities} if entities else {})
        message = self._bot_message(chat_id, params, content)
        return self._record("sendMessage", params, message, params.get("text"), plain)

    def _send_media(self, method: str, params: dict, files: dict, kind: str) -> dict:
        caption, entities = self._formatted(params.get("caption"), params, caption=True)
        _check_markup(params.get("reply_markup"))
        chat_id = self._check_chat(params.get("chat_id"))
        stored = self._input_file(kind, params, files, kind + "s")
        self._throttle(chat_id)
        if kind == "photo":
            content: dict = {"photo": self._photo_sizes(stored)}
        else:
            content = {
                "document": {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.unique_id,
                    "file_name": stored.name or stored.path.rsplit("/")[-1],
                    "mime_type": stored.mime,
                    "file_size": len(stored.data),
                }
            }
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        message = self._bot_message(chat_id, params, content)
        return self._record(method, params, message, params.get("caption"), caption or None)

    def _m_sendPhoto(self, params: dict, files: dict) -> dict:
        return self._send_media("sendPhoto", params, files, "photo")

    def _m_sendDocument(self, params: dict, files: dict) -> dict:
        return self._send_media("sendDocument", params, files, "document")

    def _m_editMessageText(self, params: dict, files: dict) -> dict | bool:
        plain, entities = self._formatted(params.get("text"), params, caption=False)
        _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        old = self._message_to_edit(params)
        if "text" not in old:
            raise _bad("there is no text in the message to edit")
        new = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        new |= {"text": plain} | ({"entities": entities} if entities else {})
        return self._apply_edit("editMessageText", params, old, new, params.get("text"), plain)

    def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> dict | bool:
        _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        old = self._message_to_edit(params)
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        return self._apply_edit("editMessageReplyMarkup", params, old, new, None, None)

    def _apply_edit(
        self, method: str, params: dict, old: dict, new: dict, text: str | None, plain: str | None
    ) -> dict:
        if _inline_only(params.get("reply_markup")):
            new["reply_markup"] = params["reply_markup"]
        strip = ("edit_date",)
        if {k: v for k, v in new.items() if k not in strip} == {
            k: v for k, v in old.items() if k not in strip
        }:
            raise _bad(_NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self._remember(new)
        return self._record(method, params, new, text, plain)

    def _m_deleteMessage(self, params: dict, files: dict) -> bool:
        chat_id: Any = params.get("chat_id")
        message_id: Any = params.get("message_id")
        if self._store.get(chat_id, {}).pop(message_id, None) is None:
            raise _bad("message to delete not found")
        self._deleted.append((chat_id, message_id))
        return True

    def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        user_id = self._open_queries.pop(query_id)
        self._answers.append(
            CallbackAnswer(
                query_id,
                user_id,
                params.get("text"),
                bool(params.get("show_alert")),
                params.get("url"),
                time.time(),
            )
        )
        return True

    def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._check_chat(params.get("chat_id"))
        return True

    def _m_getFile(self, params: dict, files: dict) -> dict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > 20 * 1024 * 1024:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    @staticmethod
    def _commands_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    def _m_getMyCommands(self, params: dict, files: dict) -> list:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _m_deleteMyCommands(self, params: dict, files: dict) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _m_setWebhook(self, params: dict, files: dict) -> _Described:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if not url:
            return self._m_deleteWebhook(params, files)
        if not re.match(r"^https?://[^/\s]+", url):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if params.get("allowed_updates") is not None:
            self._allowed = frozenset(params["allowed_updates"]) or _DEFAULT_ALLOWED
        same = self._webhook is not None and self._webhook.url == url
        self._webhook = _Webhook(url, secret, int(params.get("max_connections") or 40))
        self._wake()
        return _Described(True, "Webhook is already set" if same else "Webhook was set")

    def _m_deleteWebhook(self, params: dict, files: dict) -> _Described:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        existed, self._webhook = self._webhook is not None, None
        self._wake()
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _m_getWebhookInfo(self, params: dict, files: dict) -> dict:
        info: dict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        hook = self._webhook
        if hook is not None:
            info |= {
                "url": hook.url,
                "max_connections": hook.max_connections,
                "ip_address": "127.0.0.1",
            }
            if self._allowed != _DEFAULT_ALLOWED:
                info["allowed_updates"] = sorted(self._allowed)
            if hook.last_error_date is not None:
                info |= {
                    "last_error_date": hook.last_error_date,
                    "last_error_message": hook.last_error_message,
                }
        return info

    # ----------------------------------------------------------------- control API: setup
    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict:
        """Make ``user_id`` a user who has started the bot; returns the User object."""
        with self._lock:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
            }
            user = {k: v for k, v in user.items() if v is not None}
            self._users[user_id] = user
            chat = {k: user[k] for k in ("id", "first_name", "last_name", "username") if k in user}
            self._chats[user_id] = chat | {"type": "private"}
            return dict(user)

    def _user(
        self, user_id: int, first_name: str | None = None, language_code: str | None = None
    ) -> dict:
        with self._lock:
            known = self._users.get(user_id)
            if (
                known is None
                or (first_name and known["first_name"] != first_name)
                or (language_code and known.get("language_code") != language_code)
            ):
                known = known or {}
                self.add_user(
                    user_id,
                    first_name or known.get("first_name", "Test"),
                    last_name=known.get("last_name"),
                    username=known.get("username"),
                    language_code=language_code or known.get("language_code", "en"),
                )
            return dict(self._users[user_id])

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends answer 403 until ``unblock``."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def add_group(self, chat_id: int, title: str, *, kind: str = "supergroup") -> dict:
        """A group (``chat_id`` negative) with the bot as a member; returns the Chat."""
        if chat_id >= 0 or kind not in ("group", "supergroup"):
            raise ValueError("a group has a negative id and is a group or a supergroup")
        with self._lock:
            self._chats[chat_id] = {"id": chat_id, "title": title, "type": kind}
            self._blocked.discard(chat_id)
            return dict(self._chats[chat_id])

    def kick_bot(self, chat_id: int) -> None:
        """The bot is removed from the group: sends answer 403 until ``add_group`` again."""
        with self._lock:
            self._blocked.add(chat_id)

    def set_limits(
        self,
        global_per_s: float | None = _KEEP,
        per_chat_per_s: float | None = _KEEP,
        per_chat_burst: float = _KEEP,
    ) -> None:
        """Change flood limits (None lifts one); buckets start full again."""
        with self._lock:
            for key, value in (
                ("global_per_s", global_per_s),
                ("per_chat_per_s", per_chat_per_s),
                ("per_chat_burst", per_chat_burst),
            ):
                if value is not _KEEP:
                    self._limits[key] = value
            self._buckets.clear()

    def fail_next(
        self, method: str, status: int = 500, count: int = 1, *, executed: bool = False
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" = any) with a server error.

        502 comes as nginx's HTML page, like the real front end.  ``executed=True`` lets the call
        take effect first (the bot sees an error although the message was sent).
        """
        with self._lock:
            self._faults[method.lower() if method != "*" else "*"] = _Fault(status, count, executed)

    def before_answering(self, method: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` (in a worker thread) when a call of ``method`` arrives, before it
        is answered: the bot is waiting for its answer meanwhile, as on a slow network."""
        with self._lock:
            self._before[method.lower()] = callback

    # ----------------------------------------------------------------- control API: updates
    def inject_update(self, update: dict) -> int:
        """Queue (or POST to the webhook) a raw update; assigns update_id if missing."""
        update = copy.deepcopy(update)
        with self._lock:
            update_id = update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update_id + 1)
            for key in ("message", "edited_message", "channel_post", "callback_query"):
                self._register(update.get(key))
            if "callback_query" in update:
                query = update["callback_query"]
                self._open_queries[str(query["id"])] = query.get("from", {}).get("id")
            self._history[update_id] = update
            self._enqueue(copy.deepcopy(update))
        self._wake()
        return update_id

    def _register(self, node: dict | None) -> None:
        if not isinstance(node, dict):
            return
        user, chat = node.get("from"), node.get("chat")
        if isinstance(user, dict) and not user.get("is_bot") and "id" in user:
            self._users[user["id"]] = self._users.get(user["id"], {}) | user
        if isinstance(chat, dict) and "id" in chat:
            self._chats[chat["id"]] = self._chats.get(chat["id"], {}) | chat
        if isinstance(chat, dict) and "message_id" in node:
            self._remember(copy.deepcopy(node))
        self._register(node.get("message"))

    def inject_duplicate(self, update_id: int) -> int:
        """Deliver an already delivered update again, with the same update_id."""
        with self._lock:
            if update_id not in self._history:
                raise KeyError(f"update {update_id} was never injected")
            self._enqueue(copy.deepcopy(self._history[update_id]), duplicate=True)
        self._wake()
        return update_id

    def _user_message(
        self,
        user_id: int,
        content: dict,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        user = self._user(user_id, first_name, language_code)
        with self._lock:
            return {
                "message_id": self._new_message_id(user_id),
                "from": user,
                "chat": self._chat(user_id),
                "date": int(time.time()),
                **content,
            }

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """The user sends ``text`` (``/commands`` get their bot_command entity)."""
        entities = find_auto_entities(text)
        content = {"text": text} | ({"entities": entities} if entities else {})
        return self.inject_update(
            {"message": self._user_message(user_id, content, first_name, language_code)}
        )

    def send_group_text(
        self, chat_id: int, user_id: int, text: str, *, reply_to: int | None = None
    ) -> int | None:
        """Member ``user_id`` says ``text`` in group ``chat_id``, optionally replying to
        message ``reply_to``. As in privacy mode, the bot gets the update only for a
        command or a reply to one of its own messages; otherwise None is returned."""
        user = self._user(user_id)
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or chat.get("type") not in ("group", "supergroup"):
                raise LookupError(f"no group {chat_id}; add_group() first")
            target = self._store.get(chat_id, {}).get(reply_to) if reply_to else None
            if reply_to is not None and target is None:
                raise LookupError(f"no message {reply_to} in group {chat_id}")
            entities = find_auto_entities(text)
            message = {
                "message_id": self._new_message_id(chat_id),
                "from": user,
                "chat": dict(chat),
                "date": int(time.time()),
                "text": text,
            } | ({"entities": entities} if entities else {})
            if target is not None:
                message["reply_to_message"] = {
                    k: v for k, v in target.items() if k != "reply_to_message"
                }
            to_bot = target is not None and target["from"].get("is_bot")
            if not (text.startswith("/") or to_bot):
                self._remember(message)
                return None
        return self.inject_update({"message": message})

    def send_location(self, user_id: int, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self.inject_update({"message": self._user_message(user_id, {"location": location})})

    def send_contact(self, user_id: int, phone: str, *, first_name: str | None = None) -> int:
        """The user shares their own contact (as with a request_contact button)."""
        user = self._user(user_id)
        contact = {
            "phone_number": phone,
            "first_name": first_name or user["first_name"],
            "user_id": user_id,
        }
        return self.inject_update({"message": self._user_message(user_id, {"contact": contact})})

    def send_photo(
        self,
        user_id: int,
        caption: str | None = None,
        file_bytes: bytes = TINY_PNG,
        mime: str = "image/png",
    ) -> int:
        """The user sends a photo; the bot can getFile and download ``file_bytes``."""
        with self._lock:
            stored = self._add_file(file_bytes, "photos", mime)
            content: dict = {"photo": self._photo_sizes(stored)}
        if caption:
            content["caption"] = caption
        return self.inject_update({"message": self._user_message(user_id, content)})

    def send_sticker(self, user_id: int, emoji: str = "👍") -> int:
        with self._lock:
            stored = self._add_file(b"RIFF\x00\x00\x00\x00WEBP", "stickers", "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self.inject_update({"message": self._user_message(user_id, {"sticker": sticker})})

    def send_edited_text(self, user_id: int, message_id: int, text: str) -> int:
        """The user edits their earlier message ``message_id`` (an edited_message update)."""
        with self._lock:
            old = self._store.get(user_id, {}).get(message_id)
        message = copy.deepcopy(old) if old else self._user_message(user_id, {})
        message = {k: v for k, v in message.items() if k != "entities"}
        entities = find_auto_entities(text)
        message |= {"message_id": message_id, "text": text, "edit_date": int(time.time())}
        message |= {"entities": entities} if entities else {}
        return self.inject_update({"edited_message": message})

    def send_callback(
        self, user_id: int, data: str, message_id: int | None = None, *, chat_id: int | None = None
    ) -> int:
        """The user presses an inline button with ``data`` under the bot's message
        ``message_id`` (default: the bot's latest message in that chat) in their private
        chat, or in group ``chat_id``."""
        user = self._user(user_id)
        with self._lock:
            message = self._callback_message(user_id if chat_id is None else chat_id, message_id)
            self._query_count += 1
            query_id = f"{user_id}{self._query_count:08d}"
        return self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "data": data,
                    "chat_instance": str(-(abs(hash((user_id, self._bot_id))) % 10**18)),
                }
            }
        )

    def _callback_message(self, chat_id: int, message_id: int | None) -> dict:
        chat_messages = self._store.setdefault(chat_id, {})
        if message_id is None:
            ours = [m for m in chat_messages.values() if m["from"].get("is_bot")]
            if not ours:
                raise LookupError(f"the bot has no message in chat {chat_id}; pass message_id")
            return copy.deepcopy(ours[-1])
        if message_id not in chat_messages:  # a message from before the stand-in's memory
            self._remember(
                {
                    "message_id": message_id,
                    "from": self._bot_user(),
                    "chat": self._chat(chat_id),
                    "date": int(time.time()),
                    "text": "",
                }
            )
        return copy.deepcopy(chat_messages[message_id])

    # ----------------------------------------------------------------- control API: inspection
    def message_count(self) -> int:
        """How many messages the bot has sent and edited so far (cheap, for progress)."""
        with self._lock:
            return len(self._sent)

    def messages(
        self, chat_id: int | str | None = None, *, method: str | None = None
    ) -> list[SentMessage]:
        """Messages the bot sent (and edited), oldest first."""
        with self._lock:
            return [
                m
                for m in self._sent
                if (chat_id is None or m.chat_id == chat_id)
                and (method is None or m.method == method)
            ]

    def wait_for_messages(
        self,
        chat_id: int | str | None,
        count: int = 1,
        timeout: float = 5.0,
        *,
        method: str | None = None,
    ) -> list[SentMessage]:
        """Poll until ``count`` messages are in the chat; AssertionError on timeout.

        For a bot running in another thread or process; inside an event loop use
        ``wait_for_messages_async``.
        """
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            raise TypeError(
                "wait_for_messages() would block this event loop; use "
                "await wait_for_messages_async()"
            )
        deadline = time.monotonic() + timeout
        while len(found := self.messages(chat_id, method=method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(self._wait_report(chat_id, count, timeout, found))
            time.sleep(0.01)
        return found

    async def wait_for_messages_async(
        self,
        chat_id: int | str | None,
        count: int = 1,
        timeout: float = 5.0,
        *,
        method: str | None = None,
    ) -> list[SentMessage]:
        """Like ``wait_for_messages`` without blocking the running event loop."""
        deadline = time.monotonic() + timeout
        while len(found := self.messages(chat_id, method=method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(self._wait_report(chat_id, count, timeout, found))
            await asyncio.sleep(0.01)
        return found

    def _wait_report(
        self, chat_id: Any, count: int, timeout: float, found: list[SentMessage]
    ) -> str:
        failures = [
            f"{c.method} -> {c.status} {c.description}" for c in self.calls() if c.status != 200
        ][-5:]
        texts = [(m.method, m.plain_text) for m in found]
        return (
            f"expected {count} message(s) in chat {chat_id} within {timeout}s, got "
            f"{len(found)}: {texts}; recent API errors: {failures}"
        )

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        with self._lock:
            return list(self._answers)

    @property
    def deleted_messages(self) -> list[tuple[int | str, int]]:
        with self._lock:
            return list(self._deleted)

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        with self._lock:
            return list(self._attempts)

    @property
    def polls_waiting(self) -> int:
        """How many getUpdates calls are waiting for updates right now."""
        return self._waiting

    @property
    def pending_updates(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(p.update) for p in self._pending]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every API request received, with its HTTP status."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._lock:
            return self._m_getMyCommands({"scope": scope, "language_code": language_code}, {})

    def clear(self) -> None:
        """Forget recorded messages, callback answers, calls, attempts and the 429 count."""
        with self._lock:
            for log in (self._sent, self._answers, self._calls, self._attempts, self._deleted):
                log.clear()
            self.rate_limited_count = 0
