"""The improvement-notice loop end to end, over two years of generated complaints and on
the running stack (real Rasa, gateway, web app, scheduler, campaign sender):

complaints about registration queues at the Health Commission double from 2025 to 2026
→ the desk's trend page shows the rise as significant → the rule proposes a notice →
the evaluation office issues it in Chromium → the Health Commission's coordinator
commits with milestones and reports rectification → the office verifies → each linked
citizen hears of each step once, on Telegram (Bot API stand-in) and in the web chat, and
answers with one tap → the public notice page shows the whole history and the answers.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from civic.agencies import create_user
from civic.notices import FOLLOWUP_SURVEY
from storage.models import Campaign, Citizen, Invitation, Notice, NoticeLink, Ticket
from tests.e2e.conftest import Stack, TelegramUser, file_complaint, titles
from tests.e2e.test_desk_loop import ARTIFACTS, browser, off_loop  # noqa: F401
from tests.e2e.test_surveys import send_now
from tests.e2e.test_verify import button, web_chat
from tests.web_chat import new_session

pytestmark = pytest.mark.e2e

PASSWORD = "evaluation office 2026"
REGISTRATION = [
    "医院挂号排队排了三个小时",
    "专家号挂号太难了，天天抢不到",
    "挂号窗口只开两个，队伍排到门外",
    "早上六点去排队挂号还是没挂上",
    "网上挂号一放号就没了",
]
OTHER_HEALTH = [
    "做核磁要等两个月才排得上",
    "医院停车场太小，车开不进去",
    "医生看病太匆忙，问两句就开药",
    "医院厕所很脏没人打扫",
]
COMMITMENT = "一季度起专家号源增加三成，开通分时段预约"
YEARS = {2025: (40, 360), 2026: (80, 320)}  # registration, other health comments


def generate_two_years(stack: Stack) -> None:
    """Health Commission complaints over 2025 and 2026 (to November) from citizens who
    left no way to reach them: registration queues 40 of 400 in 2025, 80 of 400 in 2026."""
    rng = random.Random(2026)
    with stack.writer() as session:
        for year, (registration, other) in YEARS.items():
            texts = [rng.choice(REGISTRATION) for _ in range(registration)]
            texts += [rng.choice(OTHER_HEALTH) for _ in range(other)]
            for i, text in enumerate(texts):
                citizen = Citizen(public_id=f"gen-{year}-{i}", language="zh")
                session.add(citizen)
                session.flush()
                session.add(
                    Ticket(
                        citizen_id=citizen.id,
                        description=f"{text}（第{i}次）",
                        language="zh",
                        category="hospital-service",
                        agency="health",
                        district=rng.choice(["shangcheng", "xihu", "gongshu"]),
                        status="closed",
                        created_at=datetime(year, 1 + i % 11, 1 + i % 28, 2, tzinfo=UTC),
                    )
                )
        session.commit()


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def desk_user(stack: Stack, username: str, agency: str | None, role: str) -> str:
    with stack.writer() as session:
        create_user(
            session=session,
            username=username,
            password=PASSWORD,
            agency=agency,
            role=role,
            display_name=username.title(),
            known_agencies={"health"},
        )
        session.commit()
    return username


def sign_in(browser: Any, stack: Stack, username: str) -> Any:  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{stack.web_url}/desk/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    return page


def web_complaint(web: httpx.Client) -> str:
    """A citizen of the website's chat files a registration complaint in English."""
    token = new_session(web)
    web_chat(web, token, text="I queued four hours just to register at the hospital")
    place = web_chat(web, token, text="Shangcheng District")
    contact = web_chat(web, token, payload=button(place, "Skip"))
    confirm = web_chat(web, token, payload=button(contact, "Contact me in this chat"))
    [filed] = web_chat(web, token, payload=button(confirm, "Confirm"))
    assert "HZ-" in filed["text"], filed
    return token


def open_window_and_send(stack: Stack) -> None:
    """The follow-ups go out inside the campaign's send window (09:00-20:00 by default);
    the test opens it all day, as the survey tests choose theirs, and sends."""
    with stack.writer() as session:
        session.execute(
            update(Campaign)
            .where(Campaign.survey_key == FOLLOWUP_SURVEY)
            .values(window_start="00:00", window_end="24:00")
        )
        session.commit()
    send_now(stack)


