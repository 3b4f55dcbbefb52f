"""The SMS webhook through the real web app and `Conversation`, on SQLite and the real
PostgreSQL, with the gateway stand-in signing each request as the gateway does and the
Rasa stand-in answering: signatures, repeats, STOP, surveys by digits, and complaints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from bot.web._limits import WebLimits
from civic.campaigns import Design, create_campaign, draw
from civic.city import Profile
from civic.i18n import t
from civic.settings import get_settings
from civic.surveys import SurveyChat, sync_profile_surveys
from storage.db import session_factory
from storage.models import (
    Campaign,
    ChannelAddress,
    Citizen,
    FrameMember,
    Invitation,
    ProcessedUpdate,
    SurveyAnswer,
    SurveyResponse,
)
from storage.ratelimit import MemoryStore
from storage.updates import DatabaseLedger
from tests.fakes.rasa import FakeRasa
from tests.fakes.sms_gateway import SmsGatewayStandIn

SECRET = "sms-test-secret-0123456789abcdefghijkl"
WEBHOOK = "https://civic.example.org/sms/inbound"
OUR_NUMBER = "+8657100000000"
PHONE = "+8613900001111"
MINUTE_START = 1_800_000_000.0  # the limits count whole minutes from here


class Clock:
    """The limits' clock: the start of a minute until a test moves it."""

    def __init__(self) -> None:
        self.now = MINUTE_START

    def __call__(self) -> float:
        return self.now


TWIML_MESSAGE = re.compile(r"<Response><Message>(.*)</Message></Response>", re.S)


