"""The campaign sender: claims due invitations and reminders, sends them at each
channel's pace inside the campaign's daily send window, and settles the outcomes.

Crash safety: a batch is claimed (committed as `sending`) before anything goes out, the
journal records each send's start and end, and outcomes are committed together at the
end of the batch. After a crash, `recover` settles every `sending` row from the journal:
finished sends with their outcome, sends that never started go back to the queue, and
the few that were on the wire at the crash count as delivered, since sending them again
could show a person the same invitation twice (a reminder follows anyway).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns._channels import Channel, Delivery, Outcome
from bot.campaigns._deliveries import DeliveryFactory
from bot.delivery import Journal, TokenBucket
from bot.observability import count_sends
from bot.telegram import ON_THE_WIRE
from civic.campaigns import running_campaigns, sms_cost
from storage import invitations as store
from storage.models import Campaign

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class SenderOptions:
    rates: dict[str, float] = field(
        default_factory=lambda: {"telegram": 25.0, "sms": 10.0, "email": 10.0}
    )
    concurrency: int = 16
    batch: int = 200
    # SMS_COST_PER_SEGMENT: the campaign's log line prices its segments with it
    sms_cost_per_segment: float = 0.0


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unreachable: int = 0
    outside_window: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.sent + self.retry + self.failed + self.unreachable


def in_send_window(campaign: Campaign, now: datetime) -> bool:
    """True when `now` falls inside the campaign's daily window in its own time zone."""
    local = now.astimezone(ZoneInfo(campaign.timezone)).time()
    start = clock_time.fromisoformat(campaign.window_start)
    if campaign.window_end == "24:00":  # to the end of the day
        return start <= local
    return start <= local < clock_time.fromisoformat(campaign.window_end)


class Pace:
    """One channel's own rate. On Telegram each send also takes a bulk token from the
    bot's shared send budget (the Bot is made with it: `campaign_bot`), so replies to
    citizens and ticket updates go first."""

    def __init__(self, rate: float) -> None:
        self._bucket = TokenBucket(rate, time.monotonic(), burst=max(1.0, rate / 10))
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            wait = max(self._paused_until - now, self._bucket.delay(now))
            if wait <= 0:
                self._bucket.tokens -= 1
                return
            await asyncio.sleep(min(wait, 0.5))


