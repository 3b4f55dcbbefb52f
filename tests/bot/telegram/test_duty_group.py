"""The agency's duty group and overdue escalations: linking Telegram accounts, the duty
outbox written with the routing and with the overdue flag, delivery through the Bot API
stand-in (429, 403), and the decisions behind the Accept / Reroute buttons. Storage runs
on SQLite and the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram import DutyDesk, DutyReport, deliver_duty_messages
from bot.telegram._duty_texts import callback_data, parse_callback, post_text
from bot.web._desk.views import aware, escalated
from civic.agencies import create_user, set_channel
from civic.city import Profile
from civic.duty import (
    MAX_ATTEMPTS,
    issue_link_code,
    link_telegram,
    mark_failed_attempt,
    officer_for_telegram,
    redeem_link_code,
)
from civic.errors import InvalidInput
from civic.routing import RoutingDecision
from civic.tickets import create_ticket, flag_overdue
from storage.db import session_factory
from storage.models import AgencyUser, DutyMessage, Ticket, utcnow
from tests.fakes.botapi import BotApiStandIn

GROUP = -1001000000001
OFFICER_TG, SUPERVISOR_TG, OTHER_TG, STRANGER_TG = 501, 502, 503, 504
PASSWORD = "a long enough password"


def add_user(
    session: Session,
    username: str,
    *,
    agency: str | None = "water",
    role: str = "officer",
    telegram: int | None = None,
    districts: list[str] | None = None,
) -> AgencyUser:
    user = create_user(
        session=session,
        username=username,
        password=PASSWORD,
        agency=agency,
        role=role,
        display_name=username.title(),
        known_agencies={"water", "construction"},
        districts=districts,
    )
    if telegram is not None:
        link_telegram(session=session, user=user, telegram_user_id=telegram)
    return user


def file_ticket(
    session: Session, agency: str | None = "water", text: str = "停水一天了", due_in: float = 6
) -> Ticket:
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description=text,
        language="zh",
        decision=RoutingDecision("water-outage", agency, "xihu", 0.9),
        ticket_prefix="HZ",
        due_at=utcnow() + timedelta(hours=due_in),
        timezone="Asia/Shanghai",
    )
    session.commit()
    return ticket


def with_group(session: Session, agency: str = "water", chat_id: int = GROUP) -> None:
    set_channel(
        session=session,
        agency=agency,
        known_agencies={"water", "construction"},
        telegram_chat_id=str(chat_id),
    )
    session.commit()


def duty_rows(session: Session) -> list[tuple[str, str, int | None]]:
    rows = session.scalars(select(DutyMessage).order_by(DutyMessage.id))
    return [(r.kind, r.chat_id, r.recipient_id) for r in rows]


# --- the outbox, written with the change it reports ---


def test_a_ticket_routed_to_an_agency_with_a_duty_group_is_posted_once(session: Session) -> None:
    with_group(session)
    ticket = file_ticket(session)
    file_ticket(session, agency="construction")  # no duty group: nothing queued
    assert duty_rows(session) == [("new_ticket", str(GROUP), None)]
    [row] = session.scalars(select(DutyMessage)).all()
    assert (row.ticket_id, row.agency, row.status) == (ticket.id, "water", "pending")


def test_a_ticket_left_for_triage_is_not_posted(session: Session) -> None:
    with_group(session)
    file_ticket(session, agency=None)
    assert duty_rows(session) == []


def test_overdue_tickets_are_escalated_to_linked_supervisors_and_the_group_once(
    session: Session,
) -> None:
    with_group(session)
    boss = add_user(session, "boss", role="supervisor", telegram=SUPERVISOR_TG)
    add_user(session, "unlinked-boss", role="supervisor")
    add_user(session, "officer", telegram=OFFICER_TG)
    add_user(session, "other-boss", agency="construction", role="supervisor", telegram=OTHER_TG)
    late = file_ticket(session, due_in=-1)
    file_ticket(session, due_in=5)
    session.query(DutyMessage).delete()
    assert flag_overdue(session=session) == 1
    session.commit()
    assert duty_rows(session) == [
        ("escalation", str(SUPERVISOR_TG), boss.id),
        ("escalation", str(GROUP), None),
    ]
    assert flag_overdue(session=session, now=utcnow() + timedelta(days=1)) == 1  # the other
    session.commit()
    escalations = session.scalars(
        select(DutyMessage.ticket_id).where(DutyMessage.kind == "escalation")
    ).all()
    assert escalations.count(late.id) == 2
    assert escalated(late) is True


def test_failed_sends_back_off_then_give_up(session: Session) -> None:
    with_group(session)
    file_ticket(session)
    [row] = session.scalars(select(DutyMessage)).all()
    now = utcnow()
    mark_failed_attempt(message=row, error="TimedOut", now=now)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        now + timedelta(seconds=30),
    )
    mark_failed_attempt(message=row, error="TimedOut", now=now)
    assert row.next_attempt_at == now + timedelta(seconds=60)
    for _ in range(MAX_ATTEMPTS - 2):
        mark_failed_attempt(message=row, error="TimedOut", now=now)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)


# --- linking Telegram accounts ---


def test_a_link_code_links_the_account_once(session: Session) -> None:
    officer = add_user(session, "zhao")
    code = issue_link_code(session=session, user=officer)
    assert (
        redeem_link_code(session=session, code="WRONG-CODE1", telegram_user_id=OFFICER_TG) is None
    )
    linked = redeem_link_code(session=session, code=code.lower(), telegram_user_id=OFFICER_TG)
    assert linked is not None and linked.id == officer.id
    assert officer_for_telegram(session=session, telegram_user_id=OFFICER_TG) == officer
    assert redeem_link_code(session=session, code=code, telegram_user_id=OTHER_TG) is None


def test_an_expired_code_does_not_link(session: Session) -> None:
    officer = add_user(session, "zhao")
    code = issue_link_code(session=session, user=officer, now=utcnow() - timedelta(hours=25))
    assert redeem_link_code(session=session, code=code, telegram_user_id=OFFICER_TG) is None
    assert officer.telegram_user_id is None


def test_a_telegram_account_acts_for_one_desk_user(session: Session) -> None:
    first = add_user(session, "first", telegram=OFFICER_TG)
    second = add_user(session, "second")
    with pytest.raises(InvalidInput, match="already linked to 'first'"):
        link_telegram(session=session, user=second, telegram_user_id=OFFICER_TG)
    # Redeeming a code is the account's owner speaking: the account moves.
    code = issue_link_code(session=session, user=second)
    redeem_link_code(session=session, code=code, telegram_user_id=OFFICER_TG)
    assert (first.telegram_user_id, second.telegram_user_id) == (None, OFFICER_TG)


def test_staff_get_no_duty_group_code(session: Session) -> None:
    staff = add_user(session, "office", agency=None, role="staff")
    with pytest.raises(InvalidInput):
        issue_link_code(session=session, user=staff)


# --- delivery through the Bot API stand-in ---


@pytest.fixture(scope="module")
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as api:
        yield api


@pytest.fixture
def api(telegram: BotApiStandIn) -> BotApiStandIn:
    telegram.reset()
    telegram.add_group(GROUP, "水务局值班群")
    return telegram


def deliver(session: Session, api: BotApiStandIn, profile: Profile) -> DutyReport:
    async def run() -> DutyReport:
        request = HTTPXRequest(httpx_kwargs={"verify": False})
        bot = Bot("123:ABC", base_url=api.base_url, request=request)
        try:
            return await deliver_duty_messages(session, bot, profile)
        finally:
            await request.shutdown()

    return asyncio.run(run())


def test_the_group_gets_the_post_with_accept_and_reroute(
    session: Session, api: BotApiStandIn, profile: Profile
) -> None:
    with_group(session)
    ticket = file_ticket(session, text="<b>停水</b> & 水压低, 电话 138")
    assert deliver(session, api, profile) == DutyReport(sent=1)
    [post] = api.messages(GROUP)
    assert post.plain_text == (
        f"🆕 新工单 {ticket.number}\n承办部门:水务局\n问题类别:停水与水压\n所在区域:西湖区\n"
        f"办理时限:{post.plain_text.split('办理时限:')[1].splitlines()[0]}\n"
        "<b>停水</b> & 水压低, 电话 138"
    )
    assert post.reply_markup == {
        "inline_keyboard": [
            [
                {"text": "✅ 受理", "callback_data": f"duty:accept:{ticket.number}"},
                {"text": "↩️ 退回", "callback_data": f"duty:reroute:{ticket.number}"},
            ]
        ]
    }
    [row] = session.scalars(select(DutyMessage)).all()
    assert (row.status, row.message_id) == ("sent", post.message_id)
    assert deliver(session, api, profile) == DutyReport()  # sent once


def test_a_long_complaint_is_cut_to_fit_one_message(profile: Profile) -> None:
    ticket = Ticket(
        number="HZ-2026-000001",
        description="路" * 5000,
        category="water-outage",
        agency="water",
        district=None,
        status="routed",
    )
    text = post_text(ticket, profile)
    assert len(text) < 4096 and text.endswith("路…</blockquote>")
    assert "所在区域:待确认\n办理时限:无时限\n" in text


def test_flood_control_postpones_without_counting_an_attempt(
    session: Session, api: BotApiStandIn, profile: Profile
) -> None:
    with_group(session)
    for _ in range(4):
        file_ticket(session)
    api.set_limits(per_chat_per_s=0.01, per_chat_burst=2)
    assert deliver(session, api, profile) == DutyReport(sent=2, postponed=1)
    rows = session.scalars(select(DutyMessage).order_by(DutyMessage.id)).all()
    assert [(r.status, r.attempts) for r in rows] == [
        ("sent", 1),
        ("sent", 1),
        ("pending", 0),  # waits for Telegram's retry_after
        ("pending", 0),  # the batch stopped: not tried at all
    ]
    assert aware(rows[2].next_attempt_at) > utcnow() + timedelta(seconds=30)


def test_a_bot_removed_from_the_group_is_recorded_not_retried(
    session: Session, api: BotApiStandIn, profile: Profile
) -> None:
    with_group(session)
    add_user(session, "boss", role="supervisor", telegram=SUPERVISOR_TG)  # never started the bot
    file_ticket(session, due_in=-1)
    flag_overdue(session=session)
    session.commit()
    api.kick_bot(GROUP)
    assert deliver(session, api, profile) == DutyReport(unreachable=3)
    errors = session.scalars(select(DutyMessage.last_error).order_by(DutyMessage.id)).all()
    assert errors == [
        "Forbidden: Forbidden: bot was kicked from the supergroup chat",
        "Forbidden: Forbidden: bot can't initiate conversation with a user",
        "Forbidden: Forbidden: bot was kicked from the supergroup chat",
    ]
    assert deliver(session, api, profile) == DutyReport()


def test_a_linked_supervisor_who_started_the_bot_gets_the_escalation(
    session: Session, api: BotApiStandIn, profile: Profile
) -> None:
    add_user(session, "boss", role="supervisor", telegram=SUPERVISOR_TG)
    api.add_user(SUPERVISOR_TG)
    ticket = file_ticket(session, due_in=-1)
    flag_overdue(session=session)
    session.commit()
    assert deliver(session, api, profile) == DutyReport(sent=1)
    [escalation] = api.messages(SUPERVISOR_TG)
    assert escalation.plain_text.startswith(f"⚠️ 超时督办:{ticket.number}\n承办部门:水务局")
    assert escalation.reply_markup is None


# --- the decisions behind the buttons ---


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url, writes=True)


def test_callback_data_round_trip() -> None:
    data = callback_data("accept", "HZ-2026-000123")
    assert data == "duty:accept:HZ-2026-000123" and len(data.encode()) <= 64
    press = parse_callback(data)
    assert press is not None and (press.action, press.number) == ("accept", "HZ-2026-000123")
    assert parse_callback("duty:close:HZ-1") is None
    assert parse_callback('/choose_category{"category":"x"}') is None


def test_only_a_linked_officer_of_the_groups_agency_accepts(
    session: Session, sessions: sessionmaker[Session], profile: Profile
) -> None:
    with_group(session)
    add_user(session, "zhao", telegram=OFFICER_TG)
    add_user(session, "builder", agency="construction", telegram=OTHER_TG)
    ticket = file_ticket(session)
    duty = DutyDesk(sessions, profile)
    number = ticket.number or ""
    stranger = duty.accept(str(GROUP), STRANGER_TG, number, "en")
    assert (stranger.alert, stranger.post) == (True, None)
    assert stranger.answer.startswith("Your Telegram account is not linked")
    other = duty.accept(str(GROUP), OTHER_TG, number, "en")
    assert other.answer == "Only this agency's officers can act on the tickets of its duty group."
    elsewhere = duty.accept("-100999", OFFICER_TG, number, "en")
    assert elsewhere.answer.startswith("This chat is not an agency's duty group")

    accepted = duty.accept(str(GROUP), OFFICER_TG, number, "zh")
    assert (accepted.answer, accepted.alert) == (f"已受理 {number}。", False)
    assert accepted.post is not None and "✅ Zhao 已于 " in accepted.post
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "accepted"  # type: ignore[union-attr]
    assert ticket.events[-1].actor == "user:zhao"
    again = duty.accept(str(GROUP), OFFICER_TG, number, "en")
    assert again.answer == f"{number} is already accepted; these buttons no longer apply."
    assert again.alert and again.post is not None and "Now:" not in again.post


def test_an_officer_outside_the_tickets_district_may_not_accept(
    session: Session, sessions: sessionmaker[Session], profile: Profile
) -> None:
    with_group(session)
    add_user(session, "li", telegram=OFFICER_TG, districts=["binjiang"])
    ticket = file_ticket(session)
    refused = DutyDesk(sessions, profile).accept(str(GROUP), OFFICER_TG, ticket.number or "", "en")
    assert refused.answer == f"You may not act on {ticket.number} (it is outside your districts)."
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "routed"  # type: ignore[union-attr]


def test_reroute_takes_the_reason_from_the_officer_who_tapped(
    session: Session, sessions: sessionmaker[Session], profile: Profile
) -> None:
    with_group(session)
    add_user(session, "zhao", telegram=OFFICER_TG)
    add_user(session, "qian", telegram=SUPERVISOR_TG)
    ticket = file_ticket(session)
    duty = DutyDesk(sessions, profile)
    asked = duty.ask_reroute(str(GROUP), OFFICER_TG, ticket.number or "", "en")
    assert asked.ask is not None and asked.answer.startswith("Please reply")
    duty.remember_question(str(GROUP), 77, asked.ask, post_message_id=5)

    assert duty.reroute(str(GROUP), 77, SUPERVISOR_TG, "not ours") is None  # someone else
    assert duty.reroute(str(GROUP), 78, OFFICER_TG, "not ours") is None  # another message
    taken = duty.reroute(str(GROUP), 77, OFFICER_TG, "这是自来水公司的管网")
    assert taken is not None and taken.reply == f"已将 {ticket.number} 退回考评办重新分派。"
    assert taken.post_message_id == 5 and "理由:这是自来水公司的管网" in (taken.post or "")
    session.expire_all()
    back = session.get(Ticket, ticket.id)
    assert back is not None and (back.agency, back.status) == (None, "rerouted")
    assert back.events[-1].note == "这是自来水公司的管网"
    assert duty.reroute(str(GROUP), 77, OFFICER_TG, "again") is None  # answered already
