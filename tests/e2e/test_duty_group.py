"""The agency's duty group, end to end: an administrator registers the agency's Telegram
group and links officers (`civicbot agency ...`), a citizen's complaint routed to the
agency is posted to the group with Accept / Reroute, a linked officer accepts it from the
group while strangers and other agencies' officers are refused, another ticket goes back
to triage with the reason the officer gives in the group, and an overdue ticket is
escalated to the agency's supervisor on Telegram once and marked on the desk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.telegram._duty_texts import city_time
from civic.agencies import create_user
from civic.city import Profile
from civic.i18n import localised
from civic.routing import RoutingDecision
from civic.settings import PROJECT_ROOT
from civic.tickets import create_ticket, flag_overdue
from storage.models import Ticket, utcnow
from tests.e2e.conftest import Stack, TelegramUser, buttons_of, file_complaint, new_user, titles
from tests.fakes.botapi import CallbackAnswer, SentMessage

pytestmark = pytest.mark.e2e

GROUP = -1002000000042
AGENCY = "construction"
PASSWORD = "duty officer password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def civicbot(stack: Stack, *args: str) -> str:
    """Run `civicbot agency ...` against the stack's database, as an administrator would."""
    env = {**os.environ, "CIVIC_VAR_DIR": str(stack.var_dir), "DATABASE_URL": stack.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "agency", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def add_desk_user(stack: Stack, username: str, name: str, role: str, agency: str) -> None:
    with stack.writer() as session:
        create_user(
            session=session,
            username=username,
            password=PASSWORD,
            agency=agency,
            role=role,
            display_name=name,
            known_agencies={agency},
        )
        session.commit()


def link_with_code(stack: Stack, username: str) -> TelegramUser:
    """The officer gets a code from the administrator and sends it to the bot privately."""
    printed = civicbot(stack, "link-telegram", "--username", username)
    code = re.search(r"/link (\S+)", printed).group(1)  # type: ignore[union-attr]
    officer = TelegramUser(stack)
    [linked] = officer.say(f"/link {code}")
    assert linked.text.startswith("关联成功:此 Telegram 账号今后以 ")
    return officer


def next_in_group(stack: Stack, before: int, method: str = "sendMessage") -> SentMessage:
    found = stack.telegram.wait_for_messages(GROUP, before + 1, timeout=60)
    assert found[before].method == method, [(m.method, m.plain_text) for m in found[before:]]
    return found[before]


def press(stack: Stack, user_id: int, post: SentMessage, title: str) -> CallbackAnswer:
    """Tap the button titled `title` under the group post; returns the bot's answer."""
    api = stack.telegram
    before = len(api.callback_answers)
    api.send_callback(user_id, dict(buttons_of(post))[title], post.message_id, chat_id=GROUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answers = [a for a in api.callback_answers[before:] if a.user_id == user_id]
        if answers:
            return answers[0]
        time.sleep(0.05)
    raise AssertionError(f"no answer to {user_id}'s tap on {title}")


def expected_post(ticket: Ticket, profile: Profile) -> str:
    category = profile.categories[ticket.category].label("zh")
    district = localised(profile.districts[ticket.district or ""].name, "zh")
    place = f"地点:{ticket.address_text}\n" if ticket.address_text else ""
    return (
        f"🆕 新工单 {ticket.number}\n承办部门:城乡建设委员会\n问题类别:{category}\n"
        f"所在区域:{district}\n{place}办理时限:{city_time(profile, ticket.due_at)}\n"
        f"{ticket.description}"
    )


def ticket_numbered(stack: Stack, number: str) -> Ticket:
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.events  # noqa: B018 - loaded while the session is open
        return ticket


def desk_inbox(stack: Stack, username: str) -> str:
    with httpx.Client(base_url=stack.web_url, timeout=30) as client:
        form = client.get("/desk/login")
        token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
        fields = {"username": username, "password": PASSWORD, "csrf": token}
        assert client.post("/desk/login", data=fields).status_code == 303
        return client.get("/desk/").text


def test_the_duty_group_accepts_reroutes_and_hears_of_overdue_tickets(
    stack: Stack, profile: Profile
) -> None:
    api = stack.telegram
    api.add_group(GROUP, "城建委值班群")
    civicbot(stack, "set-channel", "--agency", AGENCY, "--telegram-chat-id", str(GROUP))
    add_desk_user(stack, "duty-zhao", "赵明", "officer", AGENCY)
    add_desk_user(stack, "duty-qian", "钱主任", "supervisor", AGENCY)
    add_desk_user(stack, "duty-sun", "孙工", "officer", "water")
    zhao = link_with_code(stack, "duty-zhao")
    qian = link_with_code(stack, "duty-qian")
    sun = new_user()
    api.add_user(sun, "孙", language_code="zh")
    civicbot(stack, "link-telegram", "--username", "duty-sun", "--telegram-user-id", str(sun))

    # A citizen's complaint reaches the group, with the two buttons and nothing about them.
    citizen = TelegramUser(stack)
    before = len(api.messages(GROUP))
    number = file_complaint(citizen, "旁边工地半夜还在打桩,吵得根本睡不着", place="桐庐县")
    post = next_in_group(stack, before)
    assert post.plain_text == expected_post(ticket_numbered(stack, number), profile)
    assert titles(post) == ["✅ 受理", "↩️ 退回"]
    assert str(citizen.id) not in (post.text or "")

    # Someone without a linked account, and another agency's officer: refused, no change.
    refused = press(stack, new_user(), post, "✅ 受理")  # answered in their language (en)
    assert (refused.show_alert, refused.text) == (
        True,
        "Your Telegram account is not linked to a desk account, so you cannot act here. Ask "
        "your administrator for a link code and send it to the bot privately: /link CODE.",
    )
    other = press(stack, sun, post, "✅ 受理")
    assert (other.show_alert, other.text) == (True, "只有本部门的办理人员可以处理本值班群的工单。")
    assert ticket_numbered(stack, number).status == "routed"

    # The linked officer accepts: the desk's transition, the post edited, the citizen told.
    heard = len(api.messages(citizen.id))
    before = len(api.messages(GROUP))
    accepted = press(stack, zhao.id, post, "✅ 受理")
    assert (accepted.show_alert, accepted.text) == (False, f"已受理 {number}。")
    edited = next_in_group(stack, before, "editMessageText")
    assert edited.message_id == post.message_id and edited.reply_markup is None
    assert re.search(r"\n\n✅ 赵明 已于 \d{4}-\d\d-\d\d \d\d:\d\d 受理。$", edited.plain_text or "")
    ticket = ticket_numbered(stack, number)
    assert (ticket.status, ticket.events[-1].actor) == ("accepted", "user:duty-zhao")
    [told] = api.wait_for_messages(citizen.id, heard + 1, timeout=60)[heard:]
    assert (told.text or "").split("\n")[0] == f"您反映的问题 {number} 有新进展:已受理。"
    late = press(stack, zhao.id, post, "↩️ 退回")
    assert late.text == f"{number} 当前状态:已受理,按钮已失效。"

    # Chatter in the group never reaches the assistant.
    before = len(api.messages(GROUP))
    api.send_group_text(GROUP, zhao.id, "/start")
    assert api.send_group_text(GROUP, zhao.id, "收到,马上去现场") is None

    # Another ticket goes back to triage with the reason given in the group.
    with stack.writer() as session:
        second = create_ticket(
            session=session,
            citizen_id=None,
            description="脚手架占用人行道",
            language="zh",
            decision=RoutingDecision("construction-site", AGENCY, "xihu", 0.9),
            ticket_prefix="HZ",
            due_at=utcnow() + timedelta(hours=24),
        )
        session.commit()
        second_number = str(second.number)
    second_post = next_in_group(stack, before)  # also proves "/start" got no answer
    assert (
        press(stack, zhao.id, second_post, "↩️ 退回").text
        == "请在群里回复机器人的提问,写明退回理由。"
    )
    question = next_in_group(stack, before + 1)
    assert question.plain_text == (
        f"赵明,请回复本条消息,说明 {second_number} 为什么不属于本部门办理。"
        "收到理由后,工单将退回考评办重新分派。"
    )
    assert question.reply_markup == {
        "force_reply": True,
        "selective": True,
        "input_field_placeholder": "退回理由",
    }
    api.send_group_text(GROUP, zhao.id, "这是市政道路,不归城建委", reply_to=question.message_id)
    confirmed = next_in_group(stack, before + 2)
    assert confirmed.plain_text == f"已将 {second_number} 退回考评办重新分派。"
    edited = next_in_group(stack, before + 3, "editMessageText")
    assert edited.message_id == second_post.message_id and edited.reply_markup is None
    assert (edited.plain_text or "").endswith("退回考评办重新分派。理由:这是市政道路,不归城建委")
    back = ticket_numbered(stack, second_number)
    assert (back.agency, back.status, back.events[-1].note) == (
        None,
        "rerouted",
        "这是市政道路,不归城建委",
    )

    # The accepted ticket runs past its due time: the supervisor hears of it, once.
    assert _overdue(stack, number) == 1
    [escalation] = api.wait_for_messages(qian.id, 2, timeout=60)[1:]
    assert escalation.plain_text.startswith(f"⚠️ 超时督办:{number}\n承办部门:城乡建设委员会")
    group_escalation = next_in_group(stack, before + 4)
    assert group_escalation.plain_text == escalation.plain_text
    assert _overdue(stack, number) == 0
    time.sleep(7)  # more than one run of the scheduler's duty-messages job
    assert len(api.messages(qian.id)) == 2
    assert len(api.messages(GROUP)) == before + 5
    inbox = desk_inbox(stack, "duty-qian")
    assert number in inbox and "已上报负责人督办" in inbox


def _overdue(stack: Stack, number: str) -> int:
    """What the scheduler's overdue check does, with the ticket's due time moved back."""
    with stack.writer() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.due_at = utcnow() - timedelta(hours=1)
        flagged = flag_overdue(session=session)
        session.commit()
        return flagged
