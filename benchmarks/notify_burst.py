"""A burst of rectifications and the notifier working through it: `--count` tickets
(default 10,000), each filed by its own citizen on Telegram, are moved to 'rectified' in
one burst through storage (which queues one notification per citizen); then the notifier
delivers them to the Bot API stand-in over real HTTP, through python-telegram-bot.

Reported: messages received at the stand-in, whether every citizen got exactly one,
time from the transition to receipt (p50/p95), the rate achieved against the stand-in's
limit, and how many requests were answered 429.

    .venv/bin/python benchmarks/notify_burst.py [--count 10000] [--global-rate 25]
        [--lift-limits] [--concurrency 8] [--database-url URL]

The stand-in keeps Telegram's limits (30 messages/s overall, 1/s per chat, bursts of 3)
unless --lift-limits; the notifier sends at --global-rate (default 25/s, the production
default; with --lift-limits and no --global-rate it sets no overall limit of its own).
The database is a fresh SQLite file unless --database-url names a PostgreSQL server, in
which case a scratch schema is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.notifier import DeliveryReport, Notifier, NotifierOptions, make_bot  # noqa: E402
from civic.routing import RoutingDecision  # noqa: E402
from civic.settings import Settings, get_settings, mask_url_password  # noqa: E402
from civic.tickets import create_ticket, transition  # noqa: E402
from storage.db import engine_for, make_engine, migrate, session_factory  # noqa: E402
from storage.models import ChannelAddress, Citizen, Notification, Ticket, TicketEvent  # noqa: E402
from tests.fakes.botapi import BotApiStandIn  # noqa: E402

TOKEN = "123456:BENCH-notify-burst"
FIRST_CHAT = 100_000_001
BATCH = 500
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


def progress(label: str, done: int, total: int, final: bool | None = None) -> None:
    """A progress bar on stderr, redrawn in place; a new line once `final` (or done)."""
    width = 30
    filled = width * min(done, total) // max(total, 1)
    bar = "#" * filled + "." * (width - filled)
    sys.stderr.write(f"\r{label:<12} [{bar}] {100 * done / max(total, 1):5.1f}% {done}/{total}")
    sys.stderr.write("\n" if (done >= total if final is None else final) else "")
    sys.stderr.flush()


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file, or a scratch schema."""
    if url is None or not url.startswith("postgresql"):
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
            migrate(sqlite_url)
            yield sqlite_url
            engine_for(sqlite_url).dispose()
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        migrate(scoped)
        yield scoped
    finally:
        engine_for(scoped).dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def file_tickets(sessions: sessionmaker[Session], standin: BotApiStandIn, count: int) -> None:
    """Citizens on Telegram with accepted tickets (acceptance kept internal: no news)."""
    for start in range(0, count, BATCH):
        with sessions() as session:
            for n in range(start, min(start + BATCH, count)):
                standin.add_user(FIRST_CHAT + n, language_code="en" if n % 2 else "zh")
                person = Citizen(public_id=secrets.token_hex(12), language="en" if n % 2 else "zh")
                person.addresses.append(
                    ChannelAddress(channel="telegram", address=str(FIRST_CHAT + n))
                )
                session.add(person)
                session.flush()
                ticket = _ticket(session, person)
                transition(
                    session=session,
                    ticket=ticket,
                    to_status="accepted",
                    actor="user:li",
                    public=False,
                )
            session.commit()
        progress("filing", min(start + BATCH, count), count)


def _ticket(session: Session, person: Citizen) -> Ticket:
    return create_ticket(
        session=session,
        citizen_id=person.id,
        description="路灯坏了",
        language=person.language,
        decision=DECISION,
        ticket_prefix="HZ",
        due_at=None,
    )


def rectify_all(sessions: sessionmaker[Session], count: int) -> float:
    """The burst: every ticket to 'rectified', BATCH per transaction. Returns seconds."""
    started = time.monotonic()
    with sessions() as session:
        ids = list(session.scalars(select(Ticket.id).order_by(Ticket.id)))
    for start in range(0, len(ids), BATCH):
        with sessions() as session:
            chunk = ids[start : start + BATCH]
            for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(chunk))):
                transition(
                    session=session,
                    ticket=ticket,
                    to_status="rectified",
                    actor="agency:um",
                    note="路灯已修复",
                )
            session.commit()
        progress("rectifying", min(start + BATCH, count), count)
    return time.monotonic() - started


