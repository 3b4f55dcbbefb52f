"""Claiming, sending and recording notifications (see the package's docstring)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.delivery import Clock, Journal, Sleep, SmsGateway, SmsRejected, SmsRetryLater
from bot.notifier._options import DeliveryReport, NotifierOptions
from bot.notifier._rate import SendRate
from bot.notifier._texts import buttons, render_text, sms_body, sms_numbers
from bot.notifier._wechat import WeChatAddress, send_wechat
from bot.observability import count_refusal, count_sends
from bot.telegram import ON_THE_WIRE, PayloadCodec, retry_after_seconds, split_text
from bot.wechat import StatusSender
from civic.i18n import t
from civic.notifications import (
    due_notifications,
    mark_retry,
    mark_sent,
    mark_unreachable,
    params_of,
)
from civic.settings import Settings
from civic.tickets import report_url
from storage.citizens import addresses_of, remember_offered
from storage.citizens import mark_unreachable as mark_address_unreachable
from storage.models import Citizen, Notification, OutboundMessage, Ticket, utcnow

log = logging.getLogger(__name__)


@dataclass
class _Job:
    id: int
    citizen: int | None
    token: datetime  # our lease: the row's next_attempt_at while we hold it
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    telegram: list[str] = field(default_factory=list)
    web: list[str] = field(default_factory=list)
    wechat: list[WeChatAddress] = field(default_factory=list)
    language: str = "zh"
    sms: list[str] = field(default_factory=list)  # E.164 numbers
    error: str | None = None  # the row cannot be rendered
    markup: InlineKeyboardMarkup | None = None
    attempts: int = 0  # the row's attempts when claimed: with the part, names each send
    sends: int = 0  # messages started for this job (chats x parts)


@dataclass
class _Result:
    delivered: bool = False  # at least one Telegram chat or the SMS gateway accepted it
    forbidden: list[str] = field(default_factory=list)
    wechat_gone: list[str] = field(default_factory=list)  # unsubscribed or blocked
    sms_refused: list[str] = field(default_factory=list)  # numbers the gateway will not take
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


def _chat_id(address: str) -> int | str:
    return int(address) if address.lstrip("-").isdigit() else address


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
        wechat: StatusSender | None = None,
        sms: SmsGateway | None = None,
    ) -> None:
        self._sessions, self._bot, self._now = sessions, bot, now
        self._sms = sms  # status updates by SMS, when a gateway is configured
        # With a journal, a send caught on the wire by a crash is not sent again.
        self._journal = journal
        self._wechat = wechat
        self._token = settings.telegram_bot_token or ""
        self._public_url, self._secret = settings.public_url, settings.secret_key
        self.options = options or NotifierOptions()
        self._rate, self._sleep = SendRate(self.options, clock, sleep), sleep
        self._codec = PayloadCodec(sessions)
        self._stopping = False

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
        addresses = addresses_of(session=session, citizen_id=citizen.id)
        for address in addresses:
            if address.unreachable_at is not None:
                continue
            if address.channel in ("telegram", "web"):
                getattr(job, address.channel).append(address.address)
            elif address.channel == "wechat":
                last = address.last_message_at
                last = last.replace(tzinfo=UTC) if last and last.tzinfo is None else last
                job.wechat.append(WeChatAddress(address.address, last))
        if self._sms is not None:
            job.sms = sms_numbers(session, citizen, addresses)
        else:  # an address that only SMS reaches waits for a gateway to be set up
            job.sms = [a.address for a in addresses if a.channel == "sms" and not a.unreachable_at]
        job.language = citizen.language
        params = params_of(row)
        try:
            job.text = render_text(row.body_key, citizen.language, params)
            job.text += self._page_link(session, row, citizen.language)
            job.buttons = buttons(params, citizen.language)
            # the citizen may tap these later; only offered buttons count (bot.assistant)
            remember_offered(
                session=session, citizen_id=citizen.id, payloads=[b["payload"] for b in job.buttons]
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            job.error = f"cannot render {row.body_key}: {type(exc).__name__} {exc}"
            job.telegram, job.web, job.wechat, job.sms = [], [], [], []
        return job

    def _page_link(self, session: Session, row: Notification, language: str) -> str:
        """The line with the report page's link, for the citizen who filed the ticket
        (a follower's update has none: the page is the reporter's)."""
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        if ticket is None or not ticket.number or ticket.citizen_id != row.citizen_id:
            return ""
        link = report_url(public_url=self._public_url, secret=self._secret, ticket=ticket)
        return "\n" + t("reports.link_line", language, link=link)

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
            for address in job.wechat:
                if self._stopping or result.stop or not await self._still_ours(job):
                    result.stop = result.stop or ("released" if self._stopping else "lost")
                    break
                await self._send_wechat(job, address, result)
            for number in job.sms:
                if self._stopping or result.stop:
                    result.stop = result.stop or "released"
                    break
                await self._send_sms(job, number, result)
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
                count_sends("telegram", "notification")
                outcome = "sent"
                return True
            except RetryAfter as err:
                count_refusal(429, "notification")
                seconds = retry_after_seconds(err)
                result.flood_waits += 1
                log.warning("notification %d: Telegram asks to wait %.0f s", job.id, seconds)
                self._rate.pause(seconds)  # every send waits, as Telegram asks
            except Forbidden:
                count_refusal(403, "notification")
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

    async def _send_wechat(self, job: _Job, address: WeChatAddress, result: _Result) -> None:
        outcome, why = await send_wechat(
            self._wechat, address, job.text, language=job.language, now=self._now()
        )
        if outcome == "sent":
            result.delivered = True
        elif outcome == "unreachable":
            result.wechat_gone.append(address.openid)
        elif outcome == "transient":
            result.transient = why
        else:
            result.bad = why

    async def _send_sms(self, job: _Job, number: str, result: _Result) -> None:
        """The update's text by SMS (no buttons: a reply is read by the assistant)."""
        if self._sms is None:
            result.transient = "no SMS gateway is configured"
            return
        if not await self._still_ours(job):
            result.stop = "lost"
            return
        key, outcome = (job.id, job.sends, job.attempts), "failed"
        job.sends += 1
        mark = self._journal.marker(key) if self._journal is not None else None
        if mark is not None:
            mark()  # the gateway's client has no hook as its request leaves
        try:
            await self._sms.send(number, sms_body(job.text))
            count_sends("sms", "notification")
            result.delivered, outcome = True, "sent"
        except SmsRetryLater as err:
            result.transient = str(err)
        except SmsRejected as err:
            if err.unreachable:
                result.sms_refused.append(number)
            else:
                result.bad = str(err)
        finally:
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
            for openid in result.wechat_gone:
                mark_address_unreachable(session=session, channel="wechat", address=openid)
            for number in result.sms_refused:
                mark_address_unreachable(session=session, channel="sms", address=number)
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
            count_sends("web", "notification", len(job.web))
            mark_sent(session=session, notification=row, now=now)
        elif status in ("retried", "failed"):
            # A bad request does not get better with time: it gives up at once.
            mark_retry(
                session=session,
                notification=row,
                error=result.transient or result.bad or "",
                delay=self.options.retry_delay,
                now=now,
                permanent=status == "failed",
            )
        else:
            gone = result.forbidden or result.wechat_gone or result.sms_refused
            reason = "blocked, unsubscribed, never started the bot or cannot get SMS"
            reason = reason if gone else "no address"
            mark_unreachable(session=session, notification=row, error=reason)


def _log_incident(exc: BaseException, notification_id: int | None = None) -> None:
    """The traceback without the exception's message, which may quote a text."""
    incident = secrets.token_hex(4)
    what = f"notification {notification_id}" if notification_id else "a batch"
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("incident %s: %s failed with %s\n%s", incident, what, type(exc).__name__, frames)
