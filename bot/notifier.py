"""The notifier: delivers the notification outbox to citizens on Telegram and the web chat.

Claiming. A batch of due rows is claimed in one transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several notifiers share the work) by moving each row's `next_attempt_at` a
lease ahead; that exact timestamp is the claim's token, and nobody else claims the row
before the lease ends. A send made with less than half the lease left first proves, with a
conditional UPDATE on the token, that the row is still ours and extends the lease, so a
row taken over meanwhile is skipped rather than sent twice. A dead notifier's rows come
back when their lease ends.

Recording. Each row is marked in its own transaction as soon as Telegram has answered:
sent, retried with backoff, failed or unreachable. Web-chat messages are inserted in that
same transaction, so they are exactly-once.

After a hard crash. Telegram has no idempotency key, so if the process dies after
Telegram accepted a message and before that commit, the lease would bring the row back
and send it again. The journal (bot/send_journal.py, `var/notifier-journal`) closes that
window: the transport writes a line as each request's body leaves for the socket and
another when the answer comes, and `recover` (run before the first claim) records as
sent every pending row whose message reached Telegram or was on its way. What remains is
a request killed while still partly in the process's own buffer: it is counted as sent
("on the wire when the notifier stopped") and never arrives. A request that timed out may
have been delivered too; it is retried like any network error. SIGTERM/SIGINT let the
sends in flight finish and hand the rest back. One notifier per var directory.

Pace. Token buckets keep the overall rate (25/s by default) and at most 1/s per chat; a
429 pauses every send for `retry_after` and is not counted as a failed attempt. Logs carry
notification ids and outcomes only, never texts, chat ids or phone numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.send_journal import Journal
from bot.send_meter import SendMeter
from bot.telegram_gateway import PayloadCodec, split_text
from bot.telegram_request import ON_THE_WIRE, AiohttpRequest
from civic.i18n import localised, t
from civic.settings import Settings, get_settings
from storage.citizens import addresses_of
from storage.citizens import mark_unreachable as mark_address_unreachable
from storage.db import session_factory
from storage.models import Citizen, Notification, OutboundMessage, utcnow
from storage.notifications import (
    MAX_ATTEMPTS,
    due_notifications,
    mark_retry,
    mark_sent,
    mark_unreachable,
    params_of,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class NotifierOptions:
    rate_per_second: float | None = 25.0  # overall; None = no limit of our own
    per_chat_per_second: float | None = 1.0
    concurrency: int = 8  # sends in flight at once
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    retry_delay: timedelta = timedelta(seconds=30)  # doubled on every further failure
    poll_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1:
            raise ValueError("the notifier's concurrency and batch size must be at least 1")

    @classmethod
    def from_env(cls) -> NotifierOptions:
        """NOTIFIER_RATE_PER_SECOND and NOTIFIER_CONCURRENCY, when set."""
        rate = os.environ.get("NOTIFIER_RATE_PER_SECOND", "").strip()
        concurrency = os.environ.get("NOTIFIER_CONCURRENCY", "").strip()
        return cls(
            rate_per_second=float(rate) if rate else cls.rate_per_second,
            concurrency=int(concurrency) if concurrency else cls.concurrency,
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


class TokenBucket:
    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def delay(self, now: float) -> float:
        """Seconds until one token is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


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


@dataclass
class _Job:
    id: int
    citizen: int | None
    token: datetime  # our lease: the row's next_attempt_at while we hold it
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    telegram: list[str] = field(default_factory=list)
    web: list[str] = field(default_factory=list)
    error: str | None = None  # the row cannot be rendered
    markup: InlineKeyboardMarkup | None = None
    attempts: int = 0  # the row's attempts when claimed: with the part, names each send
    sends: int = 0  # messages started for this job (chats x parts)


