"""An improvement notice worked through in a real browser: the evaluation office issues
the proposal (hospital registration doubled at the Health Commission), the agency's
coordinator commits with two milestones and reports rectification, the office verifies;
on a phone nothing spills sideways; axe-core finds no accessibility violation on the list
or the notice, for the office and the coordinator. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from civic.agencies import create_user
from civic.city import Profile
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN, PASSWORD, PHONE
from tests.civic.notices.support import proposed_notice

with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
NUMBER = "GZ-2026-001"


@pytest.fixture
def notice_site(site: Site, profile: Profile) -> Iterator[tuple[Site, int]]:
    with site.sessions.begin() as session:
        for username, agency, role in [
            ("office", None, "staff"),
            ("health.coord", "health", "coordinator"),
        ]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
    with site.sessions() as session:
        notice_id = proposed_notice(session, profile).id
    yield site, notice_id


def _sign_in(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/desk/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    page.get_by_role("link", name="Improvement notices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Improvement notices")


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_issue_commit_rectify_and_verify(
    chromium: Any, notice_site: tuple[Site, int], artifacts: Path
) -> None:
    site, _ = notice_site
    office = chromium.new_page(viewport=DESKTOP)
    _sign_in(office, site, "office")
    office.get_by_role("link", name=f"Open notice {NUMBER}").click()
    expect(office.get_by_role("heading", level=1)).to_have_text(f"Notice {NUMBER}")
    expect(office.locator("svg[role=img] > title")).to_have_text("Comments per month, 2026")
    expect(office.locator("ul.samples li")).to_have_count(5)
    office.get_by_label("The problem, in Chinese").fill("挂号排队投诉翻倍，请提出整改方案")
    office.get_by_label("The problem, in English").fill(
        "Complaints about registration queues doubled; please plan a rectification"
    )
    office.get_by_label("Answer by (date)").fill(_in(15))
    office.screenshot(path=str(artifacts / "notices-proposal-en.png"), full_page=True)
    office.get_by_role("button", name="Issue notice").click()
    expect(office.locator("p.flash")).to_have_text("The notice is issued.")
    expect(office.locator("#notice-status")).to_have_text("Issued, awaiting the agency's answer")

    coordinator = chromium.new_page(viewport=DESKTOP)
    _sign_in(coordinator, site, "health.coord")
    coordinator.get_by_role("link", name=f"Open notice {NUMBER}").click()
    coordinator.get_by_label("Public commitment, in Chinese").fill("年内缩短挂号排队时间")
    coordinator.get_by_label("Public commitment, in English").fill(
        "Shorter registration queues within the year"
    )
    for i, (zh, en, days) in enumerate(
        [("增加线上号源", "More appointments online", 30), ("自助机缴费", "Pay by machine", 90)],
        start=1,
    ):
        coordinator.locator(f"#m{i}-zh").fill(zh)
        coordinator.locator(f"#m{i}-en").fill(en)
        coordinator.locator(f"#m{i}-due").fill(_in(days))
    coordinator.get_by_role("button", name="Publish the commitment").click()
    expect(coordinator.locator("p.flash")).to_have_text("The commitment is published.")
    expect(coordinator.locator("table.inbox").nth(1).locator("tbody tr")).to_have_count(2)
    coordinator.locator("#rectified-note_zh").fill("线上号源增加三成，自助机已启用")
    coordinator.locator("#rectified-note_en").fill("A third more online; machines running")
    coordinator.get_by_role("button", name="Report rectified").click()
    expect(coordinator.locator("p.flash")).to_have_text(
        "The rectification is reported; the office will verify it."
    )
    coordinator.screenshot(path=str(artifacts / "notices-rectified-en.png"), full_page=True)

    office.reload()
    office.get_by_role("button", name="Verify and close").click()
    expect(office.locator("#notice-status")).to_have_text("Verified and closed")
    expect(office.locator("table.history tbody tr")).to_have_count(5)
    office.screenshot(path=str(artifacts / "notices-verified-en.png"), full_page=True)


def test_on_a_phone_nothing_spills_sideways(
    chromium: Any, notice_site: tuple[Site, int], artifacts: Path
) -> None:
    site, notice_id = notice_site
    page = chromium.new_page(viewport=PHONE, locale="zh-CN")
    _sign_in(page, site, "office")
    page.goto(f"{site.url}/desk/notices/{notice_id}?lang=zh")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"通知 {NUMBER}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "notices-proposal-phone-zh.png"), full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_accessibility_violations(
    chromium: Any, notice_site: tuple[Site, int], viewport: dict[str, int]
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    site, notice_id = notice_site
    found = {}
    for username in ("office", "health.coord"):
        # The desk forbids every script; axe is let in only to inspect the pages.
        context = chromium.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        _sign_in(page, site, username)
        if username == "office":
            page.goto(f"{site.url}/desk/notices/{notice_id}")
            page.get_by_label("The problem, in Chinese").fill("挂号排队投诉翻倍")
            page.get_by_label("The problem, in English").fill("Registration complaints doubled")
            page.get_by_label("Answer by (date)").fill(_in(15))
            page.get_by_role("button", name="Issue notice").click()
        for path in [
            "/desk/notices",
            f"/desk/notices/{notice_id}",
            f"/desk/notices/{notice_id}?lang=zh",
        ]:
            page.goto(site.url + path)
            page.add_script_tag(path=str(AXE))
            found[f"{username} {path}"] = page.evaluate(AXE_RUN)
        context.close()
    assert found == {path: [] for path in found}
