"""The opinion topics in a real browser: the evaluation office signs in, groups the
uncoded comments into topics, reads each topic's terms in both languages and its sample
comments, renames one, accepts it as a code and splits the other, in English and in
Chinese, on a desktop and on a phone; axe-core finds no accessibility violation.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from civic.agencies import create_user
from civic.city import Profile
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN, PASSWORD
from tests.civic.opinion.test_topics import GARBAGE, LIGHTS, _add

if TYPE_CHECKING:
    from playwright.sync_api import Page

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TOPICS = "/desk/opinion/topics"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def office(site: Site, profile: Profile) -> Site:
    """The evaluation office's Zhang, and twenty uncoded comments on two problems."""
    with site.sessions.begin() as session:
        create_user(
            session=session,
            username="zhang",
            password=PASSWORD,
            agency=None,
            role="staff",
            display_name="Zhang Min",
            known_agencies=set(profile.agencies),
        )
        _add(session, GARBAGE + LIGHTS)
    return site


def _sign_in(page: Page, site: Site, lang: str = "en") -> None:
    page.goto(f"{site.url}/desk/login?lang={lang}")
    page.get_by_label("Username" if lang == "en" else "用户名").fill("zhang")
    page.get_by_label("Password" if lang == "en" else "密码").fill(PASSWORD)
    page.get_by_role("button", name="Sign in" if lang == "en" else "登录").click()


def _group(page: Page, site: Site) -> None:
    page.goto(f"{site.url}{TOPICS}?lang=en")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("Number of topics").fill("2")
    page.get_by_role("button", name="Group", exact=True).click()
    expect(page.locator("p.flash")).to_have_text("The comments were grouped.")


def test_the_office_groups_renames_accepts_and_splits(
    chromium: Any, office: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    _sign_in(page, office)
    page.get_by_role("link", name="Public opinion").click()
    page.get_by_role("link", name="Topics", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Topics of the uncoded comments")
    expect(page.locator("p.empty")).to_have_text("No grouping yet.")
    _group(page, office)
    topics = page.locator("section.topic")
    expect(topics).to_have_count(2)
    garbage = topics.filter(has_text="垃圾")
    expect(garbage.locator("dd.terms-en")).to_contain_text("garbage")
    expect(garbage.locator("ul.samples li")).to_have_count(3)
    lights = topics.filter(has_text="路灯")
    expect(lights.locator("dd.terms-en")).to_contain_text("street")
    page.screenshot(path=str(artifacts / "opinion-topics-en.png"), full_page=True)

    garbage.get_by_label("Label (Chinese)").fill("垃圾清运")
    garbage.get_by_label("Label (English)").fill("Garbage collection")
    garbage.get_by_role("button", name="Rename").click()
    expect(page.locator("p.flash")).to_have_text("The topic was renamed.")
    garbage = page.locator("section.topic").filter(has_text="Garbage collection")
    garbage.get_by_label("Code").select_option("uncollected-garbage")
    garbage.get_by_role("button", name="Accept").click()
    expect(page.locator("p.flash")).to_have_text("The topic was accepted as a code.")
    expect(page.locator("p.accepted")).to_have_text("Accepted as Uncollected garbage")

    page.locator("section.topic").filter(has_text="路灯").get_by_role(
        "button", name="Split in two"
    ).click()
    expect(page.locator("p.flash")).to_have_text("The topic was split in two.")
    expect(page.locator("section.topic")).to_have_count(3)

    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("未编码意见的主题")
    expect(page.locator("section.topic h2").first).to_contain_text("垃圾清运")
    page.screenshot(path=str(artifacts / "opinion-topics-zh.png"), full_page=True)


def test_bad_input_is_said_on_the_page(chromium: Any, office: Site) -> None:
    page = chromium.new_page(locale="en-GB")
    _sign_in(page, office)
    page.goto(f"{office.url}{TOPICS}?lang=en")
    page.get_by_label("Number of topics").fill("many")
    page.get_by_role("button", name="Group", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "The number of topics must be a whole number between 2 and 100."
    )


def test_on_a_phone_nothing_spills_sideways(chromium: Any, office: Site, artifacts: Path) -> None:
    page = chromium.new_page(viewport=PHONE, locale="zh-CN")
    _sign_in(page, office, "en")
    _group(page, office)
    page.goto(f"{office.url}{TOPICS}?lang=zh")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "opinion-topics-phone-zh.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_accessibility_violations(chromium: Any, office: Site, lang: str) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    # The desk forbids every script; axe is let in only to inspect the page.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, office)
    found = {}
    page.goto(f"{office.url}{TOPICS}?lang={lang}")
    page.add_script_tag(path=str(AXE))
    found["empty"] = page.evaluate(AXE_RUN)
    _group(page, office)
    page.goto(f"{office.url}{TOPICS}?lang={lang}")
    page.add_script_tag(path=str(AXE))
    found["topics"] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {"empty": [], "topics": []}
