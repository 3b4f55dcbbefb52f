"""Everything a citizen says that is not a complaint, through the real stack (Rasa, the
action server, the web app) on Telegram and in the web chat, in both languages:
out-of-scope questions answered honestly, status by free phrasing and by number (another
citizen's number shows nothing), praise recorded and on the agency's desk, a suggestion
in the agency's suggestions inbox, and handoff by free phrasing."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from civic.agencies import create_user
from civic.i18n import t
from storage.models import Feedback, Handoff, Ticket
from tests.bot.web.desk.test_router import PASSWORD
from tests.e2e.conftest import (
    CONFIRM,
    CONTACT_CHAT,
    SKIP,
    TICKET_NUMBER,
    Stack,
    TelegramUser,
    file_complaint,
    titles,
)
from tests.web_chat import new_session, say

pytestmark = pytest.mark.e2e


def _desk(stack: Stack, username: str, agency: str | None) -> httpx.Client:
    with stack.writer() as session:
        create_user(
            session=session,
            username=username,
            password=PASSWORD,
            agency=agency,
            role="officer" if agency else "staff",
            display_name=username,
            known_agencies={agency} if agency else set(),
        )
        session.commit()
    client = httpx.Client(base_url=stack.web_url, timeout=60, headers={"Accept-Language": "en"})
    form = client.get("/desk/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    signed = client.post(
        "/desk/login",
        data={"csrf": csrf.group(1), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return client


def test_out_of_scope_is_answered_honestly_on_telegram_and_the_web(
    stack: Stack, web: httpx.Client
) -> None:
    [zh] = TelegramUser(stack).say("明天杭州天气怎么样啊")
    assert zh.text == t("conversation.out_of_scope", "zh")
    replies = say(web, new_session(web), "can you book me a table for two tonight")
    assert replies[0]["text"] == t("conversation.out_of_scope", "en")
    assert [b["payload"] for b in replies[0]["buttons"]][:2] == ["/report_problem", "/check_status"]


def _tap(web: httpx.Client, token: str, replies: list[dict], title: str) -> list[dict]:
    """Tap the button titled `title` among `replies`, as the widget sends it."""
    payloads = [b["payload"] for r in replies for b in r["buttons"] if b["title"] == title]
    assert payloads, (title, replies)
    response = web.post("/api/chat", json={"token": token, "payload": payloads[0]})
    assert response.status_code == 200, response.text
    messages: list[dict] = response.json()["messages"]
    return messages


def _web_complaint(web: httpx.Client, token: str, text: str, place: str) -> str:
    """File a complaint in Chinese through the web chat; returns its number."""
    say(web, token, text)
    asked = say(web, token, place)
    contact = _tap(web, token, asked, SKIP["zh"])
    confirm = _tap(web, token, contact, CONTACT_CHAT["zh"])
    [filed] = _tap(web, token, confirm, CONFIRM["zh"])
    number = TICKET_NUMBER.search(filed["text"])
    assert number, filed
    return number.group()


def test_the_rest_of_the_conversation_in_chinese_in_the_web_chat(
    stack: Stack, web: httpx.Client
) -> None:
    """Each behaviour the other tests show in one channel and language, here in Chinese
    in the web chat: out of scope, status by free words and by number, praise,
    suggestion and handoff."""
    [hotel] = say(web, new_session(web), "周末去千岛湖玩 帮我订个酒店")
    assert hotel["text"] == t("conversation.out_of_scope", "zh")
    token = new_session(web)
    own = _web_complaint(web, token, "我家门口的路灯不亮好几天了", "拱墅区")
    theirs = file_complaint(TelegramUser(stack), "小区垃圾堆了好几天没人清运", place="上城区")
    [listed] = say(web, token, "帮我查查我之前反映的问题")
    assert own in listed["text"] and theirs not in listed["text"]
    [one] = say(web, token, f"{own}现在处理到哪一步了")
    assert one["text"].startswith(f"您反映的问题 {own}")
    [refused] = say(web, token, f"{theirs}怎么样了")
    assert refused["text"] == t("tickets_lookup.not_yours", "zh", number=theirs)
    assert "垃圾" not in refused["text"]
    [praise] = say(web, new_session(web), "交警同志早高峰在路口指挥交通辛苦了，给你们点赞")
    assert praise["text"] == t("feedback.praise_thanks", "zh", agency="公安交警支队")
    [idea] = say(web, new_session(web), "建议社保中心的办事大厅推出网上取号")
    assert idea["text"] == t("feedback.suggestion_thanks", "zh", agency="人力资源和社会保障局")
    [person] = say(web, new_session(web), "我想找个真人客服聊聊")
    assert person["text"].startswith(t("handoff.queued_open", "zh")[:10]) or person[
        "text"
    ].startswith(t("handoff.queued_closed", "zh", when="")[:10])
    with stack.db() as session:
        kinds = {
            (f.kind, f.agency)
            for f in session.scalars(select(Feedback).where(Feedback.language == "zh"))
        }
    assert {("praise", "traffic-police"), ("suggestion", "human-resources")} <= kinds


def test_the_rest_of_the_conversation_in_english_on_telegram(stack: Stack) -> None:
    """The same in English on Telegram: out of scope, praise, suggestion and handoff
    (status in English on Telegram is the test above)."""
    [joke] = TelegramUser(stack, language_code="en").say("tell me a funny joke pls")
    assert joke.text == t("conversation.out_of_scope", "en")
    [praise] = TelegramUser(stack, language_code="en").say(
        "big thanks to the water bureau team, they fixed our burst pipe in an hour"
    )
    assert praise.text == t("feedback.praise_thanks", "en", agency="Water Affairs Bureau")
    [idea] = TelegramUser(stack, language_code="en").say(
        "would be great if the city management bureau put more bike parking near metro exits"
    )
    assert idea.text == t("feedback.suggestion_thanks", "en", agency="City Management Bureau")
    [person] = TelegramUser(stack, language_code="en").say("i need a human, not a bot")
    assert person.text.startswith(t("handoff.queued_open", "en")[:20]) or person.text.startswith(
        t("handoff.queued_closed", "en", when="")[:20]
    )


def test_status_in_free_words_and_by_number_shows_only_ones_own(stack: Stack) -> None:
    citizen, other = TelegramUser(stack), TelegramUser(stack)
    own = file_complaint(citizen, "小区门口的路灯坏了一个星期了", place="临平区")
    theirs = file_complaint(other, "楼下的垃圾三天没人收了", place="余杭区")
    [listed] = citizen.say("我想查一下我上次反映的问题怎么样了")
    assert own in listed.text and theirs not in listed.text
    [one] = citizen.say(f"{own} 现在怎么样了")
    assert one.text.startswith(f"您反映的问题 {own}")
    [refused] = citizen.say(f"{theirs} 处理得怎么样")
    assert refused.text == t("tickets_lookup.not_yours", "zh", number=theirs)


def test_status_in_english_by_description_and_number_and_in_the_web_chat(
    stack: Stack, web: httpx.Client
) -> None:
    citizen = TelegramUser(stack, language_code="en")
    light = file_complaint(
        citizen,
        "the street light outside no 5 has been dark for a week",
        place="Binjiang district",
        lang="en",
    )
    bins = file_complaint(
        citizen,
        "nobody has emptied the bins in our compound for 4 days",
        place="Xihu district",
        lang="en",
    )
    [described] = citizen.say("any news on my street light report?")
    assert light in described.text and bins not in described.text
    [one] = citizen.say(f"what's happening with {bins}")
    assert one.text.startswith(
        t("tickets_lookup.one", "en", number=bins, category="", status="")[:12]
    )
    assert bins in one.text and light not in one.text
    [refused] = TelegramUser(stack, language_code="en").say(f"status of {light} please")
    assert refused.text == t("tickets_lookup.not_yours", "en", number=light)
    replies = say(web, new_session(web), "where are things with my pothole report")
    assert replies[0]["text"] == t("tickets.none", "en")


def test_praise_is_recorded_thanked_and_on_the_agencys_desk(
    stack: Stack, web: httpx.Client
) -> None:
    [thanks] = TelegramUser(stack).say("表扬一下水务局的师傅，抢修得特别快，点赞")
    assert thanks.text == t("feedback.praise_thanks", "zh", agency="水务局")
    replies = say(
        web,
        new_session(web),
        "the traffic police at the west lake junction were so helpful today, well done",
    )
    assert replies[0]["text"] == t("feedback.praise_thanks", "en", agency="Traffic Police")
    with stack.db() as session:
        praise = session.scalars(select(Feedback).where(Feedback.kind == "praise")).all()
        tickets = session.scalars(select(Ticket).where(Ticket.description.contains("抢修"))).all()
        handoffs = session.scalars(select(Handoff)).all()
    assert {p.agency for p in praise} >= {"water", "traffic-police"}
    assert tickets == [] and all("抢修" not in str(h) for h in handoffs)
    page = _desk(stack, "praise-reader", "water").get("/desk/praise")
    assert page.status_code == 200 and "抢修得特别快" in page.text
    assert "west lake junction" not in page.text  # another agency's praise


def test_a_suggestion_reaches_the_agencys_suggestions_inbox(
    stack: Stack, web: httpx.Client
) -> None:
    replies = say(
        web,
        new_session(web),
        "it would be nice if the social security office had an online queue number",
    )
    assert replies[0]["text"] == t(
        "feedback.suggestion_thanks", "en", agency="Human Resources and Social Security Bureau"
    )
    [zh] = TelegramUser(stack).say("建议城管在地铁站附近多设几个共享单车停放点")
    assert zh.text == t("feedback.suggestion_thanks", "zh", agency="城市管理局")
    inbox = _desk(stack, "suggestion-reader", "human-resources").get("/desk/suggestions")
    assert inbox.status_code == 200 and "online queue number" in inbox.text
    assert "共享单车" not in inbox.text


def test_handoff_by_free_phrasing_in_both_languages(stack: Stack, web: httpx.Client) -> None:
    replies = say(web, new_session(web), "can i speak to someone from your office please")
    assert replies[0]["text"].startswith(t("handoff.queued_open", "en")[:20]) or replies[0][
        "text"
    ].startswith(t("handoff.queued_closed", "en", when="")[:20])
    [zh] = TelegramUser(stack).say("转人工吧，我要跟真人说")
    assert zh.text.startswith(t("handoff.queued_open", "zh")[:10]) or zh.text.startswith(
        t("handoff.queued_closed", "zh", when="")[:10]
    )


def test_a_photo_with_its_caption_is_one_complaint_message(stack: Stack) -> None:
    """The caption describes the problem and the place; the photo comes with it, so the
    photo question is skipped and the summary shows the photo attached."""
    user = TelegramUser(stack, language_code="en")
    [contact] = user.send_photo(
        caption="two street lights flicker all night on Wensan Road in Xihu"
    )
    assert titles(contact) == ["Anonymous", "Contact me in this chat", "Share my phone number"]
    [summary] = user.tap("Contact me in this chat")
    assert "Photo: attached" in summary.text