@dataclass
class _Result:
    delivered: bool = False  # at least one Telegram chat accepted it
    forbidden: list[str] = field(default_factory=list)
    transient: str | None = None
    bad: str | None = None
    stop: str | None = None  # "lost" or "released": nothing to record
    flood_waits: int = 0

    def status(self, has_web: bool) -> str:
        if self.delivered or has_web:
            return "sent"
        if self.transient:
            return "retried"
        return "failed" if self.bad else "unreachable"


def render_text(key: str, language: str, params: Mapping[str, object]) -> str:
    """The catalogue text in the citizen's language; the status code becomes its label."""
    values = {k: v for k, v in params.items() if k != "buttons"}
    status = values.get("status")
    if isinstance(status, str):
        with contextlib.suppress(KeyError):  # an unknown code is shown as it is
            values["status"] = t(f"status.{status}", language)
    values["note"] = values.get("note") or ""
    return t(key, language, **values).strip()


def _buttons(params: Mapping[str, object], language: str) -> list[dict[str, str]]:
    raw = params.get("buttons")
    out = []
    for button in raw if isinstance(raw, list) else []:
        title = button.get("title")
        if button.get("title_key"):  # a catalogue key, as storage.notifications writes
            title = t(button["title_key"], language)
        elif isinstance(title, dict):  # {"zh": ..., "en": ...}
            title = localised(title, language)
        out.append({"title": str(title), "payload": str(button["payload"])})
    return out


def _chat_id(address: str) -> int | str:
    return int(address) if address.lstrip("-").isdigit() else address