@dataclass
class World:
    http: TestClient
    sessions: sessionmaker[Session]
    rasa: FakeRasa
    gateway: SmsGatewayStandIn
    clock: Clock

    def text(self, body: str, *, sid: str | None = None, phone: str = PHONE) -> str:
        """What the citizen gets back for texting `body` (the TwiML's message, unescaped)."""
        response = self.post(
            *self.gateway.inbound(WEBHOOK, from_=phone, to=OUR_NUMBER, body=body, sid=sid)
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        found = TWIML_MESSAGE.search(response.text)
        if found is None:
            assert response.text.endswith("<Response/>")
            return ""
        return found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def post(self, form: dict[str, str], headers: dict[str, str]) -> object:
        return self.http.post("/sms/inbound", data=form, headers=headers)


@pytest.fixture
def world(database_url: str, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    gateway = SmsGatewayStandIn()
    clock = Clock()
    monkeypatch.setenv("CIVIC_SECRET_KEY", SECRET)
    monkeypatch.setenv("SMS_AUTH_TOKEN", gateway.auth_token)
    monkeypatch.setenv("SMS_WEBHOOK_URL", WEBHOOK)
    get_settings.cache_clear()
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
    with FakeRasa.running() as rasa:
        conversation = Conversation(
            rasa=RasaClient(rasa.url),
            sessions=sessions,
            ledger=DatabaseLedger(sessions),
            surveys=SurveyChat(sessions=sessions, profile=profile, secret=SECRET),
        )
        limits = WebLimits(get_settings(), store=MemoryStore(clock), clock=clock)
        app = create_app(conversation, sessions=sessions, profile=profile, limits=limits)
        with TestClient(app) as http:
            yield World(http, sessions, rasa, gateway, clock)


def invite_by_sms(
    sessions: sessionmaker[Session], survey: str = "annual_satisfaction", phone: str = PHONE
) -> int:
    """A household at `phone`, sampled into a running campaign, its SMS invitation sent."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        session.add(
            FrameMember(
                kind="household",
                external_id=f"H-{phone}",
                district="xihu",
                strata=json.dumps({"age_band": "30-44"}),
                mobile=phone,
            )
        )
        session.flush()
        campaign = create_campaign(
            session=session,
            name="sms",
            survey_key=survey,
            design=Design(strata=("district",), n=1, channels=("sms",)),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=10),
        )
        draw(session=session, campaign=campaign, now=now)
        invitation = session.scalars(select(Invitation)).one()
        invitation.state, invitation.sent_at = "sent", now
        return campaign.id


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- the signature and repeats ------------------------------------------------------


def test_a_signed_text_reaches_the_assistant_as_an_sms_citizen(world: World) -> None:
    assert world.text("路灯坏了") == "echo:路灯坏了"
    with world.sessions() as session:
        address = session.scalars(select(ChannelAddress)).one()
        citizen = session.get(Citizen, address.citizen_id)
    assert (address.channel, address.address) == ("sms", PHONE)
    assert citizen is not None
    # a sender's number is what the carrier says, not proven: an account, like Telegram
    assert citizen.assurance == "account"
    # Rasa sees the pseudonym and the channel, never the number
    assert world.rasa.bodies[-1]["sender"] == citizen.public_id
    assert world.rasa.bodies[-1]["metadata"]["channel"] == "sms"
    assert PHONE not in json.dumps(world.rasa.bodies)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}, {"X-Twilio-Signature": ""}],
    ids=["missing", "wrong", "empty"],
)
def test_an_unsigned_or_wrongly_signed_text_is_refused_and_nothing_stored(
    world: World, headers: dict[str, str]
) -> None:
    form, _ = world.gateway.inbound(WEBHOOK, from_=PHONE, to=OUR_NUMBER, body="路灯坏了")
    response = world.http.post("/sms/inbound", data=form, headers=headers)
    assert response.status_code == 403
    assert (count(world.sessions, Citizen), count(world.sessions, ProcessedUpdate)) == (0, 0)
    assert world.rasa.bodies == []


def test_a_signature_made_for_another_body_is_refused(world: World) -> None:
    form, headers = world.gateway.inbound(WEBHOOK, from_=PHONE, to=OUR_NUMBER, body="1")
    form["Body"] = "STOP"
    assert world.http.post("/sms/inbound", data=form, headers=headers).status_code == 403
    assert count(world.sessions, Citizen) == 0


def test_a_repeated_message_sid_is_handled_once(world: World) -> None:
    sid = "SM" + "ab" * 16
    assert world.text("路灯坏了", sid=sid) == "echo:路灯坏了"
    assert world.text("路灯坏了", sid=sid) == ""
    assert [b["message"] for b in world.rasa.bodies] == ["路灯坏了"]


# -- complaints through the assistant ------------------------------------------------


def test_buttons_come_as_numbered_choices_and_a_number_chooses(world: World) -> None:
    assert world.text("offer buttons") == "echo:offer buttons\nReply with a number:\n1. Solved"
    world.text("1")
    assert world.rasa.bodies[-1]["message"] == '/answer_fixed{"fixed":true}'


# -- STOP ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", " stop ", "退订", "td", "Td"])
def test_stop_opts_the_number_out_and_says_so(world: World, word: str) -> None:
    invite_by_sms(world.sessions)
    assert world.text(word) == t("sms.stopped", "zh")
    with world.sessions() as session:
        member = session.scalars(select(FrameMember)).one()
        address = session.scalars(select(ChannelAddress)).one()
    assert member.opted_out_at is not None
    assert address.unreachable_at is not None
    assert world.rasa.bodies == []


def test_stop_in_english_is_confirmed_in_english(world: World) -> None:
    world.text("Hello, the street light is out")
    assert world.text("STOP") == t("sms.stopped", "en")


# -- surveys by digits ----------------------------------------------------------------


def test_digits_start_and_answer_the_sms_invitations_survey(world: World) -> None:
    invite_by_sms(world.sessions)
    first = world.text("1")
    assert "杭州市公共服务满意度年度调查" in first
    assert first.endswith(
        "1/5 · 总体来看，您对杭州市政府部门提供的公共服务满意吗？\n"
        "1. 满意\n2. 基本满意\n3. 不满意\n4. 不了解\n请回复答案前的数字。"
    )
    second = world.text("２")  # a full-width digit is the same answer
    assert second.startswith("2/")
    assert second.endswith(t("sms.several", "zh"))
    with world.sessions() as session:
        answers = {a.step: a.value for a in session.scalars(select(SurveyAnswer))}
    assert answers == {"overall": "basically_satisfied"}
    assert world.rasa.bodies == []  # answered before the assistant
    with world.sessions() as session:
        response = session.scalars(select(SurveyResponse)).one()
    assert response.assurance == "invited"  # the invitation went to this number


def test_a_number_out_of_range_is_told_the_range(world: World) -> None:
    invite_by_sms(world.sessions)
    world.text("1")
    reply = world.text("5")
    assert reply.startswith("请回复 1 到 4 之间的数字。\n1/5 · 总体来看")
    assert count(world.sessions, SurveyAnswer) == 0


def test_several_answers_by_their_numbers(world: World) -> None:
    invite_by_sms(world.sessions)
    world.text("1")
    world.text("1")
    assert "城市管理" in world.text("1,2")
    with world.sessions() as session:
        answers = {a.step: a.value for a in session.scalars(select(SurveyAnswer))}
    assert answers["agencies"] == "transport,urban-management"


def test_a_finished_survey_is_told_so(world: World) -> None:
    invite_by_sms(world.sessions, survey="service_window_followup")
    assert world.text("1").endswith(
        "1/2 · 您要办的事情办成了吗？\n1. 办成了\n2. 办成了一部分\n3. 没有办成\n"
        "请回复答案前的数字。"
    )
    assert world.text("1").startswith("2/2")
    assert world.text("1").startswith("🙏 谢谢您的评价")
    assert world.text("1") == t("survey.already_done", "zh")
    with world.sessions() as session:
        response = session.scalars(select(SurveyResponse)).one()
        invitation = session.scalars(select(Invitation)).one()
    assert response.status == "completed" and invitation.completed_at is not None


def test_a_survey_whose_campaign_ended_is_told_so(world: World) -> None:
    campaign_id = invite_by_sms(world.sessions)
    world.text("1")
    with world.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    assert world.text("2") == t("survey.closed", "zh")
    assert count(world.sessions, SurveyAnswer) == 0


def test_digits_without_a_survey_go_to_the_assistant(world: World) -> None:
    assert world.text("12") == "echo:12"


# -- the limit per number -----------------------------------------------------------


def test_a_number_over_its_limit_is_told_once_and_the_rest_is_not_answered(world: World) -> None:
    limit = get_settings().sms_limit_per_number
    for n in range(limit):
        assert world.text(f"路灯坏了 {n}") == f"echo:路灯坏了 {n}"
    told = world.text("路灯还是坏的")
    assert told == t("limits.chat", "zh", seconds=60)
    assert "60 秒" in told
    assert world.text("路灯还是坏的!!") == ""
    assert len(world.rasa.bodies) == limit
    # another number is not held back, and the next minute the first may text again
    assert world.text("Hello", phone="+8613900002222") == "echo:Hello"
    world.clock.now += 60
    assert world.text("路灯坏了") == "echo:路灯坏了"


def test_the_limit_tells_an_english_sender_in_english(world: World) -> None:
    for _ in range(get_settings().sms_limit_per_number):
        world.text("hello")
    assert world.text("the bin is full") == t("limits.chat", "en", seconds=60)


def test_stop_is_honoured_over_the_limit(world: World) -> None:
    invite_by_sms(world.sessions)
    for _ in range(get_settings().sms_limit_per_number + 2):
        world.text("你好")
    assert world.text("退订") == t("sms.stopped", "zh")
    with world.sessions() as session:
        assert session.scalars(select(FrameMember)).one().opted_out_at is not None
