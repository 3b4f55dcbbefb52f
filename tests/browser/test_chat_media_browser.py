"""The web chat's photo and place buttons (bot/web/static/chat-media.js) in a real headless
Chromium, against the whole web app and the stand-in Rasa: a photo chosen in the widget
reaches the conversation as Telegram's would, with its GPS only when ticked; the browser's
position is sent when allowed; when it is refused the district map appears and a point
picked on it by pointer or keyboard reaches the conversation as latitude and longitude;
the full-page chat does the same; axe-core finds nothing serious at phone width."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from civic.city import Profile, district_map, project, unproject
from civic.settings import get_settings
from storage.db import engine_for, migrate, session_factory
from storage.image_metadata import gps_position
from storage.updates import DatabaseLedger
from tests.browser.conftest import STARTUP_SECONDS, _free_port, unavailable
from tests.browser.widget_support import AXE, AXE_RUN, local_only
from tests.fakes.rasa import FakeRasa
from tests.photos import jpeg_with_gps

with contextlib.suppress(ImportError):  # the `chromium` fixture skips (or fails) with why
    from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

WEST_LAKE = (30.2431, 120.149)
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
SHADOW = "#civic-assistant"


@dataclass
class Live:
    url: str
    rasa: FakeRasa
    media: Path

    def to_rasa(self) -> list[str]:
        return [body["message"] for body in self.rasa.bodies]

    def wait_for_rasa(self, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.rasa.bodies) < count:
            assert time.monotonic() < deadline, f"Rasa got {self.to_rasa()}"
            time.sleep(0.05)
        return self.to_rasa()


@pytest.fixture
def live(tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("CIVIC_SECRET_KEY", "browser-media-secret-0123456789abcdefgh")
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    migrate(url)
    sessions = session_factory(url)
    with FakeRasa.running() as rasa:
        conversation = Conversation(
            rasa=RasaClient(rasa.url), sessions=sessions, ledger=DatabaseLedger(sessions)
        )
        app = create_app(conversation, sessions=sessions, profile=profile)
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="media-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "web app did not start"
            time.sleep(0.05)
        yield Live(f"http://127.0.0.1:{port}", rasa, get_settings().var_dir / "media")
        server.should_exit = True
        thread.join(timeout=10)
    engine_for(url).dispose()


OpenPage = Callable[..., "Page"]


@pytest.fixture
def open_page(chromium: Browser, live: Live) -> Iterator[OpenPage]:
    """Fresh contexts; the test fails on a script error or a request leaving this machine."""
    contexts = []
    errors: list[str] = []
    outside: list[str] = []

    def new(*, geolocation: tuple[float, float] | None = None, **options: Any) -> Page:
        settings = {"locale": "zh-CN", **(options or DESKTOP)}
        if geolocation is not None:
            settings["geolocation"] = {"latitude": geolocation[0], "longitude": geolocation[1]}
            settings["permissions"] = ["geolocation"]
        context = chromium.new_context(**settings)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: None if local_only(r.url) else outside.append(r.url))
        return page

    yield new
    for context in contexts:
        context.close()
    assert errors == []
    assert outside == []


def open_widget(page: Page, live: Live) -> None:
    page.goto(live.url + "/")
    page.get_by_role("button", name="智能小助手", exact=True).click()
    live.wait_for_rasa(1)  # the greeting
    expect(page.get_by_role("button", name="添加照片", exact=True)).to_be_visible()


def bot_texts(page: Page) -> list[str]:
    return page.evaluate(
        """() => Array.from(
          document.getElementById("civic-assistant").shadowRoot.querySelectorAll(".msg.bot"),
          (li) => li.querySelector(".bubble")?.textContent ?? "")"""
    )


def stored(live: Live) -> list[Path]:
    return sorted(live.media.iterdir()) if live.media.is_dir() else []


def test_a_photo_from_the_widget_reaches_the_conversation_without_its_gps(
    open_page: OpenPage, live: Live, tmp_path: Path
) -> None:
    photo = tmp_path / "street.jpg"
    photo.write_bytes(jpeg_with_gps(*WEST_LAKE))
    page = open_page()
    open_widget(page, live)

    page.get_by_role("button", name="添加照片", exact=True).click()
    chooser = page.get_by_label("选择照片")
    expect(chooser).to_be_focused()
    chooser.set_input_files(str(photo))
    page.get_by_role("button", name="上传并发送").click()

    sent = live.wait_for_rasa(2)[1]  # after the greeting
    [kept] = stored(live)
    assert sent == '/send_photo{"photo":"' + kept.name + '"}'
    assert gps_position(kept.read_bytes()) is None
    expect(page.locator(SHADOW).get_by_text("echo:" + sent)).to_be_visible()
    # the panel closed and the focus went back to its button
    expect(page.get_by_role("button", name="添加照片", exact=True)).to_be_focused()


def test_the_photos_gps_is_the_place_when_ticked(
    open_page: OpenPage, live: Live, tmp_path: Path
) -> None:
    photo = tmp_path / "street.jpg"
    photo.write_bytes(jpeg_with_gps(*WEST_LAKE))
    page = open_page()
    open_widget(page, live)

    page.get_by_role("button", name="添加照片", exact=True).click()
    page.get_by_label("选择照片").set_input_files(str(photo))
    page.get_by_label("用照片里记录的拍摄位置作为问题地点").check()
    page.get_by_role("button", name="上传并发送").click()

    sent = live.wait_for_rasa(3)[1:]
    [kept] = stored(live)
    assert sent == [
        '/share_location{"lat":30.2431,"long":120.149}',
        '/send_photo{"photo":"' + kept.name + '"}',
    ]


def test_a_file_that_is_not_a_photo_is_refused_in_words(
    open_page: OpenPage, live: Live, tmp_path: Path
) -> None:
    fake = tmp_path / "holiday.jpg"
    fake.write_text("<html>not a picture</html>")
    page = open_page()
    open_widget(page, live)

    page.get_by_role("button", name="添加照片", exact=True).click()
    page.get_by_label("选择照片").set_input_files(str(fake))
    page.get_by_role("button", name="上传并发送").click()

    expect(page.locator(SHADOW).get_by_text("这个文件无法接收", exact=False)).to_be_visible()
    assert live.to_rasa() == ["你好"] and stored(live) == []


def test_the_browsers_position_is_sent_when_allowed(open_page: OpenPage, live: Live) -> None:
    page = open_page(geolocation=WEST_LAKE)
    open_widget(page, live)

    page.get_by_role("button", name="分享位置", exact=True).click()
    page.get_by_role("button", name="使用我当前的位置").click()

    assert live.wait_for_rasa(2)[1] == '/share_location{"lat":30.2431,"long":120.149}'
    expect(page.locator(SHADOW).get_by_text("📍 位置 30.2431, 120.149")).to_be_visible()


def screen_point(page: Page, lat: float, long: float) -> tuple[float, float]:
    """Where on the screen the map draws a position (its SVG coordinates, transformed)."""
    x, y = project(long, lat)
    point = page.evaluate(
        """([x, y]) => {
          const map = document.getElementById("civic-assistant").shadowRoot
            .querySelector(".media-map");
          const at = new DOMPoint(x, y).matrixTransform(map.getScreenCTM());
          return [at.x, at.y];
        }""",
        [x, y],
    )
    return float(point[0]), float(point[1])


def shared_position(message: str) -> tuple[float, float]:
    assert message.startswith("/share_location")
    data = json.loads(message.removeprefix("/share_location"))
    return float(data["lat"]), float(data["long"])


def refuse_map(page: Page, live: Live) -> None:
    """No permission for the position: the map takes its place."""
    open_widget(page, live)
    page.get_by_role("button", name="分享位置", exact=True).click()
    page.get_by_role("button", name="使用我当前的位置").click()
    expect(page.locator(SHADOW).get_by_role("status").last).to_contain_text("无法获取您的位置")
    expect(page.get_by_role("application", name="各区地图:选择问题地点")).to_be_focused()


def test_when_refused_a_point_tapped_on_the_map_is_sent(
    open_page: OpenPage, live: Live, profile: Profile
) -> None:
    page = open_page()
    refuse_map(page, live)
    inside = profile.districts["xihu"].geometry.representative_point()

    page.mouse.click(*screen_point(page, inside.y, inside.x))
    expect(page.locator(SHADOW).get_by_role("status").last).to_contain_text("已选择:西湖区")
    page.get_by_role("button", name="发送这个地点").click()

    lat, long = shared_position(live.wait_for_rasa(2)[1])
    # one screen pixel is about 100 m at this zoom
    assert abs(lat - inside.y) < 0.005 and abs(long - inside.x) < 0.005
    found = profile.district_at(lat, long)
    assert found is not None and found.code == "xihu"


def test_the_map_works_by_keyboard(open_page: OpenPage, live: Live, profile: Profile) -> None:
    page = open_page()
    refuse_map(page, live)

    # the marker starts in the middle; each arrow moves it a fiftieth of the map's width
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    status = page.locator(SHADOW).get_by_role("status").last
    expect(status).to_contain_text("已选择:")
    announced = status.text_content() or ""
    page.keyboard.press("Enter")

    left, top, width, height = district_map(profile)["view_box"]
    step = width / 50
    want_long, want_lat = unproject(left + width / 2 + step, top + height / 2 - step)
    lat, long = shared_position(live.wait_for_rasa(2)[1])
    assert abs(lat - want_lat) < 1e-5 and abs(long - want_long) < 1e-5
    assert f"纬度 {lat:.4f}" in announced and f"经度 {long:.4f}" in announced
    expect(page.get_by_role("button", name="分享位置", exact=True)).to_be_focused()


def test_the_full_page_chat_sends_a_photo_too(
    open_page: OpenPage, live: Live, tmp_path: Path
) -> None:
    photo = tmp_path / "street.jpg"
    photo.write_bytes(jpeg_with_gps(*WEST_LAKE))
    page = open_page()
    refused: list[str] = []  # what the page's Content-Security-Policy blocked, if anything
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live.url + "/chat")
    page.get_by_role("button", name="添加照片", exact=True).click()
    page.get_by_label("选择照片").set_input_files(str(photo))
    page.get_by_role("button", name="上传并发送").click()

    [sent] = live.wait_for_rasa(1)
    [kept] = stored(live)
    assert sent == '/send_photo{"photo":"' + kept.name + '"}'
    expect(page.get_by_text("echo:" + sent)).to_be_visible()
    assert refused == []


def test_no_serious_accessibility_violations_at_phone_width(
    open_page: OpenPage, live: Live, artifacts: Path
) -> None:
    if not AXE.exists():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    page = open_page(**PHONE)
    refuse_map(page, live)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert serious == [], violations
    box = page.locator(SHADOW).locator(".media-map").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.screenshot(path=str(artifacts / "chat-media-phone.png"))

    page.keyboard.press("Escape")  # the place panel closes, the photo panel opens
    page.get_by_role("button", name="添加照片", exact=True).click()
    violations = page.evaluate(AXE_RUN)
    assert [v for v in violations if v["impact"] in {"serious", "critical"}] == [], violations


def test_the_buttons_and_panels_follow_the_chosen_language(open_page: OpenPage, live: Live) -> None:
    page = open_page()
    open_widget(page, live)
    page.get_by_role("group", name="语言").get_by_role("button", name="English").click()

    page.get_by_role("button", name="Attach a photo", exact=True).click()
    expect(page.get_by_label("Choose a photo")).to_be_focused()
    expect(page.get_by_role("button", name="Upload and send")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Attach a photo", exact=True)).to_be_focused()
    expect(page.get_by_role("dialog", name="Smart assistant")).to_be_visible()  # still open
    page.get_by_role("button", name="Share a place", exact=True).click()
    expect(page.get_by_role("button", name="Use my current location")).to_be_focused()
