"""Complaint intake and routing, end to end through Telegram (the Bot API stand-in) with
the real Rasa server and action server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from civic.routing import RoutingDecision
from civic.settings import PROJECT_ROOT
from civic.tickets import create_ticket
from storage.citizens import get_or_create_citizen
from storage.models import Citizen, Ticket, TicketFollower
from tests.e2e.conftest import TICKET_NUMBER, Stack, TelegramUser, file_complaint, titles

pytestmark = pytest.mark.e2e

ZIJINGANG = (30.3005, 120.0795)  # in Xihu
NEAR_ZIJINGANG = (30.3010, 120.0800)  # about 70 m away
SHANGHAI = (31.23, 121.47)


def ticket(stack: Stack, number: str) -> Ticket:
    with stack.db() as session:
        return session.scalars(select(Ticket).where(Ticket.number == number)).one()


def test_chinese_complaint_from_first_message_to_routed_ticket(stack: Stack) -> None:
    user = TelegramUser(stack)
    [where] = user.say("小区门口的垃圾桶满了好几天没人清理")
    assert where.text.startswith("问题在哪里?")
    [photo] = user.say("西湖区文三路")
    assert photo.text == "可以发送一张现场照片(可选)。"
    user.tap("跳过")
    [contact] = user.tap("在本对话中联系我")
    assert contact.text.startswith("请核对您要提交的内容:")
    assert "类别:垃圾清运" in contact.text and "地点:西湖区文三路" in contact.text
    assert titles(contact) == ["确认提交", "修改", "取消"]
    [filed] = user.tap("确认提交")
    assert "承办部门:城市管理局" in filed.text and "所在区域:西湖区" in filed.text
    assert "承诺时限:24 小时内处理" in filed.text
    saved = ticket(stack, TICKET_NUMBER.search(filed.text).group())
    assert (saved.category, saved.agency, saved.district, saved.road, saved.contact) == (
        "garbage-collection",
        "urban-management",
        "xihu",
        "文三路",
        "chat",
    )
    assert saved.routed_by == "nlu" and saved.confidence > 0.55


def test_english_complaint_in_one_message_with_photo_and_phone(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    # District and road are in the message: the assistant skips "where?".
    [photo] = user.say("two street lights flicker all night on Jiangnan Avenue in Binjiang")
    assert photo.text == "You can send a photo of the problem now (optional)."
    [contact] = user.send_photo()
    assert titles(contact) == ["Anonymous", "Contact me in this chat", "Share my phone number"]
    [ask_phone] = user.tap("Share my phone number")
    assert ask_phone.text.startswith("Tap the button below to share your phone number.")
    assert ask_phone.reply_markup["keyboard"][0][0]["request_contact"] is True
    [summary] = user.share_phone("+8613800000000")
    assert "Photo: attached" in summary.text and "Contact: Share my phone number" in summary.text
    assert "Where: Binjiang Jiangnan Avenue" in summary.text.replace("江南大道", "Jiangnan Avenue")
    [filed] = user.tap("Confirm")
    assert "Agency: City Management Bureau" in filed.text and "District: Binjiang" in filed.text
    saved = ticket(stack, TICKET_NUMBER.search(filed.text).group())
    assert (saved.category, saved.district, saved.contact) == ("street-light", "binjiang", "phone")
    assert saved.photo and (Path(stack.var_dir) / "media" / saved.photo).is_file()
    with stack.db() as session:
        owner = session.get(Citizen, saved.citizen_id)
        assert owner.phone == "+8613800000000"
    # The phone number stays in our database: Rasa never saw it.
    assert "+8613800000000" not in stack.rasa_tracker_dump()


def test_location_pin_places_the_ticket(stack: Stack) -> None:
    user = TelegramUser(stack)
    [where] = user.say("人行道上的井盖不见了很危险")
    assert where.reply_markup["keyboard"][0][0]["request_location"] is True
    [photo] = user.share_location(30.2500, 120.1400)
    assert photo.text == "可以发送一张现场照片(可选)。"
    user.tap("跳过")
    user.tap("匿名")
    [filed] = user.tap("确认提交")
    saved = ticket(stack, TICKET_NUMBER.search(filed.text).group())
    assert (saved.category, saved.district, saved.contact) == ("road-damage", "xihu", "anonymous")
    assert (saved.lat, saved.long) == (30.25, 120.14)


def test_a_pin_outside_the_city_gets_a_second_chance(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("a taxi driver refused to take me and then overcharged my friend")
    outside, again = user.share_location(*SHANGHAI, expect=2)
    assert outside.text.startswith("That location is outside Hangzhou.")
    assert again.text.startswith("Where is it?")
    [photo] = user.share_location(30.205, 120.21)
    assert photo.text.startswith("You can send a photo")


def test_unsure_category_offers_the_top_categories(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    [which] = user.say("the water")
    assert which.text == "I am not sure which kind of problem this is. Please pick the closest one:"
    assert titles(which)[-1] == "Other" and "Water outage" in titles(which)
    [where] = user.tap("Water outage")
    assert where.text.startswith("Where is it?")
    user.say("Qiantang district")
    user.tap("Skip")
    [summary] = user.tap("Contact me in this chat")
    assert (
        "Category: Water outage" in summary.text and "Agency: Water Affairs Bureau" in summary.text
    )


def test_a_duplicate_nearby_is_found_and_followed(stack: Stack) -> None:
    first = TelegramUser(stack)
    first.say("附近工厂排放的黑烟很臭")
    first.share_location(*ZIJINGANG)
    first.tap("跳过")
    first.tap("在本对话中联系我")
    number = TICKET_NUMBER.search(first.tap("确认提交")[0].text).group()

    second = TelegramUser(stack)
    second.say("工厂烟囱一直冒黑烟,空气很难闻")
    [offer] = second.share_location(*NEAR_ZIJINGANG)
    # what and where, never the first citizen's own words
    assert offer.text.startswith(f"附近最近已有人反映过类似问题:{number}(环境污染,西湖区,")
    assert "黑烟很臭" not in offer.text
    assert titles(offer) == ["关注这条工单", "另行提交"]
    [followed] = second.tap("关注这条工单")
    assert followed.text == f"您已关注工单 {number},办理进展会同时通知您。"
    with stack.db() as session:
        followers = session.scalars(select(TicketFollower)).all()
        assert ticket(stack, number).id in {f.ticket_id for f in followers}
        assert (
            session.scalars(select(Ticket).where(Ticket.category == "pollution")).all().__len__()
            == 1
        )
    [mine] = second.say("我的工单")
    assert number in mine.text


def test_cancel_in_the_middle_files_nothing(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("楼上邻居半夜还在蹦迪太吵了")
    [cancelled] = user.say("取消")
    assert cancelled.text == "已取消,这条反映没有提交。"
    [status] = user.say("我的工单")
    assert status.text.startswith("您还没有反映过问题")


def test_edit_an_answer_before_confirming(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("a restaurant on my street sold us spoiled meat")
    user.say("Gongshu")
    user.tap("Skip")
    user.tap("Anonymous")
    [fields] = user.tap("Edit")
    assert titles(fields) == ["The problem", "Category", "Place", "Photo", "Contact"]
    [where] = user.tap("Place")
    assert where.text.startswith("Where is it?")
    [summary] = user.say("Yuhang district")
    assert "Where: Yuhang district" in summary.text and "Category: Food safety" in summary.text
    [filed] = user.tap("Confirm")
    assert ticket(stack, TICKET_NUMBER.search(filed.text).group()).district == "yuhang"


def test_switch_language_in_the_middle_of_a_report(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("公司拖欠工资三个月了")
    switched, where = user.say("English please", expect=2)
    assert switched.text == "Switched to English."
    assert where.text.startswith("Where is it?")


def test_file_complaint_helper_routes_english(stack: Stack) -> None:
    number = file_complaint(
        TelegramUser(stack, language_code="en"),
        "the school refuses to enroll my daughter though we live in the district",
        place="Fuyang",
        lang="en",
    )
    assert (ticket(stack, number).category, ticket(stack, number).agency) == (
        "school-enrollment",
        "education",
    )


def test_a_broken_profile_file_gives_a_clear_error(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    shutil.copytree(PROJECT_ROOT / "profiles" / "hangzhou", profiles / "hangzhou")
    categories = profiles / "hangzhou" / "categories.yml"
    categories.write_text(
        categories.read_text(encoding="utf-8").replace(
            "agency: urban-management", "agency: urban-managment", 1
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "CIVIC_PROFILES_DIR": str(profiles), "CIVIC_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        f"city profile error: {categories}: category 'garbage-collection': unknown agency "
        "'urban-managment'" in result.stdout
    )


def test_the_eleventh_report_of_the_day_is_refused_and_not_filed(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("hello")
    with stack.writer() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address=str(user.id))
        for _ in range(10):  # ten reports today already (filed directly: it is quicker)
            create_ticket(
                session=session,
                citizen_id=citizen.id,
                description="street light out",
                language="en",
                decision=RoutingDecision("street-light", "urban-management", "binjiang", 0.9),
                ticket_prefix="HZ",
                due_at=None,
            )
        session.commit()
        citizen_id = citizen.id
    # a place no other test reports a street light in, so no duplicate is offered
    user.say("two street lights flicker all night")
    user.say("Jiande")
    user.tap("Skip")
    user.tap("Contact me in this chat")
    [refused] = user.tap("Confirm")
    assert refused.text == (
        "You have already filed 10 reports today, the most one person can file in a day, so "
        "this one was not filed. Please send it again tomorrow, or call the city hotline 12345."
    )
    with stack.db() as session:
        filed = session.scalars(select(Ticket).where(Ticket.citizen_id == citizen_id)).all()
        assert len(filed) == 10
    # the conversation goes on as usual
    [mine] = user.say("my tickets")
    assert mine.text.startswith("Your reports:")


def test_a_photo_with_its_caption_is_one_complaint_message(stack: Stack) -> None:
    """The caption describes the problem and the place; the photo comes with it, so the
    photo question is skipped and the summary shows the photo attached."""
    user = TelegramUser(stack, language_code="en")
    # a place and a problem no other test reports, so no duplicate is offered
    [contact] = user.send_photo(caption="the street light on Desheng Road in Gongshu is broken")
    assert titles(contact) == ["Anonymous", "Contact me in this chat", "Share my phone number"]
    [summary] = user.tap("Contact me in this chat")
    assert "Photo: attached" in summary.text
