"""`POST /api/chat/updates`: a web citizen's pending messages, only for the bearer of a
session token the server signed, with the token in the body (never in the URL), on
SQLite and the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import web_updates_router
from civic.i18n import t
from civic.identity import WebSession, WebSessions
from storage.db import session_factory
from storage.models import OutboundMessage, utcnow

SESSIONS = WebSessions("updates-test-secret")


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def http(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(web_updates_router(sessions, SESSIONS))
    with TestClient(app) as client:
        yield client


def leave(sessions: sessionmaker[Session], web: WebSession, text: str) -> None:
    """What the notifier does for a web citizen: an outbound message for their session."""
    body = json.dumps({"text": text, "buttons": []}, ensure_ascii=False)
    with sessions.begin() as db:
        db.add(OutboundMessage(channel="web", address=web.session_id, body=body))


def test_the_bearer_of_the_token_gets_their_messages_once(
    http: TestClient, sessions: sessionmaker[Session]
) -> None:
    mine, someone = SESSIONS.issue(now=utcnow()), SESSIONS.issue(now=utcnow())
    leave(sessions, mine, "您的投诉 HZ-2026-000001 已受理。")
    leave(sessions, someone, "您的投诉 HZ-2026-000002 已受理。")

    first = http.post("/api/chat/updates", json={"token": mine.token})
    assert first.status_code == 200
    assert [m["text"] for m in first.json()["messages"]] == ["您的投诉 HZ-2026-000001 已受理。"]
    assert "token" not in first.json()
    again = http.post("/api/chat/updates", json={"token": mine.token})
    assert again.json() == {"messages": []}


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"session": "web-session-0123456789"},
        {"token": "web-session-0123456789"},
        {"token": WebSessions("not-our-secret").issue(now=utcnow()).token},
    ],
)
def test_without_a_signed_token_nothing_is_handed_out(
    http: TestClient, sessions: sessionmaker[Session], body: dict | None
) -> None:
    forged = WebSessions("not-our-secret").issue(now=utcnow())
    leave(sessions, forged, "您的投诉 HZ-2026-000003 已受理。")
    response = http.post("/api/chat/updates", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "web_session.invalid",
        "messages": [{"text": t("web_session.invalid", "en"), "buttons": []}],
    }
    with sessions() as db:
        assert db.get(OutboundMessage, 1).delivered_at is None  # type: ignore[union-attr]


def test_an_expired_token_is_told_so_in_the_citizens_language(http: TestClient) -> None:
    old = SESSIONS.issue(now=utcnow() - timedelta(days=40))
    response = http.post("/api/chat/updates", json={"token": old.token, "language": "zh"})
    assert response.status_code == 401
    assert response.json()["messages"][0]["text"] == t("web_session.expired", "zh")
    assert response.json()["messages"][0]["text"].startswith("您的对话会话已过期")


def test_polling_with_an_old_token_rotates_it_for_the_same_session(
    http: TestClient, sessions: sessionmaker[Session]
) -> None:
    old = SESSIONS.issue(now=utcnow() - timedelta(days=3))
    leave(sessions, old, "您的投诉 HZ-2026-000004 已办结。")
    answer = http.post("/api/chat/updates", json={"token": old.token}).json()
    assert [m["text"] for m in answer["messages"]] == ["您的投诉 HZ-2026-000004 已办结。"]
    fresh = SESSIONS.verify(answer["token"], now=utcnow())
    assert (fresh.session_id, fresh.created_at) == (old.session_id, old.created_at)


def test_asking_by_get_with_the_id_in_the_url_is_refused_with_what_to_do(
    http: TestClient, sessions: sessionmaker[Session]
) -> None:
    mine = SESSIONS.issue(now=utcnow())
    leave(sessions, mine, "您的投诉 HZ-2026-000005 已受理。")
    response = http.get("/api/chat/updates", params={"session": mine.session_id})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"
    assert "POST /api/chat/updates" in response.json()["detail"]
    assert response.json()["messages"][0]["text"] == t("web_session.updates_by_post", "zh")
    with sessions() as db:
        assert db.get(OutboundMessage, 1).delivered_at is None  # type: ignore[union-attr]
