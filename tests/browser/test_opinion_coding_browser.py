"""Double coding in a real browser: one of the evaluation office's staff draws a sample
of four comments and codes it in English, a second codes it in Chinese without seeing the
first one's codes, and the sample's page shows the kappa worked out by hand below. Every
coding page passes axe-core, on a desktop and on a phone; screenshots go to
tests/artifacts/.

The primary codes (comments in id order):

    Zhang   noise   noise    parking  bus-frequency
    Li      noise   parking  parking  bus-frequency

p_o = 3/4 = 0.75. Zhang's shares are 2/4, 1/4, 1/4 (noise, parking, bus) and Li's 1/4,
2/4, 1/4, so p_e = (2×1 + 1×2 + 1×1) / 16 = 0.3125 (shown 0.31); kappa = (0.75 − 0.3125)
/ (1 − 0.3125) = 0.4375 / 0.6875 = 0.636 (shown 0.64). SE = sqrt(0.75 × 0.25 / (4 ×
0.6875²)) = 0.3149; 95% interval 0.636 ± 0.617 = 0.02 to 1.00 (cut at 1).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher

from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from storage.models import Comment
from tests.bot.web.desk.test_router import PASSWORD
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

if TYPE_CHECKING:
    from playwright.sync_api import Page
with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TEXTS = [
    "工地夜里一直很吵，睡不着",
    "楼下饭店的风机声音太大",
    "小区门口总是乱停车",
    "公交车等了四十分钟",
]
ZHANG = ["noise", "noise", "parking", "bus-frequency"]
LI = ["noise", "parking", "parking", "bus-frequency"]
SIGN_IN = {"en": ("Username", "Password", "Sign in"), "zh": ("用户名", "密码", "登录")}


@pytest.fixture
def comments(site: Site, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two office staff and four comments with no suggested codes."""
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    with site.sessions.begin() as session:
        for username in ("zhang", "li"):
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=None,
                role="staff",
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
        rows = [
            Comment(
                source="complaint",
                source_id=number,
                agency="urban-management",
                district="xihu",
                created_at=datetime(2026, 4, number, tzinfo=UTC),
                month="2026-04",
                language="zh",
                assurance="verified_phone",
                text=text,
            )
            for number, text in enumerate(TEXTS, start=1)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _sign_in(page: Page, site: Site, username: str, lang: str) -> None:
    name, password, button = SIGN_IN[lang]
    page.goto(f"{site.url}/desk/login?lang={lang}")
    page.get_by_label(name).fill(username)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def _code_the_sample(page: Page, codes: list[str], primary: str, save: str) -> None:
    """From the first uncoded comment, choose each primary code and save."""
    for code in codes:
        page.get_by_label(primary).select_option(code)
        page.get_by_role("button", name=save).click()


def _draw(chromium: Any, site: Site, artifacts: Path) -> str:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, site, "zhang", "en")
    page.get_by_role("link", name="Public opinion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Public opinion trends")
    page.get_by_role("link", name="Comments", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Coding comments")
    page.get_by_role("link", name="Double coding").click()
    page.get_by_label("Name").fill("April complaints")
    page.get_by_label("Sample size").fill("4")
    page.get_by_label("Seed").fill("11")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Draw the sample").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("April complaints")
    expect(page.locator(".flash")).to_contain_text("Sample drawn.")
    sample = page.url
    page.get_by_role("link", name="Code the next uncoded comment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment 1 of 4")
    page.screenshot(path=str(artifacts / "coding-item-en.png"), full_page=True)
    _code_the_sample(page, ZHANG, "Primary code", "Save and go to the next comment")
    expect(page.locator(".flash")).to_have_text(
        "You have coded every comment of this sample you can."
    )
    expect(page.locator("main")).to_contain_text("The agreement is measured once two coders")
    page.close()
    return sample


def test_two_coders_code_a_sample_and_read_the_kappa_worked_out_by_hand(
    chromium: Any, site: Site, comments: list[int], artifacts: Path
) -> None:
    sample = _draw(chromium, site, artifacts)

    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    _sign_in(page, site, "li", "zh")
    page.goto(sample)
    page.get_by_role("link", name="编码下一条未编码的意见").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("第 1 条，共 4 条")
    expect(page.locator("main")).to_contain_text(TEXTS[0])
    expect(page.locator("main")).not_to_contain_text("Zhang 的编码")  # blind
    _code_the_sample(page, LI, "主编码", "保存并编码下一条")

    expect(page.locator("#kappa")).to_have_text("0.64")
    expect(page.locator("dl.facts").first).to_contain_text("Li已编码 4 条，共 4 条")
    counts = page.locator("dl.counts")
    expect(counts).to_contain_text("95% 置信区间0.02 至 1.00")
    expect(counts).to_contain_text("两人均已编码的意见4")
    expect(counts).to_contain_text("实际一致率0.75")
    expect(counts).to_contain_text("随机一致率0.31")
    # Zhang's primary codes down, Li's across, in the codebook's order
    confusion = page.locator("table.confusion")
    expect(confusion.locator("thead th")).to_have_text(
        ["停车难与乱停车", "公交班次与准点", "噪声扰民"]
    )
    expect(confusion.locator("tbody th")).to_have_text(
        ["停车难与乱停车", "公交班次与准点", "噪声扰民"]
    )
    expect(confusion.locator("tbody td")).to_have_text(
        ["1", "0", "0", "0", "1", "0", "1", "0", "1"]
    )
    expect(page.get_by_role("heading", name="待裁定的分歧（1 条）")).to_be_visible()
    page.screenshot(path=str(artifacts / "coding-agreement-zh.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("#kappa")).to_have_text("0.64")
    disagreement = page.locator(f"#disagreement-{comments[1]}")
    disagreement.get_by_label("Primary code").select_option("noise")
    disagreement.get_by_role("button", name="Decide these codes").click()
    expect(page.locator(".flash")).to_contain_text("Decision saved")
    expect(page.locator(f"#disagreement-{comments[1]}")).to_contain_text(
        "The office decided: Noise"
    )
    page.screenshot(path=str(artifacts / "coding-agreement-en.png"), full_page=True)


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"]
)
def test_axe_finds_no_violations_and_nothing_spills_sideways_on_a_phone(
    chromium: Any, site: Site, comments: list[int], artifacts: Path, viewport: dict[str, int]
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    sample = _draw(chromium, site, artifacts)
    # The desk forbids every script; axe is let in only to inspect the pages.
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, site, "li", "zh")
    paths = [
        "/desk/opinion/comments?lang=zh",
        "/desk/opinion/comments?lang=en",
        "/desk/opinion/samples",
        f"{sample.removeprefix(site.url)}/items/{comments[0]}",
        sample.removeprefix(site.url),
    ]
    found, widths = {}, {}
    for path in paths:
        page.goto(site.url + path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    if viewport == PHONE:
        page.goto(site.url + "/desk/opinion/comments?lang=zh")
        page.screenshot(path=str(artifacts / "coding-comments-phone-zh.png"), full_page=True)
    context.close()
    assert found == {path: [] for path in paths}
    assert {path: w for path, w in widths.items() if w > viewport["width"]} == {}
