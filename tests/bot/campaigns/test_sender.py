"""The campaign sender against the Bot API and SMS gateway stand-ins over real HTTP, on
SQLite and the real PostgreSQL, with the clock in the test's hands."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.campaigns import (
    CampaignSender,
    Channel,
    DeliveryFactory,
    SenderOptions,
    SendReport,
    SmsChannel,
    TelegramChannel,
)
from bot.delivery import Journal, SmsGateway
from bot.telegram import AiohttpRequest
from civic.campaigns import (
    Design,
    create_campaign,
    draw,
    import_households,
    opt_out_member,
    opt_out_number,
    progress,
    subscribe,
)
from civic.city import Profile
from civic.surveys import get_survey, sync_profile_surveys
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Campaign, FrameMember, Invitation
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.sms_gateway import SmsGatewayStandIn

TOKEN = "123456:campaign-test-token"
# 10:00 on a Monday in Hangzhou (02:00 UTC)
MORNING = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def sms_server() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


@pytest.fixture
def stand_ins(
    telegram: BotApiStandIn, sms_server: SmsGatewayStandIn
) -> tuple[BotApiStandIn, SmsGatewayStandIn]:
    telegram.reset()
    telegram.set_limits(global_per_s=None, per_chat_per_s=None)
    sms_server.reset()
    sms_server.set_rate_limit(None)
    return telegram, sms_server


@pytest.fixture
def world(database_url: str, profile: Profile) -> str:
    with session_factory(database_url).begin() as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
    return database_url


def deliveries(profile: Profile) -> DeliveryFactory:
    def survey(session, key):  # type: ignore[no-untyped-def]
        return get_survey(session=session, key=key, agencies=profile.agencies)

    return DeliveryFactory(
        secret="s",
        bot_username="civic_feedback_bot",
        public_url="https://example.org",
        survey=survey,
    )


def make_sender(
    database_url: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    clock: Clock,
    journal: Path,
    *,
    two_way_sms: bool = False,
) -> CampaignSender:
    telegram, sms = stand_ins
    bot = Bot(TOKEN, base_url=telegram.base_url, request=AiohttpRequest(connections=20))
    gateway = SmsGateway(
        base_url=sms.base_url,
        account_sid=sms.account_sid,
        auth_token=sms.auth_token,
        sender="+8610000000",
        rate_per_second=None,
    )
    channels: dict[str, Channel] = {
        "telegram": TelegramChannel(bot),
        "sms": SmsChannel(gateway, two_way=two_way_sms),
    }
    sender = CampaignSender(
        sessions=session_factory(database_url),
        channels=channels,
        deliveries=deliveries(profile),
        journal=Journal(journal),
        options=SenderOptions(rates={"telegram": 1000.0, "sms": 1000.0}, batch=20),
        clock=clock,
    )
    OPEN_SENDERS.append(sender)
    return sender


OPEN_SENDERS: list[CampaignSender] = []


@pytest.fixture(autouse=True)
async def close_senders() -> AsyncIterator[None]:
    """Close the senders' HTTP sessions when each test ends."""
    yield
    while OPEN_SENDERS:
        await OPEN_SENDERS.pop().aclose()


def add_subscribers(database_url: str, telegram: BotApiStandIn, count: int) -> list[int]:
    chats = []
    with session_factory(database_url).begin() as session:
        for i in range(count):
            chat = 7_000_000 + i
            telegram.add_user(chat, f"Resident {i}")
            citizen = get_or_create_citizen(
                session=session, channel="telegram", address=str(chat), language="zh"
            )
            subscribe(
                session=session,
                citizen_id=citizen.id,
                district=["xihu", "gongshu"][i % 2],
                strata={"age_band": "30-44"},
                now=MORNING,
            )
            chats.append(chat)
    return chats


def start_campaign(
    database_url: str,
    n: int,
    *,
    strata: tuple[str, ...] = ("district",),
    channels: tuple[str, ...] = ("telegram", "sms"),
) -> int:
    with session_factory(database_url).begin() as session:
        campaign = create_campaign(
            session=session,
            name="test",
            survey_key="annual_satisfaction",
            design=Design(strata=strata, n=n, seed=7, channels=channels),
            starts_at=MORNING - timedelta(hours=1),
            ends_at=MORNING + timedelta(days=10),
        )
        draw(session=session, campaign=campaign, now=MORNING)
        return campaign.id


