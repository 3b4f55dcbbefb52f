"""The notifier, on SQLite and PostgreSQL, through the real python-telegram-bot `Bot`
talking HTTP to the Bot API stand-in. Time is faked: rate limits and Telegram's
`retry_after` are waited out on a fake clock, never slept."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.notifier import (
    DeliveryReport,
    Notifier,
    NotifierOptions,
    SendRate,
    deliver_once,
    render_text,
)
from bot.telegram import PayloadCodec
from bot.web import web_updates_router
from civic.identity import WebSessions
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket, follow_ticket, report_url, ticket_for_token, transition
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import ChannelAddress, Citizen, Notification, OutboundMessage, Ticket, utcnow
from tests.fakes.botapi import BotApiStandIn

TOKEN = "123456:TEST-notifier"
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)
NOTE = "维修人员已出发"
WEB_SESSION = "web-session-0123456789"


class FakeTime:
    """A monotonic clock that only moves when the notifier sleeps (or a test says so),
    and a wall clock shifted by the same amount."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], Awaitable[None] | None] | None = None

    def clock(self) -> float:
        return 1000.0 + self.offset

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.offset)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        hook = self.on_sleep(seconds) if self.on_sleep else None
        if hook is not None:
            await hook
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def server() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def standin(server: BotApiStandIn) -> BotApiStandIn:
    server.reset()
    server.set_limits(global_per_s=None, per_chat_per_s=None)  # tests set their own
    return server


def make_bot(standin: BotApiStandIn) -> Bot:
    request = HTTPXRequest(connection_pool_size=9, httpx_kwargs={"verify": False})
    return Bot(TOKEN, base_url=standin.base_url, request=request)


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    async with make_bot(standin) as real_bot:
        yield real_bot


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def notifier_for(
    sessions: sessionmaker[Session], bot: Bot | None, fake: FakeTime, **options: object
) -> Notifier:
    return Notifier(
        sessions=sessions,
        settings=get_settings(),
        bot=bot,
        options=NotifierOptions(**options),  # type: ignore[arg-type]
        clock=fake.clock,
        sleep=fake.sleep,
        now=fake.now,
    )


def citizen(
    session: Session, standin: BotApiStandIn, chat: int | str, language: str = "zh"
) -> Citizen:
    """A citizen on Telegram (who started the bot) or, for a string, on the web chat."""
    channel = "web" if isinstance(chat, str) else "telegram"
    if channel == "telegram":
        standin.add_user(int(chat), language_code=language)
    return get_or_create_citizen(
        session=session, channel=channel, address=str(chat), language=language
    )


def accepted_ticket(session: Session, owner: Citizen, *followers: Citizen) -> Ticket:
    """A ticket filed by `owner`, followed by `followers`, just accepted with a note:
    `transition` queues the news for all of them."""
    ticket = create_ticket(
        session=session,
        citizen_id=owner.id,
        description="路灯坏了",
        language="zh",
        decision=DECISION,
        ticket_prefix="HZ",
        due_at=None,
    )
    for follower in followers:
        follow_ticket(session=session, ticket=ticket, citizen_id=follower.id)
    transition(session=session, ticket=ticket, to_status="accepted", actor="user:li", note=NOTE)
    session.commit()
    return ticket


def page_line(ticket: Ticket, lang: str) -> str:
    """The line that ends each update to the citizen who filed the ticket: their page."""
    settings = get_settings()
    link = report_url(public_url=settings.public_url, secret=settings.secret_key, ticket=ticket)
    if lang == "en":
        return (
            f"\nYour report's page (progress, and where you can add information or a photo): {link}"
        )
    return f"\n您的诉件页面(查看进展,并可补充信息或照片): {link}"


