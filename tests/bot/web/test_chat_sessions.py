"""The web chat's server-issued sessions over HTTP: `POST /api/chat/session`, and
`POST /api/chat` refusing any identity it did not sign, through the real app, the real
`Conversation` and a stand-in Rasa on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from civic.i18n import t
from civic.identity import WebSessions
from civic.settings import get_settings
from storage.db import engine_for, migrate, session_factory
from storage.models import ChannelAddress, Citizen, utcnow
from storage.updates import DatabaseLedger
from tests.fakes.rasa import FakeRasa
from tests.web_chat import new_session, say

SECRET = "web-session-test-secret-0123456789"


@dataclass
class Chat:
    http: TestClient
    rasa: FakeRasa
    sessions: sessionmaker[Session]

    def web_citizens(self) -> dict[str, str]:
        """Each web session id with its citizen's pseudonym."""
        with self.sessions() as db:
            rows = db.execute(
                select(ChannelAddress.address, Citizen.public_id)
                .join(Citizen)
                .where(ChannelAddress.channel == "web")
            ).all()
        return {address: public_id for address, public_id in rows}


@pytest.fixture
def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    monkeypatch.setenv("CIVIC_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    migrate(url)
    sessions = session_factory(url)
    with FakeRasa.running() as rasa:
        conversation = Conversation(
            rasa=RasaClient(rasa.url), sessions=sessions, ledger=DatabaseLedger(sessions)
        )
        with TestClient(create_app(conversation)) as http:
            yield Chat(http, rasa, sessions)
    engine_for(url).dispose()


def session_id(token: str) -> str:
    return token.split(".")[1]


def signed_at(moment: datetime) -> str:
    """A genuine token, as this server would have issued it at `moment`."""
    return WebSessions(SECRET).issue(now=moment).token


def test_the_server_issues_the_session_and_it_names_the_citizen(chat: Chat) -> None:
    issued = chat.http.post("/api/chat/session")
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    expires = datetime.fromisoformat(issued.json()["expires_at"])
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)

    assert say(chat.http, token, "hello") == [
        {"text": "echo:hello", "buttons": [], "image": None, "custom": None}
    ]
    citizens = chat.web_citizens()
    assert list(citizens) == [session_id(token)]
    assert chat.rasa.bodies[0]["sender"] == citizens[session_id(token)]
    other = new_session(chat.http)
    assert session_id(other) != session_id(token)


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no token at all
        {"session": "web-session-0123456789"},  # the old way: an id of the client's choosing
        {"token": "web-session-0123456789"},
        {"token": WebSessions("someone-elses-secret").issue(now=utcnow()).token},
        {"token": "ws1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.1.1.9999999999"},  # unsigned
    ],
)
def test_a_session_the_server_did_not_sign_is_refused(chat: Chat, fields: dict) -> None:
    response = chat.http.post("/api/chat", json={**fields, "text": "你好"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("CivicSession")
    assert response.json() == {
        "error": "web_session.invalid",
        "messages": [{"text": t("web_session.invalid", "zh"), "buttons": []}],
    }
    assert (chat.rasa.bodies, chat.web_citizens()) == ([], {})


def test_another_citizens_id_cannot_be_put_in_ones_own_token(chat: Chat) -> None:
    victim = new_session(chat.http)
    say(chat.http, victim, "my tickets")
    mine = new_session(chat.http).split(".")
    mine[1] = session_id(victim)
    response = chat.http.post("/api/chat", json={"token": ".".join(mine), "text": "hi"})
    assert (response.status_code, response.json()["error"]) == (401, "web_session.invalid")
    assert len(chat.rasa.bodies) == 1


def test_an_expired_session_is_refused_in_the_citizens_language(chat: Chat) -> None:
    old = signed_at(utcnow() - timedelta(days=31))
    response = chat.http.post("/api/chat", json={"token": old, "text": "hi", "language": "en"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "web_session.expired",
        "messages": [
            {
                "text": "Your chat session has expired, so a new conversation has started and "
                "I no longer have what you told me before. Reports you already filed are "
                "still being handled.",
                "buttons": [],
            }
        ],
    }
    assert chat.rasa.bodies == []


def test_a_day_old_token_is_rotated_and_the_citizen_stays_the_same(chat: Chat) -> None:
    old = signed_at(utcnow() - timedelta(days=2))
    first = chat.http.post("/api/chat", json={"token": old, "text": "one"})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    fresh = first.json()["token"]
    assert fresh != old and session_id(fresh) == session_id(old)
    expires = datetime.fromisoformat(first.json()["expires_at"])
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)

    second = chat.http.post("/api/chat", json={"token": fresh, "text": "two"})
    assert second.json() == {
        "messages": [{"text": "echo:two", "buttons": [], "image": None, "custom": None}]
    }  # a fresh token is not rotated again
    assert list(chat.web_citizens()) == [session_id(old)]
    assert {b["sender"] for b in chat.rasa.bodies} == set(chat.web_citizens().values())


def test_a_body_that_is_not_json_is_still_a_bad_request(chat: Chat) -> None:
    response = chat.http.post(
        "/api/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "input.unsupported"