def households_csv(count: int) -> str:
    rows = ["id,district,age_band,mobile"]
    # an unbalanced frame: 60% xihu, 30% gongshu, 10% binjiang
    for i in range(count):
        district = "xihu" if i % 10 < 6 else "gongshu" if i % 10 < 9 else "binjiang"
        rows.append(
            f"H{i:04d},{district},{['18-29', '30-44', '45-59', '60+'][i % 4]},+86139{i:08d}"
        )
    return "\n".join(rows) + "\n"


def test_the_sample_matches_its_design(world: str, profile: Profile) -> None:
    with session_factory(world).begin() as session:
        report = import_households(
            session=session, csv_text=households_csv(500), profile_districts=set(profile.districts)
        )
        assert not report.errors
    campaign_id = start_campaign(world, 100, strata=("district",), channels=("sms",))
    with session_factory(world)() as session:
        strata = Counter(
            session.scalars(select(Invitation.stratum).where(Invitation.campaign_id == campaign_id))
        )
        design = json.loads(session.get(Campaign, campaign_id).design)  # type: ignore[union-attr]
    assert design["n"] == 100 and sum(strata.values()) == 100
    assert strata == {"district=xihu": 60, "district=gongshu": 30, "district=binjiang": 10}


async def test_sends_only_inside_the_daily_window(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    telegram, _ = stand_ins
    chats = add_subscribers(world, telegram, 6)
    start_campaign(world, 6)
    clock = Clock(MORNING.replace(hour=13))  # 21:00 in Hangzhou
    sender = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    report = await sender.send_due()
    assert report.total == 0 and report.outside_window == 1
    assert telegram.messages() == []
    clock.now = MORNING + timedelta(days=1)  # 10:00 next day
    report = await sender.send_due()
    assert report.sent == 6
    assert sorted(m.chat_id for m in telegram.messages()) == chats
    assert "sv:i:" in json.dumps(telegram.messages()[0].reply_markup)


async def test_a_crash_mid_batch_resumes_without_duplicates_or_gaps(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    telegram, _ = stand_ins
    chats = add_subscribers(world, telegram, 30)
    start_campaign(world, 30)
    clock = Clock(MORNING)
    first = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    batch = first._claim_batch(SendReport())
    channel = first._channels["telegram"]
    # the process dies after 7 sends finished and an 8th reached Telegram unanswered
    for _, delivery in batch[:7]:
        first._journal.started(delivery.key)
        outcome = await channel.send(delivery)
        first._journal.finished(delivery.key, outcome.kind)
    first._journal.started(batch[7][1].key)
    await channel.send(batch[7][1])
    second = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    assert second.recover() == {"finished": 7, "in_flight": 1, "released": 12}
    await second.send_due()
    received = Counter(m.chat_id for m in telegram.messages())
    assert sorted(received) == chats and set(received.values()) == {1}


async def test_reminders_stop_for_whoever_sends_stop(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    telegram, _ = stand_ins
    chats = add_subscribers(world, telegram, 2)
    start_campaign(world, 2)
    clock = Clock(MORNING)
    sender = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    await sender.send_due()
    clock.now = MORNING + timedelta(days=2, hours=1)
    assert (await sender.send_due()).sent == 2  # first reminder to both
    with session_factory(world).begin() as session:
        member = session.scalars(select(FrameMember).order_by(FrameMember.id)).first()
        assert member is not None
        opt_out_member(session=session, member=member, now=clock.now)
    clock.now = MORNING + timedelta(days=5, hours=1)
    assert (await sender.send_due()).sent == 1  # second reminder: only the other one
    counts = Counter(m.chat_id for m in telegram.messages())
    assert counts == {chats[0]: 2, chats[1]: 3}
    clock.now = MORNING + timedelta(days=8)
    assert (await sender.send_due()).total == 0  # at most two reminders


async def test_a_reminder_to_retry_waits_for_its_time(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    telegram, _ = stand_ins
    [chat] = add_subscribers(world, telegram, 1)
    start_campaign(world, 1)
    clock = Clock(MORNING)
    sender = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    await sender.send_due()
    clock.now = MORNING + timedelta(days=2, hours=1)
    telegram.fail_next("sendMessage", 502)
    assert (await sender.send_due()).retry == 1
    assert (await sender.send_due()).total == 0  # not again at once: it waits its delay
    clock.now += timedelta(minutes=10)
    assert (await sender.send_due()).sent == 1
    assert len(telegram.messages(chat)) == 2  # the invitation and one reminder


async def test_blocked_users_become_unreachable_and_sms_reaches_households(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    telegram, sms = stand_ins
    chats = add_subscribers(world, telegram, 2)
    telegram.block(chats[0])
    with session_factory(world).begin() as session:
        import_households(
            session=session, csv_text=households_csv(3), profile_districts=set(profile.districts)
        )
    start_campaign(world, 5)
    sender = make_sender(world, profile, stand_ins, Clock(MORNING), tmp_path / "journal")
    report = await sender.send_due()
    assert (report.sent, report.unreachable) == (4, 1)
    assert len(sms.messages) == 3
    body = sms.messages[0].body
    assert "https://t.me/civic_feedback_bot?start=i" in body
    with session_factory(world)() as session:
        states = Counter(session.scalars(select(Invitation.state)))
    assert states == {"sent": 4, "unreachable": 1}


async def test_households_with_only_an_email_are_invited_by_email(
    world: str, profile: Profile, tmp_path: Path
) -> None:
    from bot.campaigns import EmailChannel
    from bot.delivery import EmailSender
    from tests.fakes.smtp import SmtpStandIn

    with session_factory(world).begin() as session:
        import_households(
            session=session,
            csv_text="id,district,email\nE1,xihu,wang@example.org\n",
            profile_districts=set(profile.districts),
        )
    start_campaign(world, 1, channels=("email",))
    with SmtpStandIn() as smtp:
        mailer = EmailSender(host="127.0.0.1", port=smtp.port or 0, sender="survey@example.gov")
        sender = CampaignSender(
            sessions=session_factory(world),
            channels={"email": EmailChannel(mailer)},
            deliveries=deliveries(profile),
            journal=Journal(tmp_path / "journal"),
            clock=Clock(MORNING),
        )
        assert (await sender.send_due()).sent == 1
        [mail] = smtp.messages_to("wang@example.org")
    body = mail.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "https://t.me/civic_feedback_bot?start=i" in text
    assert mail.message["List-Unsubscribe"].strip().startswith("<https://example.org/u/i")


def test_letters_are_printed_one_page_each_and_counted_sent(
    world: str, profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.campaigns import print_letters
    from civic.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", world)
    get_settings.cache_clear()
    rows = ["id,district,postal_address"] + [f"L{i},xihu,西湖区文三路{i}号" for i in range(3)]
    with session_factory(world).begin() as session:
        import_households(
            session=session,
            csv_text="\n".join(rows) + "\n",
            profile_districts=set(profile.districts),
        )
    campaign_id = start_campaign(world, 3, channels=("letter",))
    out = tmp_path / "letters.pdf"
    assert print_letters(get_settings(), campaign_id, out) == 3
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b", pdf)) == 3
    assert print_letters(get_settings(), campaign_id, tmp_path / "again.pdf") == 0
    with session_factory(world)() as session:
        assert set(session.scalars(select(Invitation.state))) == {"sent"}


async def test_subscribers_of_the_website_chat_find_the_invitation_there(
    world: str, profile: Profile, tmp_path: Path
) -> None:
    from bot.campaigns import WebChannel
    from storage.models import OutboundMessage

    with session_factory(world).begin() as session:
        person = get_or_create_citizen(session=session, channel="web", address="w" * 32)
        subscribe(session=session, citizen_id=person.id, district="xihu", strata={}, now=MORNING)
    start_campaign(world, 1, channels=("telegram", "web"))
    sender = CampaignSender(
        sessions=session_factory(world),
        channels={"web": WebChannel(session_factory(world))},
        deliveries=deliveries(profile),
        journal=Journal(tmp_path / "journal"),
        clock=Clock(MORNING),
    )
    assert (await sender.send_due()).sent == 1
    with session_factory(world)() as session:
        waiting = session.scalars(select(OutboundMessage)).one()
    body = json.loads(waiting.body)
    assert waiting.address == "w" * 32 and body["buttons"][0]["payload"].startswith("sv:i:i")


async def test_two_senders_at_once_send_each_invitation_once(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    """The sender's lock keeps a second one away; should two run all the same, each
    claims (SKIP LOCKED on PostgreSQL, committed as `sending`) before it sends."""
    telegram, _ = stand_ins
    chats = add_subscribers(world, telegram, 40)
    start_campaign(world, 40, channels=("telegram",))
    clock = Clock(MORNING)
    senders = [
        make_sender(world, profile, stand_ins, clock, tmp_path / f"journal-{i}") for i in (1, 2)
    ]
    for sender in senders:  # as in production: on SQLite a claim takes the write lock first
        sender._sessions = session_factory(world, writes=True)
    reports = await asyncio.gather(*(sender.send_due() for sender in senders))
    assert sum(report.sent for report in reports) == 40
    assert Counter(m.chat_id for m in telegram.messages()) == dict.fromkeys(chats, 1)


async def test_a_number_that_texted_stop_gets_no_reminder_nor_invitation(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
) -> None:
    _, sms = stand_ins
    with session_factory(world).begin() as session:
        import_households(
            session=session, csv_text=households_csv(2), profile_districts=set(profile.districts)
        )
    start_campaign(world, 2, channels=("sms",))
    clock = Clock(MORNING)
    sender = make_sender(world, profile, stand_ins, clock, tmp_path / "journal")
    assert (await sender.send_due()).sent == 2
    stopped, other = "+8613900000000", "+8613900000001"
    with session_factory(world).begin() as session:
        # what a texted STOP does (bot/sms)
        opt_out_number(session=session, phone=stopped, now=clock.now)
    clock.now = MORNING + timedelta(days=2, hours=1)
    assert (await sender.send_due()).sent == 1  # the other's reminder only
    clock.now = MORNING + timedelta(days=5, hours=1)
    assert (await sender.send_due()).sent == 1
    assert (len(sms.messages_to(stopped)), len(sms.messages_to(other))) == (1, 3)


@pytest.mark.parametrize("two_way", [False, True])
async def test_an_sms_invitation_says_a_reply_answers_only_when_replies_are_read(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
    two_way: bool,
) -> None:
    _, sms = stand_ins
    with session_factory(world).begin() as session:
        import_households(
            session=session, csv_text=households_csv(1), profile_districts=set(profile.districts)
        )
    start_campaign(world, 1, channels=("sms",))
    clock = Clock(MORNING)
    sender = make_sender(
        world, profile, stand_ins, clock, tmp_path / "journal", two_way_sms=two_way
    )
    assert (await sender.send_due()).sent == 1
    clock.now = MORNING + timedelta(days=2, hours=1)
    assert (await sender.send_due()).sent == 1  # the reminder
    invitation, reminder = (m.body for m in sms.messages)
    assert invitation.startswith("【市考评办】诚邀您参加")
    assert reminder.startswith("【市考评办】“")
    for body in (invitation, reminder):
        assert ("或回复1短信作答。退订:" in body) is two_way
        assert "退订:" in body


async def test_segments_and_their_cost_are_counted_per_campaign_without_numbers(
    world: str,
    profile: Profile,
    stand_ins: tuple[BotApiStandIn, SmsGatewayStandIn],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, sms = stand_ins
    with session_factory(world).begin() as session:
        import_households(
            session=session, csv_text=households_csv(3), profile_districts=set(profile.districts)
        )
    campaign_id = start_campaign(world, 3, channels=("sms",))
    sender = make_sender(world, profile, stand_ins, Clock(MORNING), tmp_path / "journal")
    sender.options.sms_cost_per_segment = 0.05
    with caplog.at_level("INFO", logger="bot.campaigns"):
        assert (await sender.send_due()).sent == 3
    # the gateway's own count of what it billed
    billed = sum(m.num_segments for m in sms.messages)
    assert billed == 9  # each Chinese invitation with its three links: three UCS-2 segments
    with session_factory(world)() as session:
        report = progress(session=session, campaign_id=campaign_id)
    assert (report.sms_messages, report.sms_segments, report.sms_cost(0.05)) == (3, 9, 0.45)
    assert f"campaign {campaign_id}: 3 SMS sent, 9 segments, cost 0.45" in caplog.messages
    assert "+86139" not in caplog.text