def statuses(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [(row.status, row.attempts) for row in rows]


def texts(standin: BotApiStandIn, chat: int) -> list[str | None]:
    return [m.plain_text for m in standin.messages(chat)]


# -- delivery ------------------------------------------------------------------------


async def test_status_change_reaches_citizen_and_followers_in_their_language(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        owner = citizen(session, standin, 5001, "en")
        follower = citizen(session, standin, 5002, "zh")
        citizen(session, standin, 5003, "en")  # neither filed nor follows
        ticket = accepted_ticket(session, owner, follower)
        number, line = ticket.number, page_line(ticket, "en")

    report = await notifier_for(sessions, bot, fake).deliver_due()

    assert (report.claimed, report.sent) == (2, 2)
    # the reporter's update ends with their page's link; a follower's has none
    assert texts(standin, 5001) == [f"Update on your report {number}: accepted. {NOTE}{line}"]
    assert texts(standin, 5002) == [f"您反映的问题 {number} 有新进展:已受理。{NOTE}"]
    assert texts(standin, 5003) == []
    assert [m.parse_mode for m in standin.messages()] == [None, None]
    assert statuses(sessions) == [("sent", 1), ("sent", 1)]
    again = await notifier_for(sessions, bot, fake).deliver_due()
    assert (again.claimed, len(standin.messages())) == (0, 2)


async def test_a_chinese_reporter_gets_the_link_to_their_own_page_in_chinese(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        ticket = accepted_ticket(session, citizen(session, standin, 5011, "zh"))
        number = ticket.number

    await notifier_for(sessions, bot, fake).deliver_due()

    [text] = texts(standin, 5011)
    assert text is not None
    update, page = text.split("\n")
    assert update == f"您反映的问题 {number} 有新进展:已受理。{NOTE}"
    prefix = "您的诉件页面(查看进展,并可补充信息或照片): http://127.0.0.1:8000/my-report/"
    assert page.startswith(prefix)
    token = page.removeprefix(prefix)
    assert token.startswith(f"{number}.") and "5011" not in token
    with sessions() as session:
        opened = ticket_for_token(session=session, secret=get_settings().secret_key, token=token)
        assert opened is not None and opened.number == number


async def test_buttons_become_an_inline_keyboard_and_long_payloads_are_stored(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    long_payload = '/confirm_fixed{"ticket":"HZ-2026-000001","fixed":"yes","why":"' + "x" * 40
    params = {
        "number": "HZ-2026-000001",
        "status": "rectified",
        "note": "\n".join(f"第{i}行" + "修" * 300 for i in range(20)),  # over 4096 characters
        "buttons": [
            {"title": {"zh": "已解决", "en": "Solved"}, "payload": long_payload},
            {"title_key": "menu.report", "payload": "/report"},
        ],
    }
    with sessions() as session:
        person = citizen(session, standin, 5011, "en")
        session.add(notification(person, params))
        session.commit()

    report = await notifier_for(sessions, bot, fake).deliver_due()

    first, last = standin.messages(5011)
    assert report.sent == 1
    assert first.reply_markup is None
    keyboard = last.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert [row[0]["text"] for row in keyboard] == ["Solved", "Report a problem"]
    encoded = keyboard[0][0]["callback_data"]
    assert encoded.startswith("p:") and len(encoded.encode()) <= 64
    assert PayloadCodec(sessions).decode(encoded) == long_payload
    assert keyboard[1][0]["callback_data"] == "/report"
    expected = render_text("notify.status_changed", "en", params)
    assert f"{first.plain_text}\n{last.plain_text}" == expected


def notification(person: Citizen, params: Mapping[str, object]) -> Notification:
    return Notification(
        citizen_id=person.id,
        kind="ticket_status",
        body_key="notify.status_changed",
        params=json.dumps(params, ensure_ascii=False),
        idempotency_key=f"test:{person.id}:{len(params)}",
        next_attempt_at=utcnow() - timedelta(seconds=1),
    )


def test_a_missing_note_renders_as_nothing_and_unknown_statuses_as_they_are() -> None:
    params = {"number": "HZ-2026-000007", "status": "rectified", "note": None}
    assert render_text("notify.status_changed", "en", params) == (
        "Update on your report HZ-2026-000007: reported fixed."
    )
    params["status"] = "teleported"
    assert render_text("notify.status_changed", "zh", params) == (
        "您反映的问题 HZ-2026-000007 有新进展:teleported。"
    )


# -- Telegram's answers -----------------------------------------------------------------


def counted(code: str) -> float:
    """The notifier's Bot API refusals with this status so far (this process's metrics)."""
    labels = {"code": code, "kind": "notification"}
    return REGISTRY.get_sample_value("civic_telegram_refusals_total", labels) or 0.0


def counted_sends() -> float:
    labels = {"channel": "telegram", "kind": "notification"}
    return REGISTRY.get_sample_value("civic_sends_total", labels) or 0.0


async def test_a_429_is_waited_out_and_each_message_delivered_once(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    chats = [5021, 5022, 5023]
    with sessions() as session:
        for chat in chats:
            accepted_ticket(session, citizen(session, standin, chat, "en"))
    standin.set_limits(global_per_s=1)  # one message, then "retry after 1"

    def time_passes(seconds: float) -> None:
        if seconds >= 1:  # the flood pause, not our own pacing
            standin.set_limits(global_per_s=None)

    fake.on_sleep = time_passes
    refusals, sends = counted("429"), counted_sends()
    report = await notifier_for(sessions, bot, fake).deliver_due()

    assert [len(standin.messages(chat)) for chat in chats] == [1, 1, 1]
    assert standin.rate_limited_count >= 1
    assert counted("429") - refusals == standin.rate_limited_count
    assert counted_sends() - sends == 3
    assert report.flood_waits == standin.rate_limited_count
    assert max(fake.sleeps) == 1.0  # as long as Telegram asked, no longer
    assert (report.sent, report.retried) == (3, 0)
    assert statuses(sessions) == [("sent", 1)] * 3  # a 429 is not a failed attempt


async def test_a_blocked_user_makes_the_address_unreachable_and_is_not_retried(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        accepted_ticket(session, citizen(session, standin, 5031, "zh"))
    standin.block(5031)
    refusals = counted("403")

    report = await notifier_for(sessions, bot, fake).deliver_due()
    fake.offset += 7 * 24 * 3600
    later = await notifier_for(sessions, bot, fake).deliver_due()

    assert (report.unreachable, later.claimed) == (1, 0)
    assert statuses(sessions) == [("unreachable", 1)]
    assert [c.status for c in standin.calls("sendMessage")] == [403]
    assert counted("403") - refusals == 1
    with sessions() as session:
        address = session.scalars(select(ChannelAddress)).one()
        assert address.unreachable_at is not None


async def test_a_citizen_blocked_on_telegram_still_gets_it_on_the_web(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        person = citizen(session, standin, 5035, "en")
        person.addresses.append(ChannelAddress(channel="web", address=WEB_SESSION))
        accepted_ticket(session, person)
    standin.block(5035)

    report = await notifier_for(sessions, bot, fake).deliver_due()

    assert report.sent == 1
    assert statuses(sessions) == [("sent", 1)]
    with sessions() as session:
        assert [a.channel for a in session.scalars(select(ChannelAddress)) if a.unreachable_at] == [
            "telegram"
        ]
        assert session.scalars(select(OutboundMessage.address)).all() == [WEB_SESSION]


async def test_a_502_is_retried_later_and_delivered_once(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        accepted_ticket(session, citizen(session, standin, 5041, "en"))
    standin.fail_next("sendMessage", 502)
    notifier = notifier_for(sessions, bot, fake, retry_delay=timedelta(seconds=30))

    first = await notifier.deliver_due()
    too_soon = await notifier.deliver_due()
    with sessions() as session:
        error = session.scalars(select(Notification.last_error)).one()
    fake.offset += 31
    later = await notifier.deliver_due()

    assert (first.retried, too_soon.claimed, later.sent) == (1, 0, 1)
    assert error is not None and "Bad Gateway" in error and TOKEN not in error
    assert [c.status for c in standin.calls("sendMessage")] == [502, 200]
    assert len(standin.messages(5041)) == 1
    assert statuses(sessions) == [("sent", 2)]


async def test_a_bad_request_fails_at_once(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        person = get_or_create_citizen(session=session, channel="telegram", address="-100777")
        accepted_ticket(session, person)  # a group chat the bot is not in: "chat not found"

    report = await notifier_for(sessions, bot, fake).deliver_due()

    assert report.failed == 1
    assert statuses(sessions) == [("failed", 1)]
    with sessions() as session:
        assert session.scalars(select(Notification.last_error)).one() == (
            "BadRequest: Chat not found"
        )


async def test_a_stopped_notifier_claims_nothing(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        accepted_ticket(session, citizen(session, standin, 5051))
    notifier = notifier_for(sessions, bot, fake)
    notifier.stop()

    assert (await notifier.deliver_due()).claimed == 0
    assert statuses(sessions) == [("pending", 0)]


async def test_rows_that_cannot_be_rendered_fail_and_erased_citizens_are_unreachable(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        broken = notification(citizen(session, standin, 5055, "en"), {"status": "accepted"})
        broken.body_key = "notify.no_such_text"
        session.add(broken)
        gone = citizen(session, standin, 5056, "zh")
        accepted_ticket(session, gone)
        # Erased after the news was queued, by an erasure that raced it (an erasure deletes
        # the news it finds).
        gone.erased_at = utcnow()
        session.commit()

    report = await notifier_for(sessions, bot, fake).deliver_due()

    assert (report.failed, report.unreachable) == (1, 1)
    assert standin.messages() == []
    with sessions() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(r.status, r.last_error) for r in rows] == [
            ("failed", "cannot render notify.no_such_text: KeyError 'notify.no_such_text'"),
            ("unreachable", "no address"),
        ]


def test_deliver_once_is_a_whole_scheduler_job(
    database_url: str, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory(database_url)() as session:
        ticket = accepted_ticket(session, citizen(session, standin, 5071, "en"))
        number, line = ticket.number, page_line(ticket, "en")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", standin.base_url)
    get_settings.cache_clear()

    report = deliver_once()

    assert (report.claimed, report.sent) == (1, 1)
    assert texts(standin, 5071) == [f"Update on your report {number}: accepted. {NOTE}{line}"]


# -- two notifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_notifiers_at_once_deliver_each_row_once(
    sessions: sessionmaker[Session], standin: BotApiStandIn
) -> None:
    chats = list(range(6001, 6061))
    with sessions() as session:
        for chat in chats:
            accepted_ticket(session, citizen(session, standin, chat))
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    async def drain() -> DeliveryReport:
        total = DeliveryReport()
        async with make_bot(standin) as own_bot:
            notifier = notifier_for(sessions, own_bot, FakeTime())
            start.wait()
            while (report := await notifier.deliver_due(limit=5)).claimed:
                for name in ("claimed", "sent", "lost"):
                    setattr(total, name, getattr(total, name) + getattr(report, name))
        return total

    threads = [
        threading.Thread(target=lambda: reports.append(asyncio.run(drain()))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [len(standin.messages(chat)) for chat in chats] == [1] * len(chats)
    assert sum(r.sent for r in reports) == len(chats)
    assert all(r.sent > 0 for r in reports), reports  # both really took part
    assert statuses(sessions) == [("sent", 1)] * len(chats)


async def test_a_row_taken_over_after_its_lease_ran_out_is_not_sent_again(
    sessions: sessionmaker[Session], standin: BotApiStandIn, bot: Bot, fake: FakeTime
) -> None:
    with sessions() as session:
        for chat in (5061, 5062):
            accepted_ticket(session, citizen(session, standin, chat))
    slow = notifier_for(
        sessions, bot, fake, rate_per_second=1, concurrency=1, lease=timedelta(seconds=5)
    )
    other = Notifier(sessions=sessions, settings=get_settings(), bot=bot, now=fake.now)
    taken: list[DeliveryReport] = []

    async def stall_past_the_lease(seconds: float) -> None:
        # `slow` sent the first row and waits for its next slot; it stalls so long that
        # its lease on the second row runs out, and `other` takes that row and sends it.
        fake.offset += 10
        taken.append(await other.deliver_due())

    fake.on_sleep = stall_past_the_lease
    report = await slow.deliver_due()

    assert (report.sent, report.lost, taken[0].sent) == (1, 1, 1)
    assert [len(standin.messages(chat)) for chat in (5061, 5062)] == [1, 1]
    assert statuses(sessions) == [("sent", 1), ("sent", 1)]


# -- the web chat ------------------------------------------------------------------------


async def test_a_web_citizen_gets_the_update_once_through_the_updates_endpoint(
    sessions: sessionmaker[Session], standin: BotApiStandIn, fake: FakeTime
) -> None:
    web_sessions = WebSessions("notifier-test-secret")
    mine, stranger = web_sessions.issue(now=utcnow()), web_sessions.issue(now=utcnow())
    with sessions() as session:
        person = citizen(session, standin, mine.session_id, "en")
        ticket = accepted_ticket(session, person)
        number, line = ticket.number, page_line(ticket, "en")

    report = await notifier_for(sessions, None, fake).deliver_due()

    app = FastAPI()
    app.include_router(web_updates_router(sessions, web_sessions))
    client = TestClient(app)
    url = "/api/chat/updates"
    first = client.post(url, json={"token": mine.token})
    again = client.post(url, json={"token": mine.token})
    other = client.post(url, json={"token": stranger.token})

    assert report.sent == 1
    assert first.status_code == 200
    [message] = first.json()["messages"]
    assert message["text"] == f"Update on your report {number}: accepted. {NOTE}{line}"
    assert message["buttons"] == []
    assert again.json() == {"messages": []}
    assert other.json() == {"messages": []}
    assert standin.messages() == []


# -- the send rate -----------------------------------------------------------------------


def _acquire_all(rate: SendRate, chats: list[str]) -> None:
    async def run() -> None:
        for chat in chats:
            assert await rate.acquire(chat, lambda: False)

    asyncio.run(run())


def test_the_overall_rate_allows_a_fifth_of_a_second_in_hand_then_paces_sends() -> None:
    fake = FakeTime()
    rate = SendRate(NotifierOptions(rate_per_second=25), fake.clock, fake.sleep)
    _acquire_all(rate, [str(chat) for chat in range(5)])
    assert fake.offset == 0  # five at once
    _acquire_all(rate, [str(chat) for chat in range(5, 55)])
    assert fake.offset == pytest.approx(2.0)  # then 25 a second


def test_one_chat_gets_at_most_one_message_a_second() -> None:
    fake = FakeTime()
    rate = SendRate(NotifierOptions(rate_per_second=None), fake.clock, fake.sleep)
    _acquire_all(rate, ["7", "8", "7", "8", "7"])
    assert fake.offset == pytest.approx(2.0)


def test_a_flood_pause_holds_every_chat() -> None:
    fake = FakeTime()
    rate = SendRate(NotifierOptions(), fake.clock, fake.sleep)
    rate.pause(3)
    _acquire_all(rate, ["1"])
    assert fake.offset == pytest.approx(3.0)


def test_a_stop_ends_the_wait() -> None:
    fake = FakeTime()
    rate = SendRate(NotifierOptions(), fake.clock, fake.sleep)
    rate.pause(30)
    stopped = asyncio.run(rate.acquire("1", lambda: fake.offset >= 2))
    assert (stopped, fake.offset) == (False, 2.0)
