"""The desk's opinion topics over HTTP, on SQLite and PostgreSQL: the evaluation office
groups the comments and accepts, renames, merges and splits topics; an agency's user is
turned away with 403; a form without its CSRF token is refused; bad input gets 400 with
its reason and nothing written."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, opinion_topics_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import Comment, Topic, TopicRun
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login
from tests.bot.web.desk.test_router import _message as _raw_message
from tests.civic.opinion.test_topics import GARBAGE, LIGHTS, _add, _codes

TOPICS = "/desk/opinion/topics"


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]

    def login(self, username: str, lang: str = "en") -> TestClient:
        client = TestClient(self.app, headers={"Accept-Language": lang})
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def topics(self) -> list[tuple[int, str, int, str | None, str | None]]:
        with self.sessions() as session:
            return [
                (t.number, t.status, t.size, t.code, t.label_en)
                for t in session.scalars(select(Topic).order_by(Topic.number))
            ]

    def topic_id(self, number: int) -> int:
        with self.sessions() as session:
            return session.scalars(select(Topic.id).where(Topic.number == number)).one()

    def codes(self) -> list[tuple[int, str, str]]:
        with self.sessions() as session:
            return _codes(session)

    def coded(self, code: str) -> int:
        """How many comments have this code."""
        return sum(1 for _, _, c in self.codes() if c == code)


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency, role in [("zhang", None, "staff"), ("wang", "water", "officer")]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
        _add(session, GARBAGE + LIGHTS)
    app = FastAPI()
    app.include_router(opinion_topics_router(sessions=sessions, profile=profile), prefix="/desk")
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions)


def _message(response: Response) -> str:
    return html.unescape(_raw_message(response))


def _post(client: TestClient, url: str, **data: str) -> Response:
    """Post a form as the page offers it, with the page's CSRF token."""
    token = _csrf(client.get(TOPICS).text)
    return client.post(url, data={"csrf": token, **data}, follow_redirects=False)


def _group(client: TestClient, k: str = "2") -> Response:
    return _post(client, TOPICS, year="2026", k=k)


def _text(markup: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", markup).split()))


def test_the_office_groups_the_comments_and_reads_the_topics(desk: Desk) -> None:
    client = desk.login("zhang")
    assert "No grouping yet." in client.get(TOPICS).text
    response = _group(client)
    assert (response.status_code, response.headers["location"]) == (303, TOPICS)
    page = client.get(TOPICS)
    assert page.status_code == 200
    text = _text(page.text)
    assert "The comments were grouped." in text
    assert re.search(r"Run \d+: 20 comments, \d+\.\d s", text)
    sections = re.findall(r'<section class="topic".*?</section>', page.text, re.DOTALL)
    assert len(sections) == 2
    garbage = next(s for s in sections if "垃圾" in s)
    assert "garbage" in _text(re.search(r'class="terms-en".*?</dd>', garbage, re.DOTALL).group(0))  # type: ignore[union-attr]
    assert len(re.findall(r"<li>", garbage)) == 3
    assert "Uncollected garbage (uncollected-garbage)" in garbage
    assert desk.topics() == [(1, "proposed", 10, None, None), (2, "proposed", 10, None, None)]


def test_the_office_accepts_renames_merges_and_splits(desk: Desk) -> None:
    client = desk.login("zhang")
    _group(client)
    first, second = desk.topic_id(1), desk.topic_id(2)
    response = _post(client, f"{TOPICS}/{first}/rename", label_zh="垃圾", label_en="Rubbish")
    assert response.status_code == 303
    response = _post(client, f"{TOPICS}/{second}/split")
    assert response.status_code == 303
    assert [t[:3] for t in desk.topics()] == [
        (1, "proposed", 10),
        (2, "split", 0),
        (3, "proposed", desk.topics()[2][2]),
        (4, "proposed", 10 - desk.topics()[2][2]),
    ]
    response = _post(client, f"{TOPICS}/{desk.topic_id(4)}/merge", into=str(desk.topic_id(3)))
    assert response.status_code == 303
    assert [t[:3] for t in desk.topics()][2:] == [(3, "proposed", 10), (4, "merged", 0)]
    response = _post(client, f"{TOPICS}/{first}/accept", code="dirty-streets")
    assert response.status_code == 303
    assert desk.topics()[0] == (1, "accepted", 10, "dirty-streets", "Rubbish")
    assert desk.coded("dirty-streets") == 10
    assert "Accepted as Dirty streets" in _text(client.get(TOPICS).text)


def test_an_agency_user_is_turned_away(desk: Desk) -> None:
    client = desk.login("wang")
    page = client.get(TOPICS)
    assert page.status_code == 403
    assert "Only the evaluation office works on the opinion topics." in _text(page.text)
    token = _csrf(client.get("/desk/").text)
    refused = client.post(TOPICS, data={"csrf": token, "k": "2"}, follow_redirects=False)
    assert refused.status_code == 403
    assert desk.topics() == []


def test_a_form_without_its_csrf_token_is_refused(desk: Desk) -> None:
    client = desk.login("zhang")
    response = client.post(TOPICS, data={"k": "2"}, follow_redirects=False)
    assert response.status_code == 403
    _group(client)
    first, codes = desk.topic_id(1), desk.codes()
    forged = client.post(f"{TOPICS}/{first}/accept", data={"csrf": "x" * 64, "code": "parking"})
    assert forged.status_code == 403
    assert desk.codes() == codes
    with desk.sessions() as session:
        assert session.scalar(select(TopicRun.id).order_by(TopicRun.id.desc())) is not None
        assert len(list(session.scalars(select(TopicRun)))) == 1


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        (TOPICS, {"k": "many"}, "The number of topics must be a whole number between 2 and 100."),
        (TOPICS, {"k": "1"}, "The number of topics must be a whole number between 2 and 100."),
        (TOPICS, {"year": "last"}, "The year must be a number such as 2026."),
        (TOPICS, {"year": "2019"}, "There are no uncoded comments to group."),
        ("accept", {"code": "rubbish"}, "There is no code “rubbish” in the codebook."),
        (
            "rename",
            {"label_zh": "垃圾", "label_en": " "},
            "A label is required in both languages (en is empty).",
        ),
        ("merge", {"into": "1"}, "Topic 1 cannot be merged into itself."),
        ("merge", {"into": "none"}, "There is no such topic."),
    ],
)
def test_bad_input_gets_400_with_its_reason_and_nothing_written(
    desk: Desk, url: str, data: dict[str, str], message: str
) -> None:
    client = desk.login("zhang")
    _group(client)
    before, codes = desk.topics(), desk.codes()
    first = desk.topic_id(1)
    target = url if url.startswith("/") else f"{TOPICS}/{first}/{url}"
    if data.get("into") == "1":
        data = {"into": str(first)}
    response = _post(client, target, **data)
    assert response.status_code == 400
    assert _message(response) == message
    assert desk.topics() == before
    assert desk.codes() == codes
    with desk.sessions() as session:
        assert len(list(session.scalars(select(TopicRun)))) == 1
        assert None not in set(session.scalars(select(Comment.topic_id)))
