"""The whole loop with a person at each end: a citizen complains on Telegram (Bot API
stand-in, real Rasa), an agency officer works the ticket in the desk in a real Chromium,
the citizen hears each update once, says "Not yet", the officer reports it fixed again,
the citizen says "Solved" and rates it, and the ticket closes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from civic.agencies import create_user
from civic.settings import PROJECT_ROOT
from storage.models import Ticket
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, unavailable
from tests.e2e.conftest import Stack, TelegramUser, file_complaint, titles

pytestmark = pytest.mark.e2e

PASSWORD = "officer password 2026"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


@pytest.fixture
def browser() -> Any:
    if not CHROMIUM.is_file():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def officer_for(stack: Stack, agency: str) -> str:
    with stack.writer() as session:
        create_user(
            session=session,
            username=f"officer-{agency}",
            password=PASSWORD,
            agency=agency,
            role="officer",
            display_name="Officer Zhao",
            known_agencies={agency},
        )
        session.commit()
    return f"officer-{agency}"


def off_loop(call: Callable[[], Any]) -> Any:
    """Run a blocking wait outside Playwright's event loop (which owns this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def next_message(stack: Stack, user: TelegramUser) -> Callable[[], Any]:
    before = len(stack.telegram.messages(user.id))
    return lambda: off_loop(
        lambda: stack.telegram.wait_for_messages(user.id, before + 1, timeout=60)[before]
    )


def test_officer_in_the_desk_and_citizen_on_telegram_close_the_loop(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    citizen = TelegramUser(stack)
    number = off_loop(
        lambda: file_complaint(citizen, "旁边工地半夜还在打桩,吵得根本睡不着", place="桐庐县")
    )
    with stack.db() as session:
        agency = session.scalars(select(Ticket.agency).where(Ticket.number == number)).one()
    assert agency == "construction"
    username = officer_for(stack, agency)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{stack.web_url}/desk/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Ticket {number}")

    accepted = next_message(stack, citizen)
    page.get_by_role("button", name="Accept the ticket").click()
    expect(page.get_by_role("status")).to_have_text("The ticket is accepted.")
    update, page_link = (accepted().text or "").split("\n")
    assert update == f"您反映的问题 {number} 有新进展:已受理。"
    # every update to the reporter ends with the link to their own report page
    assert page_link.startswith("您的诉件页面(查看进展,并可补充信息或照片): http")
    assert f"/my-report/{number}." in page_link

    progress = next_message(stack, citizen)
    page.get_by_role("textbox", name="Progress note (optional)").fill("已约谈施工单位")
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_role("status")).to_have_text("The progress note is saved.")
    assert (progress().text or "").split("\n") == [
        f"您反映的问题 {number} 有新进展:办理中。已约谈施工单位",
        page_link,
    ]

    # The citizen opens their report page from the link and adds a detail for the agency.
    path = page_link[page_link.index("/my-report/") :]
    mine = browser.new_page(viewport={"width": 390, "height": 844})
    mine.goto(f"{stack.web_url}{path}")
    expect(mine.locator("main")).to_contain_text("已约谈施工单位")  # the agency's public note
    mine.get_by_role("textbox", name="补充说明（可不填）").fill("打桩一般从晚上十一点开始")
    mine.get_by_role("button", name="发送给承办部门").click()
    expect(mine.locator("main")).to_contain_text("谢谢，承办部门已能看到您补充的内容。")
    mine.close()
    page.reload()
    expect(page.locator("main")).to_contain_text("Added on the report page")
    expect(page.locator("main")).to_contain_text("打桩一般从晚上十一点开始")

    fixed = next_message(stack, citizen)
    page.get_by_role("textbox", name="What was done (required)").fill("夜间施工已叫停")
    page.get_by_role("button", name="Report it fixed").click()
    expect(page.get_by_role("status")).to_have_text("The rectification is reported.")
    assert fixed().text.startswith(f"{number} 的承办部门报告问题已整改:夜间施工已叫停")
    assert titles(stack.telegram.messages(citizen.id)[-1]) == ["已解决", "还没有"]

    [reopened] = off_loop(lambda: citizen.tap("还没有"))
    assert reopened.text.startswith(f"很抱歉问题还没解决。{number} 已重新打开")

    page.reload()
    expect(page.locator("h1 .status")).to_have_text("Reopened")
    fixed_again = next_message(stack, citizen)
    page.get_by_role("textbox", name="What was done (required)").fill("连续三晚夜查,已无施工")
    page.get_by_role("button", name="Report it fixed").click()
    expect(page.get_by_role("status")).to_have_text("The rectification is reported.")
    assert "连续三晚夜查,已无施工" in fixed_again().text
    page.screenshot(path=str(ARTIFACTS / "desk-loop.png"), full_page=True)

    [ask] = off_loop(lambda: citizen.tap("已解决"))
    assert titles(ask) == ["满意", "基本满意", "不满意"]
    [thanks] = off_loop(lambda: citizen.tap("满意"))
    assert thanks.text == f"感谢您的评价。{number} 已办结。"
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.status, ticket.satisfaction) == ("closed", "satisfied")
    # Each update reached the citizen once: accepted, in progress, fixed, fixed again.
    texts = [m.text for m in stack.telegram.messages(citizen.id)]
    assert sum(text.startswith(f"您反映的问题 {number}") for text in texts) == 2
    assert sum(text.startswith(f"{number} 的承办部门报告问题已整改") for text in texts) == 2
