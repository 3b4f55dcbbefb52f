"""The desk's coding pages over HTTP, on SQLite and PostgreSQL: the office codes a
comment and its accepted codes are in the database and on the page; an agency's user is
turned away; every form needs its CSRF token; bad input gets a 400 page saying why, in
Chinese and English, with nothing written; a sample is drawn, coded blind by two coders
and its agreement shown. Also: the coding texts exist in both languages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, opinion_coding_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.i18n import placeholders
from civic.settings import PROJECT_ROOT
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import CodingSample, Comment, CommentCode, CommentCoding
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login

COMMENTS, SAMPLES = "/desk/opinion/comments", "/desk/opinion/samples"
TAGS = re.compile(r"<[^>]+>")
TEXTS = ["晚上工地施工噪音太吵", "小区门口乱停车，车位不够"]


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]
    comment_ids: list[int]

    def login(self, username: str, lang: str = "en") -> TestClient:
        client = TestClient(
            self.app, headers={"Accept-Language": lang}, raise_server_exceptions=True
        )
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def accepted(self, comment_id: int) -> list[str]:
        with self.sessions() as session:
            query = select(CommentCode.code).where(
                CommentCode.comment_id == comment_id, CommentCode.kind == "accepted"
            )
            return sorted(session.scalars(query))

    def codings(self) -> list[tuple[int, str]]:
        with self.sessions() as session:
            rows = session.scalars(select(CommentCoding).order_by(CommentCoding.comment_id))
            return [(c.comment_id, c.codes) for c in rows]


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency, role in [
            ("zhang", None, "staff"),
            ("li", None, "staff"),
            ("wang", "water", "officer"),
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
        comments = [_comment(number, text) for number, text in enumerate(TEXTS, start=1)]
        session.add_all(comments)
        session.flush()
        ids = [c.id for c in comments]
    app = FastAPI()
    app.include_router(opinion_coding_router(sessions=sessions, profile=profile), prefix="/desk")
    media = MediaStore(tmp_path / "media")
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions, ids)


def _comment(number: int, text: str) -> Comment:
    suggested = "noise" if "噪音" in text else "parking"
    return Comment(
        source="complaint",
        source_id=number,
        agency="urban-management",
        category="neighbour-noise" if suggested == "noise" else "illegal-parking",
        district="xihu",
        created_at=datetime(2026, 3, 10, tzinfo=UTC),
        month="2026-03",
        language="zh",
        assurance="verified_phone",
        text=text,
        codes=[CommentCode(kind="suggested", code=suggested)],
    )


def _text(markup: str) -> str:
    return html.unescape(" ".join(TAGS.sub(" ", markup).split()))


def _message(response: Response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def _code(
    client: TestClient, comment_id: int, codes: list[str], page: str = COMMENTS, **extra: str
) -> Response:
    """Post the coding form as the page offers it: the first code as primary."""
    data: dict[str, str | list[str]] = {
        "csrf": _csrf(client.get(page).text),
        "primary": codes[0] if codes else "",
        "code": codes[1:],
        **extra,
    }
    url = page if "/items/" in page else f"{COMMENTS}/{comment_id}"
    return client.post(url, data=data, follow_redirects=False)


def test_the_office_codes_a_comment_and_sees_its_accepted_codes(desk: Desk) -> None:
    client = desk.login("zhang")
    page = client.get(COMMENTS)
    assert page.status_code == 200
    assert "晚上工地施工噪音太吵" in page.text
    # the suggested code is the form's primary code to start with
    first = desk.comment_ids[0]
    assert re.search(rf'id="c{first}-noise" name="code" value="noise" checked', page.text)

    response = _code(client, first, ["parking", "noise"], back=f"{COMMENTS}?source=complaint")
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"{COMMENTS}?source=complaint#comment-{first}",
    )
    assert desk.accepted(first) == ["noise", "parking"]
    assert desk.codings() == [(first, "parking,noise")]
    shown = _text(client.get(f"{COMMENTS}?coded=yes").text)
    assert "Codes saved." in shown
    assert "Accepted codes Noise, Parking Your codes Parking, Noise" in shown
    assert "1 comments (page 1 of 1)" in shown


def test_an_agency_user_is_turned_away(desk: Desk) -> None:
    client = desk.login("wang")
    for url in (COMMENTS, SAMPLES):
        response = client.get(url)
        assert response.status_code == 403
        assert _message(response) == "Coding comments is for the evaluation office's staff only."
        assert "噪音" not in response.text
    response = client.post(f"{COMMENTS}/{desk.comment_ids[0]}", data={"primary": "noise"})
    assert response.status_code == 403
    assert desk.codings() == []


def test_a_post_without_the_csrf_token_is_refused_and_nothing_written(desk: Desk) -> None:
    client = desk.login("zhang")
    first = desk.comment_ids[0]
    response = client.post(f"{COMMENTS}/{first}", data={"primary": "noise", "csrf": "forged"})
    assert response.status_code == 403
    drawn = client.post(SAMPLES, data={"n": "2", "seed": "1"})
    assert drawn.status_code == 403
    assert desk.codings() == [] and desk.accepted(first) == []
    with desk.sessions() as session:
        assert session.scalars(select(CodingSample)).all() == []


@pytest.mark.parametrize(
    ("lang", "codes", "expected"),
    [
        (
            "en",
            ["noise", "parking-fees"],
            "Unknown code: parking-fees. Choose codes from the codebook.",
        ),
        ("zh", ["noise", "parking-fees"], "未知编码：parking-fees。请从编码表中选择。"),
        ("en", [], "Choose at least one code."),
        ("zh", [], "请至少选择一个编码。"),
    ],
)
def test_bad_codes_get_a_400_that_says_why_and_nothing_is_written(
    desk: Desk, lang: str, codes: list[str], expected: str
) -> None:
    client = desk.login("zhang", lang)
    response = _code(client, desk.comment_ids[0], codes)
    assert (response.status_code, _message(response)) == (400, expected)
    assert desk.codings() == [] and desk.accepted(desk.comment_ids[0]) == []


@pytest.mark.parametrize(
    ("lang", "query", "expected"),
    [
        ("en", "source=tweets", "Source: “tweets” is not one of the choices."),
        ("zh", "month=2026-13", "月份：“2026-13”不是可选的值。"),
        ("en", "code=parking-fees", "Code: “parking-fees” is not one of the choices."),
    ],
)
def test_a_bad_filter_gets_a_400_that_says_which(
    desk: Desk, lang: str, query: str, expected: str
) -> None:
    response = desk.login("zhang", lang).get(f"{COMMENTS}?{query}")
    assert (response.status_code, _message(response)) == (400, expected)


@pytest.mark.parametrize(
    ("lang", "fields", "expected"),
    [
        ("en", {"n": "0", "seed": "1"}, "The sample size must be a whole number from 1 to 1000."),
        ("zh", {"n": "5", "seed": "abc"}, "随机种子：“abc”不是可选的值。"),
        (
            "en",
            {"n": "5", "seed": "1", "agency": "water"},
            "No comment matches the filter: there is nothing to draw.",
        ),
    ],
)
def test_a_bad_sample_gets_a_400_and_nothing_is_drawn(
    desk: Desk, lang: str, fields: dict[str, str], expected: str
) -> None:
    client = desk.login("zhang", lang)
    token = _csrf(client.get(SAMPLES).text)
    response = client.post(SAMPLES, data={"csrf": token, **fields})
    assert (response.status_code, _message(response)) == (400, expected)
    with desk.sessions() as session:
        assert session.scalars(select(CodingSample)).all() == []


def test_two_coders_code_a_sample_blind_and_read_their_agreement(desk: Desk) -> None:
    zhang, li = desk.login("zhang"), desk.login("li")
    token = _csrf(zhang.get(SAMPLES).text)
    drawn = zhang.post(
        SAMPLES,
        data={"csrf": token, "n": "2", "seed": "5", "name": "March"},
        follow_redirects=False,
    )
    assert drawn.status_code == 303
    sample = drawn.headers["location"]
    noise, parking = desk.comment_ids
    assert "The agreement is measured once two coders" in _text(zhang.get(sample).text)

    nxt = zhang.get(f"{sample}/next", follow_redirects=False)
    assert nxt.headers["location"] == f"{sample}/items/{noise}"
    saved = _code(zhang, noise, ["noise"], page=f"{sample}/items/{noise}")
    assert saved.headers["location"] == f"{sample}/next"
    _code(zhang, parking, ["parking"], page=f"{sample}/items/{parking}")
    assert desk.accepted(noise) == []  # one coder alone sets nothing

    item = li.get(f"{sample}/items/{noise}")
    assert "Codes of Zhang" not in item.text  # blind until Li has coded it too
    _code(li, noise, ["noise"], page=f"{sample}/items/{noise}")
    _code(li, parking, ["noise"], page=f"{sample}/items/{parking}")
    assert desk.accepted(noise) == ["noise"] and desk.accepted(parking) == []
    assert "Codes of Zhang Noise" in _text(li.get(f"{sample}/items/{noise}").text)

    # primary codes: (noise, noise), (parking, noise): p_o = 1/2, p_e = (1×2 + 1×0)/4 = 1/2,
    # so kappa = 0
    shown = _text(zhang.get(sample).text)
    assert "Cohen's kappa (primary code) 0.00" in shown
    assert "Observed agreement 0.50 Expected by chance 0.50" in shown
    assert "Disagreements to decide (1)" in shown
    token = _csrf(zhang.get(sample).text)
    decided = zhang.post(
        f"{sample}/items/{parking}/adjudicate",
        data={"csrf": token, "primary": "parking"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert desk.accepted(parking) == ["parking"]
    assert "The office decided: Parking" in _text(zhang.get(sample).text)


LOCALES = PROJECT_ROOT / "civic" / "i18n" / "locales"


def _flat(data: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def test_the_coding_texts_have_the_same_keys_and_placeholders_in_both_languages() -> None:
    zh, en = (
        _flat(yaml.safe_load((LOCALES / f"opinion_coding.{lang}.yml").read_text("utf-8")))
        for lang in ("zh", "en")
    )
    assert len(zh) > 100 and sorted(zh) == sorted(en)
    assert {key for key in zh if placeholders(zh[key]) != placeholders(en[key])} == set()