async def deliver_all(
    settings: Settings, options: NotifierOptions, standin: BotApiStandIn, count: int
) -> DeliveryReport:
    """The notifier's loop (as `run_notifier` runs it) until nothing is due."""
    bot = make_bot(settings, options)
    sessions = session_factory(settings.database_url)
    notifier = Notifier(sessions=sessions, settings=settings, bot=bot, options=options)
    total = DeliveryReport()

    async def watch() -> None:
        while True:
            progress("delivering", len(standin.messages()), count, final=False)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    try:
        while (report := await notifier.deliver_due(limit=options.batch_size)).claimed:
            for name in (f.name for f in dataclasses.fields(DeliveryReport)):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        return total
    finally:
        watcher.cancel()
        progress("delivering", len(standin.messages()), count, final=True)
        if bot is not None:
            await bot.request.shutdown()


def transition_times(sessions: sessionmaker[Session]) -> dict[int, datetime]:
    """Chat id -> when its ticket was rectified."""
    with sessions() as session:
        rows = session.execute(
            select(ChannelAddress.address, TicketEvent.at)
            .join(Ticket, Ticket.citizen_id == ChannelAddress.citizen_id)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(TicketEvent.to_status == "rectified")
        )
        return {int(chat): at if at.tzinfo else at.replace(tzinfo=UTC) for chat, at in rows}


@dataclasses.dataclass
class Run:
    burst: float  # seconds the rectification burst took
    rate: str  # what the notifier was set to
    report: DeliveryReport
    delivery: float  # seconds the notifier took


def summarise(
    sessions: sessionmaker[Session], standin: BotApiStandIn, args: argparse.Namespace, run: Run
) -> None:
    received = standin.messages()
    per_chat = Counter(int(m.chat_id) for m in received)
    expected = set(range(FIRST_CHAT, FIRST_CHAT + args.count))
    at = transition_times(sessions)
    latencies = sorted(m.timestamp - at[int(m.chat_id)].timestamp() for m in received)
    span = received[-1].timestamp - received[0].timestamp if len(received) > 1 else 0.0
    with sessions() as session:
        statuses = dict(
            session.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            ).all()
        )
    limit = "lifted" if args.lift_limits else "30/s overall, 1/s per chat"
    where = mask_url_password(args.database_url) if args.database_url else "sqlite (temporary file)"
    print(f"database:               {where}")
    print(f"tickets rectified:      {args.count} in {run.burst:.1f} s")
    print(f"notification rows:      {statuses}")
    print(f"messages received:      {len(received)}")
    print(f"exactly one per citizen: {set(per_chat) == expected and set(per_chat.values()) == {1}}")
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        print(f"transition -> receipt:  p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s")
    rate = (len(received) - 1) / span if span else float("nan")
    print(f"achieved rate:          {rate:.1f} msg/s (notifier: {run.rate}; stand-in: {limit})")
    waited = run.report.flood_waits
    print(f"answered 429:           {standin.rate_limited_count} (waited out: {waited})")
    print(f"delivery took:          {run.delivery:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--global-rate", type=float, default=None, help="notifier msg/s overall")
    parser.add_argument(
        "--lift-limits", action="store_true", help="no flood limits at the stand-in"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rate = args.global_rate if args.global_rate else (None if args.lift_limits else 25.0)
    options = NotifierOptions(rate_per_second=rate, concurrency=args.concurrency)
    with scratch_database(args.database_url) as url, BotApiStandIn() as standin:
        if args.lift_limits:
            standin.set_limits(global_per_s=None, per_chat_per_s=None)
        sessions = session_factory(url)
        file_tickets(sessions, standin, args.count)
        burst = rectify_all(sessions, args.count)
        settings = dataclasses.replace(
            get_settings(),
            database_url=url,
            telegram_bot_token=TOKEN,
            telegram_base_url=standin.base_url,
        )
        started = time.monotonic()
        report = asyncio.run(deliver_all(settings, options, standin, args.count))
        run = Run(burst, f"{rate}/s" if rate else "no limit", report, time.monotonic() - started)
        summarise(sessions, standin, args, run)


if __name__ == "__main__":
    main()
