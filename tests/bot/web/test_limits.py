"""The web app's limits over HTTP: messages a minute on the web chat (per session and per
address) answered with 429, Retry-After and the text in the citizen's language; request
bodies over their route's cap refused with 413, with a Content-Length and streamed
without one (through the test client, and over a real socket to uvicorn)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, Incoming
from bot.web import create_app
from bot.web._limits import WebLimits
from civic.agencies import _service as agencies
from civic.agencies import create_api_key, create_user
from civic.city import Profile
from civic.replies import BotMessage
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket
from storage.db import engine_for, migrate, session_factory
from storage.ratelimit import MemoryStore
from tests.web_chat import new_session


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0 + 20  # 40 s before a minute ends

    def __call__(self) -> float:
        return self.now


class Echo:
    """Stands in for the conversation: answers every message, and remembers them."""

    def __init__(self) -> None:
        self.heard: list[Incoming] = []

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        self.heard.append(incoming)
        return [BotMessage(text=f"heard: {incoming.text}")]


def limits(clock: Clock, **overrides: int) -> WebLimits:
    settings = replace(get_settings(), chat_limit_per_session=3, chat_limit_per_ip=5, **overrides)
    return WebLimits(settings, store=MemoryStore(clock), clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def app(echo: Echo, clock: Clock) -> FastAPI:
    conversation: Conversation = echo  # type: ignore[assignment]
    return create_app(conversation, limits=limits(clock))


def say(client: TestClient, token: str, text: str, language: str | None = None) -> httpx.Response:
    body = {"token": token, "text": text, **({"language": language} if language else {})}
    return client.post("/api/chat", json=body)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "You are sending messages faster than I can answer. Please wait 40 s and send "
         "your message again."),
        ("zh", "您发送消息的速度太快了,我来不及回答。请等 40 秒后再发送。"),
    ],
)  # fmt: skip
def test_a_session_over_its_limit_is_told_to_wait_in_its_language(
    app: FastAPI, echo: Echo, clock: Clock, language: str, text: str
) -> None:
    client = TestClient(app)
    session = new_session(client)
    assert [say(client, session, f"m{i}", language).status_code for i in range(3)] == [200] * 3
    refused = say(client, session, "m3", language)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "40")
    assert refused.json() == {"error": "limits.chat", "messages": [{"text": text, "buttons": []}]}
    assert [i.text for i in echo.heard] == ["m0", "m1", "m2"]
    clock.now += 40
    assert say(client, session, "m4", language).json()["messages"][0]["text"] == "heard: m4"


def test_the_language_comes_from_the_browser_without_a_choice(app: FastAPI) -> None:
    client = TestClient(app, headers={"Accept-Language": "en-GB,en;q=0.8"})
    session = new_session(client)
    for i in range(3):
        say(client, session, f"m{i}")
    assert say(client, session, "m3").json()["messages"][0]["text"].startswith("You are sending")


def test_one_address_is_limited_across_sessions(app: FastAPI, echo: Echo, clock: Clock) -> None:
    client = TestClient(app)
    # fresh sessions buy nothing past the address's limit
    answers = [say(client, new_session(client), f"m{i}").status_code for i in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert len(echo.heard) == 5
    other = TestClient(app, client=("203.0.113.5", 50000))
    assert say(other, new_session(other), "hello").status_code == 200


def test_bad_requests_are_answered_before_they_count(app: FastAPI) -> None:
    client = TestClient(app)
    for _ in range(10):
        assert say(client, "forged", "hello").status_code == 401
    assert say(client, new_session(client), "hello").status_code == 200


TOO_LARGE = {
    "en": "That is too large to send (at most 64 KB). Please send something shorter.",
    "zh": "发送的内容太大了(最多 64 KB),请精简后再发送。",
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_body_declared_over_the_cap_is_refused_unread(
    app: FastAPI, echo: Echo, language: str
) -> None:
    client = TestClient(app, headers={"Accept-Language": language})
    body = b'{"token": "%s", "text": "%s"}' % (new_session(client).encode(), b"a" * 70_000)
    response = client.post("/api/chat", content=body, headers={"Content-Type": "application/json"})
    assert response.request.headers["content-length"] == str(len(body))
    assert response.status_code == 413
    assert response.json() == {
        "error": "limits.too_large",
        "messages": [{"text": TOO_LARGE[language], "buttons": []}],
    }
    assert echo.heard == []


def test_a_streamed_body_without_a_length_is_cut_off_at_the_cap(app: FastAPI, echo: Echo) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"token": "%s", "text": "' % token.encode()
        for _ in range(20):
            yield b"a" * 4096
        yield b'"}'

    client = TestClient(app, headers={"Accept-Language": "en"})
    token = new_session(client)
    response = client.post(
        "/api/chat", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert (response.status_code, response.json()["messages"][0]["text"]) == (413, TOO_LARGE["en"])
    assert echo.heard == []


def test_a_body_within_the_cap_goes_through_streamed_or_not(app: FastAPI, echo: Echo) -> None:
    client = TestClient(app)
    session = new_session(client)

    def chunks() -> Iterator[bytes]:
        yield b'{"token": "%s", ' % session.encode()
        yield b'"text": "' + b"a" * 4000 + b'"}'

    streamed = client.post(
        "/api/chat", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 200
    assert say(client, session, "b" * 4000).status_code == 200
    assert [len(i.text or "") for i in echo.heard] == [4000, 4000]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Live:
    url: str
    sessions: sessionmaker[Session]


@pytest.fixture
def live(
    tmp_path: Path, profile: Profile, echo: Echo, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    """The whole web app (desk and Open311 included) on a real socket."""
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    url = f"sqlite:///{tmp_path / 'web.db'}"
    migrate(url)
    conversation: Conversation = echo  # type: ignore[assignment]
    app = create_app(
        conversation, sessions=session_factory(url), profile=profile, limits=limits(clock)
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", session_factory(url))
    server.should_exit = True
    thread.join(timeout=10)
    engine_for(url).dispose()


def chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 16_384):
        yield b"x" * 16_384


def test_over_a_real_socket_chunked_bodies_are_cut_off_at_their_routes_cap(
    live: Live, echo: Echo, profile: Profile
) -> None:
    with live.sessions.begin() as session:
        _, key = create_api_key(session=session, name="office", agency=None, can_write=True)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=live.url, timeout=30) as http:
        chat = http.post("/api/chat", content=chunks(128 * 1024), headers={"Accept-Language": "zh"})
        assert (chat.status_code, chat.json()["messages"][0]["text"]) == (413, TOO_LARGE["zh"])
        open311 = http.post("/open311/v2/requests.json", content=chunks(128 * 1024), headers=form)
        assert (open311.status_code, open311.json()["error"]) == (413, "limits.too_large")
        # A survey may be larger (256 KB), once the key has been checked.
        survey = http.put(
            "/admin/surveys/x",
            content=chunks(512 * 1024),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert survey.status_code == 413
        assert "256 KB" in survey.json()["messages"][0]["text"]
    assert echo.heard == []


def multipart_photo(size: int, csrf: str = "") -> Iterator[bytes]:
    """A rectification form streamed without a length: the CSRF field, then a photo."""
    yield (
        f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
        '--b\r\nContent-Disposition: form-data; name="photo"; filename="p.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    yield from chunks(size)
    yield b"\r\n--b--\r\n"


def test_over_a_real_socket_only_a_rectification_may_carry_a_photo(
    live: Live, profile: Profile
) -> None:
    with live.sessions.begin() as session:
        create_user(
            session=session,
            username="li",
            password="correct horse battery",
            agency="urban-management",
            role="officer",
            display_name="Li",
            known_agencies=set(profile.agencies),
        )
        decision = RoutingDecision("street-light", "urban-management", "binjiang", 0.9)
        number = create_ticket(
            session=session,
            citizen_id=None,
            description="路灯不亮",
            language="zh",
            decision=decision,
            ticket_prefix="HZ",
            due_at=None,
        ).number
    multipart = {"Content-Type": "multipart/form-data; boundary=b", "Accept-Language": "en"}
    with httpx.Client(base_url=live.url, timeout=60) as http:
        page = http.get("/desk/login")
        fields = {"csrf": csrf(page.text), "username": "li", "password": "correct horse battery"}
        assert http.post("/desk/login", data=fields).status_code == 303
        token = csrf(http.get(f"/desk/tickets/{number}").text)
        url = f"/desk/tickets/{number}"
        rectify = http.post(f"{url}/rectify", content=multipart_photo(13 << 20), headers=multipart)
        assert rectify.status_code == 413
        assert rectify.json()["messages"][0]["text"] == (
            "That is too large to send (at most 12 MB). Please send something shorter."
        )
        accept = http.post(f"{url}/accept", content=multipart_photo(128 << 10), headers=multipart)
        assert (accept.status_code, accept.json()["error"]) == (413, "limits.too_large")
        # 11 MB gets through to the desk, whose own check names the photo's limit.
        photo = http.post(
            f"{url}/rectify", content=multipart_photo(11 << 20, token), headers=multipart
        )
        assert photo.status_code == 400
        assert "The photo may be at most 10 MB." in photo.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, html
    return found.group(1)