def follow_ups_on_telegram(stack: Stack, user: TelegramUser, count: int) -> list[Any]:
    """The user's messages with the one-tap answers, once `count` have arrived."""
    deadline = time.monotonic() + 90
    while True:
        found = [m for m in stack.telegram.messages(user.id) if "好多了" in titles(m)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def follow_ups_on_the_web(web: httpx.Client, token: str) -> list[dict[str, Any]]:
    response = web.post("/api/chat/updates", json={"token": token})
    assert response.status_code == 200, response.text
    return [m for m in response.json()["messages"] if m.get("buttons")]


def test_a_doubled_problem_becomes_a_verified_notice_its_citizens_follow(
    stack: Stack,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    generate_two_years(stack)
    on_telegram = TelegramUser(stack)
    number = off_loop(
        lambda: file_complaint(on_telegram, "在医院挂号排队排了三个小时还没挂上号", place="上城区")
    )
    with httpx.Client(base_url=stack.web_url, timeout=60) as web:
        on_the_web = off_loop(lambda: web_complaint(web))
    with stack.db() as session:
        routed = session.scalars(select(Ticket.agency).where(Ticket.number == number)).one()
    assert routed == "health"
    off_loop(lambda: _civicbot(stack, "opinion", "collect"))

    # the office sees the rise on the trend page
    office = sign_in(browser, stack, desk_user(stack, "office", None, "staff"))
    office.goto(f"{stack.web_url}/desk/opinion/trends?year=2026&agency=health&lang=en")
    row = office.locator("table.top-problems #top-hospital-registration")
    expect(row).to_contain_text("Yes, significant")
    office.screenshot(path=str(ARTIFACTS / "notice-loop-trends-en.png"), full_page=True)

    # the rule proposes exactly one notice: hospital registration at the Health Commission
    proposed = off_loop(lambda: _civicbot(stack, "notices", "propose", "--year", "2026"))
    with stack.db() as session:
        [notice] = session.scalars(select(Notice).where(Notice.agency == "health")).all()
        assert (notice.subject, notice.status) == ("hospital-registration", "proposed")
        evidence = json.loads(notice.evidence)
    assert notice.number in proposed
    assert evidence["count"] >= 80 and evidence["last_count"] == 40
    numbered = notice.number

    # the office issues it in Chromium
    office.goto(f"{stack.web_url}/desk/notices?lang=en")
    office.get_by_role("link", name=f"Open notice {numbered}").click()
    office.get_by_label("The problem, in Chinese").fill(
        "挂号排队的投诉比上年翻了一番，请提出整改方案"
    )
    office.get_by_label("The problem, in English").fill(
        "Complaints about registration queues doubled on last year; please plan a fix"
    )
    office.get_by_label("Answer by (date)").fill(
        (datetime.now(UTC) + timedelta(days=15)).date().isoformat()
    )
    office.get_by_role("button", name="Issue notice").click()
    expect(office.locator("p.flash")).to_have_text("The notice is issued.")

    # the Health Commission's coordinator commits publicly, with two milestones
    coordinator = sign_in(browser, stack, desk_user(stack, "health.coord", "health", "coordinator"))
    coordinator.goto(f"{stack.web_url}/desk/notices?lang=en")
    coordinator.get_by_role("link", name=f"Open notice {numbered}").click()
    coordinator.get_by_label("Public commitment, in Chinese").fill(
        "一季度起专家号源增加三成，开通分时段预约"
    )
    coordinator.get_by_label("Public commitment, in English").fill(
        "A third more specialist slots from the first quarter, and booking by time slot"
    )
    for i, (zh, en, days) in enumerate(
        [("增加线上号源", "More slots online", 30), ("分时段预约上线", "Time-slot booking", 90)],
        start=1,
    ):
        coordinator.locator(f"#m{i}-zh").fill(zh)
        coordinator.locator(f"#m{i}-en").fill(en)
        coordinator.locator(f"#m{i}-due").fill(in_days(days))
    coordinator.get_by_role("button", name="Publish the commitment").click()
    expect(coordinator.locator("p.flash")).to_have_text("The commitment is published.")

    # the linked citizens hear of the commitment once and answer with one tap
    off_loop(lambda: open_window_and_send(stack))
    [told] = off_loop(lambda: follow_ups_on_telegram(stack, on_telegram, 1))
    assert "挂号排队时间长" in told.text and "一季度起专家号源增加三成" in told.text
    assert titles(told) == ["好多了", "没有变化", "更差了"]
    [thanks] = off_loop(lambda: on_telegram.tap("没有变化"))
    assert thanks.text.startswith("谢谢，已记下")
    with httpx.Client(base_url=stack.web_url, timeout=60) as web:
        [on_web] = follow_ups_on_the_web(web, on_the_web)
        assert on_web["text"].startswith('You told us about "Long waits for registration"')
        [noted] = web_chat(web, on_the_web, payload=button([on_web], "No change"))
        assert noted["text"].startswith("Thank you, noted.")

    # the coordinator reports rectification; the office verifies it
    coordinator.reload()
    coordinator.locator("#rectified-note_zh").fill("线上号源增加三成，分时段预约已上线")
    coordinator.locator("#rectified-note_en").fill(
        "A third more slots online; time-slot booking live"
    )
    coordinator.get_by_role("button", name="Report rectified").click()
    expect(coordinator.locator("p.flash")).to_have_text(
        "The rectification is reported; the office will verify it."
    )
    office.goto(f"{stack.web_url}/desk/notices?lang=en")
    office.get_by_role("link", name=f"Open notice {numbered}").click()
    office.get_by_role("button", name="Verify and close").click()
    expect(office.locator("#notice-status")).to_have_text("Verified and closed")

    # each hears of the verification once more, and answers again
    off_loop(lambda: open_window_and_send(stack))
    both = off_loop(lambda: follow_ups_on_telegram(stack, on_telegram, 2))
    assert len(both) == 2 and "已核实" in both[1].text
    [thanks] = off_loop(lambda: on_telegram.tap("好多了"))
    assert thanks.text.startswith("谢谢，您的回答已记入")
    with httpx.Client(base_url=stack.web_url, timeout=60) as web:
        [verified] = follow_ups_on_the_web(web, on_the_web)
        assert "has verified it" in verified["text"]
        web_chat(web, on_the_web, payload=button([verified], "Better now"))
        off_loop(lambda: send_now(stack))
        assert follow_ups_on_the_web(web, on_the_web) == []  # once per stage
    assert len(follow_ups_on_telegram(stack, on_telegram, 3)) == 2

    with stack.db() as session:
        answers = {
            (link.committed_answer, link.verified_answer)
            for link in session.scalars(
                select(NoticeLink).where(
                    NoticeLink.notice_id == notice.id, NoticeLink.committed_answer.is_not(None)
                )
            )
        }
        reachable = session.scalars(
            select(Invitation.channel)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .where(Campaign.survey_key == FOLLOWUP_SURVEY)
        ).all()
    assert answers == {("same", "better")}
    assert sorted(reachable) == ["telegram", "telegram", "web", "web"]

    # the public page tells the whole story, without names or comments
    public = browser.new_page(viewport={"width": 1280, "height": 900})
    public.goto(f"{stack.web_url}/notices/{numbered}?lang=en")
    main = public.get_by_role("main")
    for step in ("Notice issued", "Commitment published", "Reported rectified", "Verified"):
        expect(main).to_contain_text(step)
    expect(main).to_contain_text("A third more specialist slots from the first quarter")
    expect(main).to_contain_text("Time-slot booking")
    expect(main).to_contain_text("Complaints about registration queues doubled")
    chart = public.get_by_role(
        "img", name="Comments about “Long waits for registration” per month, 2026"
    )
    expect(chart).to_be_visible()
    answers = main.locator("table").last
    expect(answers.locator("tbody tr").first).to_contain_text("2 (100.0%)")
    expect(answers.locator("tbody tr").last).to_contain_text("2 (100.0%)")
    assert "Office" not in main.inner_text() and "Health.Coord" not in main.inner_text()
    assert "挂号排队排了三个小时" not in public.content()
    public.screenshot(path=str(ARTIFACTS / "notice-loop-public-en.png"), full_page=True)


def _civicbot(stack: Stack, *args: str) -> str:
    from tests.e2e.test_surveys import civicbot

    return civicbot(stack, *args).stdout