def _retry_after(err: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Notifier:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        settings: Settings,
        bot: Bot | None,
        options: NotifierOptions | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] = utcnow,
        journal: Journal | None = None,
    ) -> None:
        self._sessions, self._bot, self._now = sessions, bot, now
        # With a journal, a send caught on the wire by a crash is not sent again.
        self._journal = journal
        self._token = settings.telegram_bot_token or ""
        self.options = options or NotifierOptions()
        self._rate, self._sleep = SendRate(self.options, clock, sleep), sleep
        self._codec = PayloadCodec(sessions)
        self._stopping = False
        # updates to citizens count against the bot's overall rate before campaign sends
        self._meter = SendMeter(settings.var_dir / "send-meter", "notifier")

    def stop(self) -> None:
        """Finish the sends in flight, hand back the rest, claim nothing new."""
        self._stopping = True

    async def deliver_due(self, limit: int = 100) -> DeliveryReport:
        report = DeliveryReport()
        if self._stopping:
            return report
        jobs = await asyncio.to_thread(self._claim, limit)
        report.claimed = len(jobs)
        slots = asyncio.Semaphore(self.options.concurrency)
        groups: dict[int, list[_Job]] = {}
        for job in jobs:  # each citizen's rows in order, citizens side by side
            groups.setdefault(job.citizen or -job.id, []).append(job)

        async def run(group: list[_Job]) -> None:
            for job in group:
                try:
                    report.add(await self._deliver(job, slots, report))
                except Exception as exc:  # the lease runs out; the row comes back
                    _log_incident(exc, job.id)

        await asyncio.gather(*(run(group) for group in groups.values()))
        if self._journal is not None:  # every outcome of the batch is in the database
            self._journal.clear()
        return report

    def recover(self) -> int:
        """After a crash: rows whose message reached (or was on its way to) Telegram but
        whose 'sent' was never committed are marked sent now, not sent again. Returns how
        many. Run once at start, before claiming anything."""
        if self._journal is None:
            return 0
        replay = self._journal.replay()
        reached = {key for key, (outcome, _) in replay.finished.items() if outcome == "sent"}
        recovered = 0
        with self._sessions.begin() as session:
            for key in sorted(reached | replay.unresolved):
                row = session.get(Notification, key[0])
                if row is None or row.status != "pending" or row.attempts != key[2]:
                    continue
                job = self._job(session, row, row.next_attempt_at)
                self._record(session, row, job, _Result(delivered=True), "sent")
                if key in replay.unresolved:
                    row.last_error = "on the wire when the notifier stopped; counted as sent"
                recovered += 1
        self._journal.clear()
        if recovered:
            log.warning("notifier recovered %d notifications sent before a stop", recovered)
        return recovered

    # -- claiming -------------------------------------------------------------------

    def _lease_end(self) -> datetime:
        # Random microseconds make two claims' tokens differ even at the same instant.
        return self._now() + self.options.lease + timedelta(microseconds=secrets.randbelow(999))

    def _claim(self, limit: int) -> list[_Job]:
        token = self._lease_end()
        with self._sessions.begin() as session:
            rows = due_notifications(session=session, now=self._now(), limit=limit)
            for row in rows:
                row.next_attempt_at = token
            return [self._job(session, row, token) for row in rows]

    def _job(self, session: Session, row: Notification, token: datetime) -> _Job:
        job = _Job(id=row.id, citizen=row.citizen_id, token=token, attempts=row.attempts)
        citizen = session.get(Citizen, row.citizen_id) if row.citizen_id else None
        if citizen is None or citizen.erased_at is not None:
            return job
        for address in addresses_of(session=session, citizen_id=citizen.id):
            if address.unreachable_at is None and address.channel in ("telegram", "web"):
                getattr(job, address.channel).append(address.address)
        params = params_of(row)
        try:
            job.text = render_text(row.body_key, citizen.language, params)
            job.buttons = _buttons(params, citizen.language)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            job.error = f"cannot render {row.body_key}: {type(exc).__name__} {exc}"
            job.telegram, job.web = [], []
        return job

    async def _still_ours(self, job: _Job) -> bool:
        """True if no one else can have taken the row: while more than half the lease is
        left nobody can (they claim only rows whose time has come); after that, prove it
        in the database and extend the lease over the coming send."""
        if job.token - self._now() > self.options.lease / 2:
            return True
        return await asyncio.to_thread(self._move_lease, job, self._lease_end())

    def _release(self, job: _Job) -> None:
        self._move_lease(job, self._now())

    def _move_lease(self, job: _Job, until: datetime) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Notification)
                .where(Notification.id == job.id, Notification.status == "pending")
                .where(Notification.next_attempt_at == job.token)
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            )
        moved = isinstance(result, CursorResult) and result.rowcount == 1
        job.token = until if moved else job.token
        return moved

    # -- delivering -----------------------------------------------------------------

    async def _deliver(self, job: _Job, slots: asyncio.Semaphore, report: DeliveryReport) -> str:
        result = _Result(bad=job.error)
        if job.telegram:
            job.markup = await self._keyboard(job)
            # The chat's own pace is waited for before taking a slot, so that a citizen's
            # second message does not hold up everybody else's first.
            await self._rate.acquire(job.telegram[0], self._stopped, take=False)
        async with slots:  # held from the send to the commit: all a SIGKILL can repeat
            for chat in job.telegram:
                if self._stopping or result.stop:
                    result.stop = result.stop or "released"
                    break
                await self._send_chat(job, chat, result)
            report.flood_waits += result.flood_waits
            if result.stop and not result.delivered:
                if result.stop == "released":
                    await asyncio.to_thread(self._release, job)
                outcome = result.stop
            else:
                outcome = await self._conclude(job, result)
        log.info("notification %d %s", job.id, outcome)
        return outcome

    async def _conclude(self, job: _Job, result: _Result) -> str:
        """Record the outcome; a database hiccup is retried, since a message Telegram took
        and we fail to record goes out again when the lease ends."""
        for pause in (0.2, 1.0, 3.0):
            try:
                return await asyncio.to_thread(self._finish, job, result)
            except OperationalError:
                log.warning("notification %d: recording failed; again in %.1f s", job.id, pause)
                await self._sleep(pause)
        return await asyncio.to_thread(self._finish, job, result)

    def _stopped(self) -> bool:
        return self._stopping

    async def _keyboard(self, job: _Job) -> InlineKeyboardMarkup | None:
        if not job.buttons:
            return None
        # Payloads over 64 bytes are stored and sent by digest (a database write).
        data = await asyncio.to_thread(
            lambda: [self._codec.encode(b["payload"]) for b in job.buttons]
        )
        rows = zip(job.buttons, data, strict=True)
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b["title"], callback_data=d)] for b, d in rows]
        )

    async def _send_chat(self, job: _Job, chat: str, result: _Result) -> None:
        if self._bot is None:
            result.transient = "no Telegram bot token is configured"
            return
        parts = split_text(job.text)
        for index, part in enumerate(parts):
            if not await self._send_part(job, chat, part, index == len(parts) - 1, result):
                return
        result.delivered = True

    async def _send_part(
        self, job: _Job, chat: str, text: str, last: bool, result: _Result
    ) -> bool:
        """Send one message, waiting out 429s; False (the reason in `result`) if not sent."""
        assert self._bot is not None
        while True:
            if not await self._rate.acquire(chat, self._stopped):
                result.stop = "released"
                return False
            if not await self._still_ours(job):
                result.stop = "lost"
                return False
            key, outcome = (job.id, job.sends, job.attempts), "failed"
            job.sends += 1
            # the journal's line is written by the transport as the request leaves
            mark = self._journal.marker(key) if self._journal is not None else None
            wire = ON_THE_WIRE.set(mark)
            try:
                markup = job.markup if last else None
                await self._bot.send_message(chat_id=_chat_id(chat), text=text, reply_markup=markup)
                self._meter.record()
                outcome = "sent"
                return True
            except RetryAfter as err:
                seconds = _retry_after(err)
                result.flood_waits += 1
                log.warning("notification %d: Telegram asks to wait %.0f s", job.id, seconds)
                self._rate.pause(seconds)  # every send waits, as Telegram asks
            except Forbidden:
                result.forbidden.append(chat)
                return False
            except BadRequest as err:
                result.bad = self._describe(err)
                return False
            except TelegramError as err:  # NetworkError, TimedOut, 5xx and the rest
                result.transient = self._describe(err)
                return False
            finally:
                ON_THE_WIRE.reset(wire)
                if mark is not None:
                    mark.finish(outcome)

    def _describe(self, err: TelegramError) -> str:
        text = f"{type(err).__name__}: {err}"
        return text.replace(self._token, "***") if self._token else text

    def _finish(self, job: _Job, result: _Result) -> str:
        """Record the outcome in one transaction, if the row is still ours (or was sent)."""
        with self._sessions.begin() as session:
            # A write first, so that SQLite takes its write lock now rather than failing to
            # upgrade a read; on PostgreSQL it locks the row.
            mine = update(Notification).where(
                Notification.id == job.id, Notification.status == "pending"
            )
            if not result.delivered:  # what Telegram accepted is recorded whatever happened
                mine = mine.where(Notification.next_attempt_at == job.token)
            done = session.execute(
                mine.values(next_attempt_at=self._now()).execution_options(
                    synchronize_session=False
                )
            )
            row = session.get(Notification, job.id)
            if not (isinstance(done, CursorResult) and done.rowcount == 1) or row is None:
                return "lost"
            for chat in result.forbidden:
                mark_address_unreachable(session=session, channel="telegram", address=chat)
            status = result.status(has_web=bool(job.web))
            self._record(session, row, job, result, status)
        return status

    def _record(
        self, session: Session, row: Notification, job: _Job, result: _Result, status: str
    ) -> None:
        now = self._now()
        if status == "sent":
            body = json.dumps({"text": job.text, "buttons": job.buttons}, ensure_ascii=False)
            for address in job.web:
                session.add(
                    OutboundMessage(channel="web", address=address, body=body, created_at=now)
                )
            mark_sent(session=session, notification=row, now=now)
        elif status in ("retried", "failed"):
            # A bad request does not get better with time: it gives up at once.
            limit = row.attempts + 1 if status == "failed" else MAX_ATTEMPTS
            error = result.transient or result.bad or ""
            delay = self.options.retry_delay
            mark_retry(
                session=session,
                notification=row,
                error=error,
                delay=delay,
                now=now,
                max_attempts=limit,
            )
        else:
            reason = "blocked or never started the bot" if result.forbidden else "no address"
            mark_unreachable(session=session, notification=row, error=reason)