class CampaignSender:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        channels: dict[str, Channel],
        deliveries: DeliveryFactory,
        journal: Journal,
        options: SenderOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._deliveries = deliveries
        self._journal = journal
        self.options = options or SenderOptions()
        self._clock = clock or (lambda: datetime.now(UTC))
        # Renews the single-sender lock between batches; False means it was lost.
        self.keepalive: Callable[[], bool] = lambda: True
        # campaigns that sent texts in this run: their totals are logged at its end
        self._texted: set[int] = set()
        self._paces = {name: Pace(self.options.rates.get(name, 10.0)) for name in channels}

    async def aclose(self) -> None:
        for channel in self._channels.values():
            await channel.aclose()

    async def send_all_due(self) -> SendReport:
        """`send_due`, then close the channels' connections (one run of a job)."""
        try:
            return await self.send_due()
        finally:
            await self.aclose()

    def recover(self) -> dict[str, int]:
        """Settle what a crash left `sending`, from the journal; then start it afresh."""
        replay = self._journal.replay()
        counts = {"finished": 0, "in_flight": 0, "released": 0}
        now = self._clock()
        with self._sessions.begin() as session:
            never_started = []
            for row in store.in_flight(session=session):
                key = (row.id, row.sending_round, row.attempts)
                if key in replay.finished:
                    outcome, after = replay.finished[key]
                    store.settle(
                        session=session,
                        invitation_id=row.id,
                        sending_round=key[1],
                        outcome=outcome,
                        now=now,
                        retry_after=after,
                    )
                    counts["finished"] += 1
                elif key in replay.started:
                    store.settle(
                        session=session,
                        invitation_id=row.id,
                        sending_round=key[1],
                        outcome="sent",
                        now=now,
                        error="on the wire when the sender stopped; counted as sent",
                    )
                    counts["in_flight"] += 1
                else:
                    never_started.append(row.id)
            counts["released"] = store.release(session=session, invitation_ids=never_started)
        self._journal.clear()
        if any(counts.values()):
            log.warning("campaign sender recovered after a stop: %s", counts)
        return counts

    async def send_due(self, *, max_batches: int | None = None) -> SendReport:
        """Send everything due now, batch by batch, until nothing is due.

        The database work runs in threads, overlapped with the sending: the next batch is
        claimed and the previous one settled while this one is on the wire."""
        report = SendReport()
        batches = 0
        claiming = asyncio.create_task(self._next_batch(report, batches, max_batches))
        settling: asyncio.Task[None] | None = None
        try:
            while batch := await claiming:
                batches += 1
                claiming = asyncio.create_task(self._next_batch(report, batches, max_batches))
                results = await self._send_batch(batch)
                if settling is not None:
                    await settling
                settling = asyncio.create_task(asyncio.to_thread(self._settle, results, report))
        finally:
            if settling is not None:
                await settling
            if not claiming.done():
                await claiming
        # nothing is in flight now: every outcome is in the database
        self._journal.clear()
        if self._texted:
            await asyncio.to_thread(self._log_sms_totals)
        return report

    def _log_sms_totals(self) -> None:
        """One line per campaign that sent texts: its totals so far and their cost."""
        per_segment = self.options.sms_cost_per_segment
        with self._sessions() as session:
            for campaign_id in sorted(self._texted):
                campaign = session.get(Campaign, campaign_id)
                if campaign is not None:
                    log.info(
                        "campaign %d: %d SMS sent, %d segments, cost %.2f",
                        campaign.id,
                        campaign.sms_messages,
                        campaign.sms_segments,
                        sms_cost(campaign.sms_segments, per_segment),
                    )
        self._texted.clear()

    async def _next_batch(
        self, report: SendReport, batches: int, max_batches: int | None
    ) -> list[tuple[str, Delivery]]:
        if max_batches is not None and batches >= max_batches:
            return []
        if not self.keepalive():
            log.error("campaign sender lost its lock: stopping")
            return []
        return await asyncio.to_thread(self._claim_batch, report)

    def _claim_batch(self, report: SendReport) -> list[tuple[str, Delivery]]:
        now = self._clock()
        names = tuple(self._channels)
        with self._sessions.begin() as session:
            claimed: list[tuple[str, Delivery]] = []
            for campaign in running_campaigns(session=session, now=now):
                if not in_send_window(campaign, now):
                    report.outside_window += 1
                    continue
                rows = store.claim(
                    session=session,
                    campaign=campaign,
                    now=now,
                    limit=self.options.batch - len(claimed),
                    channels=names,
                )
                claimed += self._deliveries.build(session=session, campaign=campaign, rows=rows)
                if len(claimed) >= self.options.batch:
                    break
            return claimed

    async def _send_batch(
        self, batch: list[tuple[str, Delivery]]
    ) -> list[tuple[Delivery, Outcome]]:
        slots = asyncio.Semaphore(self.options.concurrency)
        results: list[tuple[Delivery, Outcome]] = []

        async def one(channel_name: str, delivery: Delivery) -> None:
            async with slots:
                pace = self._paces[channel_name]
                await pace.acquire()
                mark = self._journal.marker(delivery.key)
                channel = self._channels[channel_name]
                # Telegram's transport writes the journal line as the request leaves;
                # for the others it is written just before
                wire = ON_THE_WIRE.set(mark)
                if not getattr(channel, "marks_the_wire", False):
                    mark()
                try:
                    outcome = await channel.send(delivery)
                except Exception as exc:  # a bug or an unexpected answer: retry later
                    log.exception("invitation %s: send failed", delivery.invitation_id)
                    outcome = Outcome("retry", 60.0, f"{type(exc).__name__}")
                finally:
                    ON_THE_WIRE.reset(wire)
                mark.finish(outcome.kind, outcome.retry_after)
                if outcome.kind == "sent":
                    count_sends(channel_name, "invitation")
                if outcome.pause_channel and outcome.retry_after:
                    pace.pause(outcome.retry_after)
                results.append((delivery, outcome))

        await asyncio.gather(*(one(name, delivery) for name, delivery in batch))
        return results

    def _settle(self, results: list[tuple[Delivery, Outcome]], report: SendReport) -> None:
        now = self._clock()
        texts: dict[int, list[int]] = {}
        with self._sessions.begin() as session:
            rows = store.load(session=session, ids=[d.invitation_id for d, _ in results])
            for delivery, outcome in results:
                row = rows.get(delivery.invitation_id)
                if row is not None and outcome.kind == "sent" and outcome.segments:
                    usage = texts.setdefault(row.campaign_id, [0, 0])
                    usage[0], usage[1] = usage[0] + 1, usage[1] + outcome.segments
                if row is not None:
                    store.settle_row(
                        row=row,
                        sending_round=delivery.round,
                        outcome=outcome.kind,
                        now=now,
                        error=outcome.error,
                        retry_after=outcome.retry_after,
                    )
                report.add(outcome.kind)
            for campaign_id, (messages, segments) in texts.items():
                store.add_sms_usage(
                    session=session, campaign_id=campaign_id, messages=messages, segments=segments
                )
        self._texted.update(texts)


async def run_until_idle(
    sender: CampaignSender, *, stop: Callable[[], bool], idle: Callable[[], Awaitable[None]]
) -> None:
    """Keep sending whatever falls due until told to stop (the standalone sender)."""
    sender.recover()
    while not stop():
        report = await sender.send_due()
        if report.total == 0:
            await idle()
