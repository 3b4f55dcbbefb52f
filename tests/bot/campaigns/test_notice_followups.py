"""Citizens in the loop of an improvement notice, on SQLite and PostgreSQL: the authors of
the notice's comments are linked to it; the follow-up goes through the campaign sender
(Telegram stand-in, web chat, SMS stand-in) inside the send window, once, never to whoever
opted out; the one-tap answer from a chat button or the SMS answer page is recorded
against the notice; erasure keeps the answer and drops the link to the person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from telegram import Bot

from bot.campaigns import (
    CampaignSender,
    DeliveryFactory,
    SenderOptions,
    SmsChannel,
    TelegramChannel,
    WebChannel,
)
from bot.delivery import Journal, SmsGateway
from bot.telegram import AiohttpRequest
from bot.web._notice_answers import notice_answers_router
from civic.campaigns import eligible_members, opt_out_member, subscribe
from civic.city import Profile
from civic.notices import (
    ANSWER_PREFIX,
    answer_counts,
    followup_message,
    followup_of,
    link_citizens,
    start_followup,
)
from civic.opinion import codebook_path, collect_comments, load_codebook
from civic.privacy import erase_citizen
from civic.surveys import SurveyChat
from ops.wiring import notice_answers
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import (
    Campaign,
    Citizen,
    FrameMember,
    Invitation,
    Notice,
    NoticeLink,
    OutboundMessage,
    Ticket,
)
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.sms_gateway import SmsGatewayStandIn

TOKEN = "123456:notice-test-token"
SECRET = "s" * 40
FILED = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)
MORNING = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou
NIGHT = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # 22:00 in Hangzhou
TG_CHAT, WEB_ADDRESS, PHONE = 8_100_001, "w" * 32, "+8613800138000"
COMMITMENT = "二季度起专家号源增加三成，开通分时段预约挂号"


@pytest.fixture(scope="module")
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


def _complaint(session, citizen: Citizen | None, text: str, agency: str = "health") -> None:  # type: ignore[no-untyped-def]
    session.add(
        Ticket(
            citizen_id=citizen.id if citizen else None,
            description=text,
            language="zh",
            category="hospital-service",
            agency=agency,
            district="shangcheng",
            status="routed",
            created_at=FILED,
        )
    )


@pytest.fixture
def world(database_url: str, profile: Profile, telegram: BotApiStandIn) -> dict[str, int]:
    """Five authors of hospital-registration complaints (on Telegram, the web chat, only a
    verified phone, opted out of surveys, and one who left no way to reach them), one
    author of a complaint about something else, and the committed notice."""
    telegram.reset()
    telegram.add_user(TG_CHAT, "Resident")
    codebook = load_codebook(codebook_path(profile), profile)
    with session_factory(database_url).begin() as session:
        on_telegram = get_or_create_citizen(
            session=session, channel="telegram", address=str(TG_CHAT), language="zh"
        )
        on_web = get_or_create_citizen(
            session=session, channel="web", address=WEB_ADDRESS, language="en"
        )
        by_phone = Citizen(public_id="p1", phone=PHONE, language="zh")
        opted_out = get_or_create_citizen(
            session=session, channel="telegram", address="8100009", language="zh"
        )
        unreachable = Citizen(public_id="u1", language="zh")
        elsewhere = get_or_create_citizen(
            session=session, channel="telegram", address="8100010", language="zh"
        )
        session.add_all([by_phone, unreachable])
        session.flush()
        member = subscribe(
            session=session, citizen_id=opted_out.id, district="xihu", strata={}, now=FILED
        )
        opt_out_member(session=session, member=member, now=FILED)
        for citizen in (on_telegram, by_phone, opted_out, unreachable):
            _complaint(session, citizen, "医院挂号排队三个小时还没挂上")
        session.add(
            Ticket(
                citizen_id=on_web.id,
                description="Queued all morning for registration at the hospital",
                language="en",
                category="hospital-service",
                agency="health",
                district="shangcheng",
                status="routed",
                created_at=FILED,
            )
        )
        _complaint(session, elsewhere, "小区门口垃圾桶满了没人收", agency="urban-management")
        collect_comments(session=session, profile=profile, codebook=codebook)
        notice = Notice(
            number="GZ-2026-001",
            agency="health",
            rule="code_growth",
            subject="hospital-registration",
            period="2026",
            status="committed",
            problem_zh="挂号排队时间长的投诉比上年翻了一番",
            problem_en="Complaints about long waits for registration doubled",
            commitment_zh=COMMITMENT,
            commitment_en="More specialist slots from Q2 and booking by time slot",
        )
        session.add(notice)
        session.flush()
        ids = {
            "notice": notice.id,
            "telegram": on_telegram.id,
            "web": on_web.id,
            "phone": by_phone.id,
            "opted_out": opted_out.id,
            "unreachable": unreachable.id,
            "elsewhere": elsewhere.id,
        }
        assert (
            link_citizens(
                session=session, notice=notice, codes=("hospital-registration",), now=MORNING
            )
            == 5
        )
    return ids


def _sender(
    database_url: str, profile: Profile, telegram: BotApiStandIn, sms_server, clock, tmp_path: Path
) -> CampaignSender:  # type: ignore[no-untyped-def]
    codebook = load_codebook(codebook_path(profile), profile)

    def notice(session, campaign, lang):  # type: ignore[no-untyped-def]
        found = session.get(Notice, followup_of(campaign).notice_id)
        return followup_message(
            session=session,
            campaign=campaign,
            lang=lang,
            agency_name=profile.agencies[found.agency].label(lang),
            code_label=codebook.codes[found.subject].name(lang),
        )

    bot = Bot(TOKEN, base_url=telegram.base_url, request=AiohttpRequest(connections=4))
    gateway = SmsGateway(
        base_url=sms_server.base_url,
        account_sid=sms_server.account_sid,
        auth_token=sms_server.auth_token,
        sender="+8610000000",
        rate_per_second=None,
    )
    return CampaignSender(
        sessions=session_factory(database_url),
        channels={
            "telegram": TelegramChannel(bot),
            "web": WebChannel(session_factory(database_url)),
            "sms": SmsChannel(gateway),
        },
        deliveries=DeliveryFactory(
            secret=SECRET,
            bot_username="civic_feedback_bot",
            public_url="https://example.org",
            survey=lambda session, key: None,  # type: ignore[arg-type,return-value]
            notice=notice,
        ),
        journal=Journal(tmp_path / "journal"),
        options=SenderOptions(rates={"telegram": 1000.0, "sms": 1000.0, "web": 1000.0}),
        clock=clock,
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _start(database_url: str, notice_id: int, stage: str = "committed") -> int:
    with session_factory(database_url).begin() as session:
        notice = session.get(Notice, notice_id)
        campaign = start_followup(
            session=session, notice=notice, stage=stage, now=MORNING - timedelta(hours=1)
        )
        again = start_followup(session=session, notice=notice, stage=stage, now=MORNING)
        assert again.id == campaign.id  # made once per notice and stage
        return campaign.id


def test_the_authors_are_linked_and_only_those_who_may_be_contacted_are_invited(
    database_url: str, world: dict[str, int]
) -> None:
    campaign_id = _start(database_url, world["notice"])
    with session_factory(database_url)() as session:
        linked = set(session.scalars(select(NoticeLink.citizen_id)))
        invitations = {
            session.get(FrameMember, row.member_id).citizen_id: (row.channel, row.state)
            for row in session.scalars(
                select(Invitation).where(Invitation.campaign_id == campaign_id)
            )
        }
        contact_ids = [m.id for m in session.scalars(select(FrameMember))]
        sampled = {
            unit
            for unit, _ in eligible_members(session=session, population={}, quiet_since=MORNING)
        }
    assert world["elsewhere"] not in linked
    assert linked == {world[k] for k in ("telegram", "web", "phone", "opted_out", "unreachable")}
    assert invitations == {
        world["telegram"]: ("telegram", "pending"),
        world["web"]: ("web", "pending"),
        world["phone"]: ("sms", "pending"),
        world["opted_out"]: ("telegram", "opted_out"),
    }
    # people told about a notice are not thereby in the frame surveys sample from
    assert contact_ids and not sampled


async def test_each_linked_citizen_gets_the_follow_up_once_inside_the_send_window(
    database_url: str,
    profile: Profile,
    world: dict[str, int],
    telegram: BotApiStandIn,
    sms: SmsGatewayStandIn,
    tmp_path: Path,
) -> None:
    sms.reset()
    _start(database_url, world["notice"])
    clock = Clock(NIGHT)
    sender = _sender(database_url, profile, telegram, sms, clock, tmp_path)
    try:
        assert (await sender.send_due()).sent == 0  # 22:00 in Hangzhou: outside the window
        clock.now = MORNING
        assert (await sender.send_due()).sent == 3
        assert (await sender.send_due()).sent == 0  # once
    finally:
        await sender.aclose()

    [message] = telegram.messages(TG_CHAT)
    assert "挂号排队时间长" in message.text and "卫生健康委员会" in message.text
    assert COMMITMENT in message.text
    assert "https://example.org/notices/GZ-2026-001?lang=zh" in message.text
    buttons = message.reply_markup["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["好多了", "没有变化", "更差了"]
    assert all(b["callback_data"].startswith("nt:i") for b in buttons)
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert len(telegram.messages("8100009")) == 0  # opted out

    with session_factory(database_url)() as session:
        waiting = session.scalars(
            select(OutboundMessage).where(OutboundMessage.address == WEB_ADDRESS)
        ).one()
    body = json.loads(waiting.body)
    assert body["text"].startswith('You told us about "Long waits for registration"')
    assert [b["title"] for b in body["buttons"]] == ["Better now", "No change", "Worse"]

    [text] = sms.messages_to(PHONE)
    assert "https://example.org/n/i" in text.body and "https://example.org/u/i" in text.body


def _tapped(
    database_url: str, profile: Profile, citizen_id: int, payload: str, lang: str = "zh"
) -> str:
    chat = SurveyChat(
        sessions=session_factory(database_url),
        profile=profile,
        secret=SECRET,
        buttons={ANSWER_PREFIX: notice_answers(SECRET)},
    )
    replies = chat.handle(citizen_id, lang, "payload", payload, now=MORNING)
    assert replies is not None
    return replies[0].text


async def test_a_tap_is_recorded_against_the_notice_and_only_from_its_citizen(
    database_url: str,
    profile: Profile,
    world: dict[str, int],
    telegram: BotApiStandIn,
    sms: SmsGatewayStandIn,
    tmp_path: Path,
) -> None:
    _start(database_url, world["notice"])
    sender = _sender(database_url, profile, telegram, sms, Clock(MORNING), tmp_path)
    try:
        await sender.send_due()
    finally:
        await sender.aclose()
    [message] = telegram.messages(TG_CHAT)
    better, same, _worse = (b["callback_data"] for b in message.reply_markup["inline_keyboard"][0])

    # another citizen replaying the button is refused and nothing is recorded
    assert "不是发给您的" in _tapped(database_url, profile, world["elsewhere"], better)
    assert "谢谢，已记下" in _tapped(database_url, profile, world["telegram"], better)
    assert "已把您的回答改为" in _tapped(database_url, profile, world["telegram"], same)
    forged = better[:-12] + "AAAAAAAAAAAA:better"  # 'better' kept, the MAC broken
    assert "不是发给您的" in _tapped(database_url, profile, world["telegram"], forged)
    with session_factory(database_url)() as session:
        counts = answer_counts(session=session, notice_id=world["notice"])
    assert counts["committed"] == {"better": 0, "same": 1, "worse": 0}


async def test_the_sms_answer_page_records_one_tap_and_refuses_bad_input(
    database_url: str,
    profile: Profile,
    world: dict[str, int],
    telegram: BotApiStandIn,
    sms: SmsGatewayStandIn,
    tmp_path: Path,
) -> None:
    sms.reset()
    _start(database_url, world["notice"])
    sender = _sender(database_url, profile, telegram, sms, Clock(MORNING), tmp_path)
    try:
        await sender.send_due()
    finally:
        await sender.aclose()
    [text] = sms.messages_to(PHONE)
    path = "/n/" + text.body.split("https://example.org/n/")[1].split()[0]
    app = FastAPI()
    app.include_router(notice_answers_router(session_factory(database_url), SECRET))
    client = TestClient(app)
    page = client.get(path)
    assert page.status_code == 200 and "好多了 / Better now" in page.text
    refused = client.post(path, data={"answer": "maybe"})
    assert refused.status_code == 400 and "please tap one of the buttons" in refused.text
    assert client.get("/n/i" + "A" * 38).status_code == 404
    done = client.post(path, data={"answer": "worse"})
    assert done.status_code == 200 and "谢谢，已记下" in done.text
    with session_factory(database_url)() as session:
        link = session.scalars(
            select(NoticeLink).where(NoticeLink.citizen_id == world["phone"])
        ).one()
    assert link.committed_answer == "worse" and link.verified_answer is None


def test_erasure_keeps_the_answer_and_forgets_who_gave_it(
    database_url: str, profile: Profile, world: dict[str, int]
) -> None:
    with session_factory(database_url).begin() as session:
        link = session.scalars(
            select(NoticeLink).where(NoticeLink.citizen_id == world["telegram"])
        ).one()
        link.verified_answer = "better"
        link_id = link.id
    with session_factory(database_url).begin() as session:
        erase_citizen(session=session, citizen=session.get(Citizen, world["telegram"]))
    with session_factory(database_url)() as session:
        link = session.get(NoticeLink, link_id)
        assert link.citizen_id is None and link.verified_answer == "better"
        assert answer_counts(session=session, notice_id=world["notice"])["verified"]["better"] == 1
        campaigns = session.scalars(select(Campaign)).all()
    assert campaigns == []  # nothing was started here