def _log_incident(exc: BaseException, notification_id: int | None = None) -> None:
    """The traceback without the exception's message, which may quote a text."""
    incident = secrets.token_hex(4)
    what = f"notification {notification_id}" if notification_id else "a batch"
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("incident %s: %s failed with %s\n%s", incident, what, type(exc).__name__, frames)


# -- processes ----------------------------------------------------------------------


def make_bot(settings: Settings, options: NotifierOptions) -> Bot | None:
    """A Bot for the notifier (honouring TELEGRAM_BASE_URL), or None without a token."""
    if not settings.telegram_bot_token:
        return None
    request = AiohttpRequest(connections=options.concurrency + 1)
    if not settings.telegram_base_url:
        return Bot(settings.telegram_bot_token, request=request)
    base = settings.telegram_base_url.rstrip("/")
    return Bot(
        settings.telegram_bot_token,
        base_url=base + ("" if base.endswith("/bot") else "/bot"),
        base_file_url=base.removesuffix("/bot") + "/file/bot",
        request=request,
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _notify_until_stopped(settings: Settings, options: NotifierOptions) -> None:
    bot = make_bot(settings, options)
    sessions = session_factory(settings.database_url)
    journal = Journal(settings.var_dir / "notifier-journal")
    notifier = Notifier(
        sessions=sessions, settings=settings, bot=bot, options=options, journal=journal
    )
    notifier.recover()
    stop = asyncio.Event()

    def on_signal() -> None:
        stop.set()
        notifier.stop()  # the batch in hand finishes its sends and hands back the rest

    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, on_signal)
    log.info("notifier started (%s msg/s overall)", options.rate_per_second or "no limit")
    if bot is None:
        log.warning("no TELEGRAM_BOT_TOKEN: Telegram notifications are retried, then failed")
    try:
        while not stop.is_set():
            try:
                report = await notifier.deliver_due(options.batch_size)
            except Exception as exc:  # the database is away, say: try again shortly
                _log_incident(exc)
                report = DeliveryReport()
            if report.claimed < options.batch_size:
                await _wait(stop, options.poll_seconds)
    finally:
        if bot is not None:
            await bot.request.shutdown()
    log.info("notifier stopped")


def run_notifier(settings: Settings, options: NotifierOptions | None = None) -> None:
    """The `civicbot notifier` process: deliver every 0.5 s until SIGTERM or SIGINT."""
    asyncio.run(_notify_until_stopped(settings, options or NotifierOptions.from_env()))


def deliver_once(settings: Settings | None = None) -> DeliveryReport:
    """One batch, for an APScheduler job. Settings are read here rather than passed, so
    that they (and the bot token) are never pickled into the job store."""
    settings = settings or get_settings()
    options = NotifierOptions.from_env()

    async def once() -> DeliveryReport:
        bot = make_bot(settings, options)
        sessions = session_factory(settings.database_url)
        notifier = Notifier(sessions=sessions, settings=settings, bot=bot, options=options)
        try:
            return await notifier.deliver_due(options.batch_size)
        finally:
            if bot is not None:
                await bot.request.shutdown()

    try:
        report = asyncio.run(once())
    except Exception as exc:  # logged without its message; the next run tries again
        _log_incident(exc)
        return DeliveryReport()
    log.info("notifications: %s", report)
    return report
