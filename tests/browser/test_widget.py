"""The smart assistant widget (bot/web/static/widget.js) in a real headless Chromium: embedded
by one script tag in the demo city page, used by keyboard only, kept across reloads,
switched between Chinese and English, and checked with axe-core at desktop, phone and 200%
zoom sizes. The dialogue behind /api/chat is a fake here (see widget_support); the browser
comes from the `chromium` fixture of tests/browser/conftest.py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from civic.i18n import t
from civic.identity import WebSessions
from storage.models import utcnow
from tests.browser.conftest import unavailable
from tests.browser.widget_support import (
    AXE,
    AXE_RUN,
    GREETING,
    LINK,
    SESSIONS,
    FakeChat,
    live_server,
    local_only,
)

with contextlib.suppress(ImportError):  # the `chromium` fixture skips (or fails) with why
    from playwright.sync_api import Browser, Dialog, Locator, Page, expect

pytestmark = pytest.mark.browser

TOKEN_KEY = "civic-chat-token"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
# Browser zoom at 200% is a viewport of half the CSS pixels at twice the density.
ZOOM_200 = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}

OpenPage = Callable[..., "Page"]


@pytest.fixture(scope="module")
def fake() -> FakeChat:
    return FakeChat()


@pytest.fixture(scope="module")
def server(fake: FakeChat) -> Iterator[tuple[str, str]]:
    with live_server(fake) as urls:
        yield urls


@pytest.fixture
def open_page(chromium: Browser, fake: FakeChat) -> Iterator[OpenPage]:
    """Opens fresh browser contexts (empty storage); fails the test on a script error, an
    alert, or any request that would leave this machine."""
    fake.reset()
    contexts = []
    errors: list[str] = []
    outside: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        errors.append(f"dialog opened: {dialog.message}")
        dialog.dismiss()

    def new(**options: Any) -> Page:
        context = chromium.new_context(locale="zh-CN", **(options or DESKTOP))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: None if local_only(r.url) else outside.append(r.url))
        page.on("dialog", on_dialog)
        return page

    yield new
    for context in contexts:
        context.close()
    assert errors == []
    assert outside == []


@pytest.fixture
def page(open_page: OpenPage, server: tuple[str, str]) -> Page:
    page: Page = open_page()
    page.goto(server[0] + "/")
    return page


@pytest.fixture
def axe_path() -> str:
    if not AXE.exists():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    return str(AXE)


def launcher(page: Page, name: str = "智能小助手") -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def panel(page: Page, name: str = "智能小助手") -> Locator:
    return page.get_by_role("dialog", name=name)


def messages(page: Page) -> list[tuple[str, str]]:
    """(who, text) of each message in the widget, as its bubble shows it."""
    rows = page.evaluate(
        """() => Array.from(
          document.getElementById("civic-assistant").shadowRoot.querySelectorAll(".msg"),
          (li) => [li.classList.contains("me") ? "me" : "bot",
                   li.querySelector(".bubble")?.textContent ?? ""])"""
    )
    return [(who, text) for who, text in rows]


def wait_for_messages(page: Page, count: int) -> list[tuple[str, str]]:
    page.locator("#civic-assistant .msg").nth(count - 1).wait_for()
    expect(page.locator("#civic-assistant .msg")).to_have_count(count)
    return messages(page)


def tab_until_focused(page: Page, target: Locator, *, limit: int = 80) -> int:
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el.getRootNode().activeElement === el"):
            return presses
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def eventually(check: Callable[[], bool], *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def settle(page: Page) -> None:
    """Real time for the page to finish handling a response (and set its next timer)
    before the test moves the fake clock."""
    page.wait_for_timeout(300)


def send(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="输入您的问题").fill(text)
    page.keyboard.press("Enter")


def test_demo_page_is_a_city_site_section_with_the_widget_from_one_script_tag(
    page: Page, server: tuple[str, str]
) -> None:
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    masthead = page.locator(".masthead").inner_text()
    assert "杭州市综合考评委员会办公室" in masthead
    assert "Hangzhou Comprehensive Evaluation Commission" in masthead
    assert page.get_by_role("navigation", name="主导航 Main navigation").is_visible()
    assert page.locator("footer").get_by_role("link", name="无障碍浏览 Accessibility").is_visible()
    scripts = page.locator("script[src]")
    assert scripts.evaluate_all("els => els.map((s) => s.getAttribute('src'))") == [
        "/static/widget.js"
    ]
    expect(launcher(page)).to_be_visible()
    expect(panel(page)).to_be_hidden()

    page.goto(server[0] + "/chat")
    expect(page.get_by_role("heading", name="智能小助手 Smart assistant")).to_be_visible()


def test_keyboard_only_conversation_survives_a_reload_and_esc_returns_to_the_launcher(
    page: Page, fake: FakeChat
) -> None:
    tab_until_focused(page, launcher(page))
    page.keyboard.press("Enter")

    dialog = panel(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "false")
    textbox = page.get_by_role("textbox", name="输入您的问题")
    expect(textbox).to_be_focused()
    log = page.get_by_role("log", name="对话记录")
    expect(log).to_have_attribute("aria-live", "polite")
    assert wait_for_messages(page, 1) == [("bot", GREETING["zh"])]
    expect(log.get_by_role("listitem")).to_have_text([f"小助手说:{GREETING['zh']}市民企业"])
    first = fake.requests[0]
    assert (first["text"], first["language"]) == ("你好", "zh")
    # The session is the server's: a token it signed, sent in the body, nothing of the
    # widget's own making.
    assert "session" not in first
    assert SESSIONS.verify(first["token"], now=utcnow()).session_id == fake.sessions[0]

    # Shift+Tab from the input reaches the latest reply's buttons, last one first.
    page.keyboard.press("Shift+Tab")
    expect(log.get_by_role("button", name="企业")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(log.get_by_role("button", name="市民")).to_be_focused()
    page.keyboard.press("Enter")
    assert wait_for_messages(page, 3)[1:] == [
        ("me", "市民"),
        ("bot", f"为您推荐:{LINK} (在新窗口打开)"),
    ]
    assert fake.requests[-1]["payload"] == '/identify{"identity":"citizen"}'
    expect(log.get_by_role("button", name="市民")).to_be_focused()

    page.keyboard.press("Tab")
    expect(log.get_by_role("button", name="企业")).to_be_focused()
    page.keyboard.press("Tab")
    expect(log.get_by_role("link", name=f"{LINK} (在新窗口打开)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(textbox).to_be_focused()
    page.keyboard.type("路灯坏了")
    page.keyboard.press("Enter")
    shown = wait_for_messages(page, 5)
    assert shown[3:] == [("me", "路灯坏了"), ("bot", "收到:路灯坏了")]
    expect(textbox).to_have_value("")
    expect(textbox).to_be_focused()

    page.reload()
    expect(panel(page)).to_be_visible()
    assert wait_for_messages(page, 5) == shown
    assert len(fake.requests) == 3  # no second greeting
    assert len(set(fake.sessions)) == 1  # one citizen throughout

    tab_until_focused(page, textbox)
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")


def test_language_switch_changes_the_widget_labels_and_tells_the_assistant(
    page: Page, fake: FakeChat
) -> None:
    launcher(page).click()
    wait_for_messages(page, 1)
    header = panel(page).get_by_role("group", name="语言")
    expect(header.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")

    header.get_by_role("button", name="English").click()
    english = panel(page, "Smart assistant")
    expect(english).to_be_visible()
    expect(english.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    expect(english.get_by_role("textbox", name="Type your question")).to_be_visible()
    expect(english.get_by_role("button", name="Send")).to_be_visible()
    expect(english.get_by_role("button", name="Close the smart assistant")).to_be_visible()
    expect(english.get_by_role("log", name="Conversation")).to_be_visible()
    assert wait_for_messages(page, 3)[1:] == [("me", "English"), ("bot", "Switched to English.")]
    assert (fake.requests[-1]["payload"], fake.requests[-1]["language"]) == (
        '/switch_language{"language":"en"}',
        "en",
    )

    page.keyboard.press("Escape")
    expect(launcher(page, "Smart assistant")).to_be_focused()
    page.reload()
    expect(launcher(page, "Smart assistant")).to_be_visible()

    launcher(page, "Smart assistant").click()
    panel(page, "Smart assistant").get_by_role("button", name="中文").click()
    expect(panel(page)).to_be_visible()
    expect(page.get_by_role("textbox", name="输入您的问题")).to_be_visible()
    assert fake.requests[-1]["payload"] == '/switch_language{"language":"zh"}'


def test_server_text_is_never_html_and_only_http_links_become_links(
    page: Page, server: tuple[str, str]
) -> None:
    launcher(page).click()
    wait_for_messages(page, 1)
    send(page, "link")
    wait_for_messages(page, 3)
    reply = page.locator("#civic-assistant .msg").nth(2)
    expect(reply.locator(".bubble")).to_have_text(
        f"详情见 {LINK} (在新窗口打开)。<img src=x onerror=alert(1)> javascript:alert(1)"
    )
    links = reply.get_by_role("link")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", LINK)
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_attribute("rel", "noopener")
    expect(reply.locator("img")).to_have_count(0)

    send(page, "photo")
    wait_for_messages(page, 5)
    image = page.locator("#civic-assistant .msg").nth(4).get_by_role("img", name="小助手发送的图片")
    expect(image).to_have_attribute("src", server[0] + "/fake/photo.png")
    page.wait_for_function(
        """() => document.getElementById("civic-assistant").shadowRoot
                  .querySelector(".msg:last-child img").naturalWidth === 1"""
    )


def test_status_updates_are_polled_every_ten_seconds_while_the_panel_is_open(
    open_page: OpenPage, server: tuple[str, str], fake: FakeChat
) -> None:
    page = open_page()
    page.clock.install()
    page.goto(server[0] + "/")
    launcher(page).click()
    wait_for_messages(page, 1)
    token = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    session = SESSIONS.verify(token, now=utcnow()).session_id
    eventually(lambda: fake.polls == [session])  # once on opening
    settle(page)

    fake.push(session, "您的投诉 HZ-0001 已受理。")
    page.clock.run_for(9_000)
    settle(page)
    assert fake.polls == [session]
    page.clock.run_for(1_500)
    assert wait_for_messages(page, 2)[1] == ("bot", "您的投诉 HZ-0001 已受理。")

    page.keyboard.press("Escape")
    settle(page)
    polls = len(fake.polls)
    fake.push(session, "您的投诉 HZ-0001 已办结。")
    page.clock.run_for(30_000)
    settle(page)
    assert len(fake.polls) == polls
    launcher(page).click()
    assert wait_for_messages(page, 3)[2] == ("bot", "您的投诉 HZ-0001 已办结。")


def test_a_missing_updates_endpoint_is_silent_and_not_asked_again(
    open_page: OpenPage, server: tuple[str, str], fake: FakeChat
) -> None:
    fake.updates_available = False
    page = open_page()
    page.clock.install()
    page.goto(server[0] + "/")
    launcher(page).click()
    wait_for_messages(page, 1)
    eventually(lambda: len(fake.polls) == 1)
    settle(page)
    page.clock.run_for(35_000)
    settle(page)
    assert len(fake.polls) == 1
    assert messages(page) == [("bot", GREETING["zh"])]


@pytest.mark.parametrize(
    ("stale", "notice"),
    [
        (WebSessions("another-sites-secret").issue(now=utcnow()).token, "web_session.invalid"),
        (SESSIONS.issue(now=utcnow() - timedelta(days=45)).token, "web_session.expired"),
    ],
)
def test_a_refused_session_is_replaced_and_the_citizen_is_told(
    page: Page, fake: FakeChat, stale: str, notice: str
) -> None:
    # A stale token, and an id of the kind pages used to make up for themselves.
    page.evaluate(
        """([key, stale]) => {
             localStorage.setItem(key, stale);
             localStorage.setItem("civic-chat-session", "my-own-id-0123456789");
           }""",
        [TOKEN_KEY, stale],
    )
    page.reload()
    launcher(page).click()
    assert wait_for_messages(page, 2) == [("bot", t(notice, "zh")), ("bot", GREETING["zh"])]
    send(page, "路灯坏了")
    assert wait_for_messages(page, 4)[2:] == [("me", "路灯坏了"), ("bot", "收到:路灯坏了")]

    refused, *accepted = fake.requests
    assert (refused["token"], refused["text"]) == (stale, "你好")
    token = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    assert [r["token"] for r in accepted] == [token, token]
    assert fake.sessions == [SESSIONS.verify(token, now=utcnow()).session_id] * 2
    assert page.evaluate("() => localStorage.getItem('civic-chat-session')") is None


def test_a_rotated_token_is_kept_and_the_session_stays_the_same(page: Page, fake: FakeChat) -> None:
    launcher(page).click()
    wait_for_messages(page, 1)
    first = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    fake.rotate_next = True
    send(page, "一")
    wait_for_messages(page, 3)
    rotated = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    assert rotated != first
    send(page, "二")
    wait_for_messages(page, 5)
    assert [r["token"] for r in fake.requests] == [first, first, rotated]
    assert len(set(fake.sessions)) == 1


def test_a_deep_link_opens_the_chat_with_its_payload_in_a_new_session(
    open_page: OpenPage, server: tuple[str, str], fake: FakeChat
) -> None:
    page = open_page()
    page.goto(server[0] + "/?start=w_12")
    expect(panel(page)).to_be_visible()
    eventually(lambda: any(r.get("payload") == "/start w_12" for r in fake.requests))
    request = next(r for r in fake.requests if r.get("payload") == "/start w_12")
    assert SESSIONS.verify(request["token"], now=utcnow()).session_id in fake.sessions


def test_works_embedded_on_another_origin_in_that_pages_language(
    open_page: OpenPage, server: tuple[str, str], fake: FakeChat
) -> None:
    base, other = server
    page = open_page()
    page.goto(f"{other}/elsewhere?src={base}/static/widget.js")
    launcher(page, "Smart assistant").click()
    assert wait_for_messages(page, 1) == [("bot", GREETING["en"])]
    assert fake.requests[0]["text"] == "hello"
    assert fake.origins == [other]
    send_box = page.get_by_role("textbox", name="Type your question")
    send_box.fill("streetlight broken")
    send_box.press("Enter")
    assert wait_for_messages(page, 3)[2] == ("bot", "收到:streetlight broken")


@pytest.mark.parametrize(
    ("size", "options", "full_screen"),
    [("desktop", DESKTOP, False), ("phone", PHONE, True), ("zoom200", ZOOM_200, True)],
)
def test_no_serious_accessibility_violations_and_the_panel_fits(
    open_page: OpenPage,
    server: tuple[str, str],
    axe_path: str,
    artifacts: Path,
    size: str,
    options: dict[str, Any],
    full_screen: bool,
) -> None:
    page = open_page(**options)
    page.goto(server[0] + "/")
    launcher(page).click()
    wait_for_messages(page, 1)
    send(page, "link")
    wait_for_messages(page, 3)

    page.add_script_tag(path=axe_path)
    violations = page.evaluate(AXE_RUN)
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert serious == [], violations

    viewport = options["viewport"]
    box = panel(page).bounding_box()
    assert box is not None
    if full_screen:
        assert box == {"x": 0, "y": 0, "width": viewport["width"], "height": viewport["height"]}
    else:
        assert box["width"] < viewport["width"] / 2
    for control in (
        page.get_by_role("textbox", name="输入您的问题"),
        page.get_by_role("button", name="发送"),
    ):
        control_box = control.bounding_box()
        assert control_box is not None
        assert control_box["x"] + control_box["width"] <= viewport["width"]
        assert control_box["y"] + control_box["height"] <= viewport["height"]

    page.screenshot(path=str(artifacts / f"widget-{size}.png"))


@pytest.mark.parametrize(
    ("motion", "animation"), [("reduce", "none"), ("no-preference", "cfa-open")]
)
def test_the_opening_animation_respects_reduced_motion(
    page: Page, motion: str, animation: str
) -> None:
    page.emulate_media(reduced_motion=motion)  # type: ignore[arg-type]
    launcher(page).click()
    name = panel(page).evaluate("el => getComputedStyle(el).animationName")
    assert name == animation
