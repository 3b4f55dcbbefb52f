"""The citizen's report page by its signed link, on SQLite and PostgreSQL: what it shows
(the history and the public notes, never a desk-only note), what a bad link gets, and
adding information and a photo, which the agency then sees on the desk."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import create_app
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.privacy import erase_citizen
from storage.db import session_factory
from storage.media import MAX_PHOTO_BYTES
from storage.models import Citizen, Ticket, TicketEvent
from tests.bot.web.desk.test_router import PASSWORD, _login
from tests.bot.web.reports.report_fixture import (
    ADDRESS,
    DESCRIPTION,
    DESK_NOTE,
    PUBLIC_NOTE,
    RECTIFIED_NOTE,
    build_report,
    media,
    photo_bytes,
)
from tests.bot.web.test_results import text

FORM = re.compile(r'name="form" value="([^"]+)"')
IMG = re.compile(r'<img class="photo" src="([^"]+)"')


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def site(sessions: sessionmaker[Session], profile: Profile) -> Iterator[TestClient]:
    app = create_app(None, sessions=sessions, profile=profile)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@pytest.fixture
def report(sessions: sessionmaker[Session]) -> tuple[str, str]:
    with sessions() as session:
        return build_report(session)


def events(sessions: sessionmaker[Session], number: str) -> list[TicketEvent]:
    with sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        return list(ticket.events)


def send(
    site: TestClient, token: str, text_value: str, photo: bytes | None = None, form: str = ""
) -> object:
    page = site.get(f"/my-report/{token}?lang=en")
    fields = {"text": text_value, "form": form or FORM.findall(page.text)[0]}
    files = {"photo": ("p.jpg", photo, "image/jpeg")} if photo is not None else None
    return site.post(
        f"/my-report/{token}?lang=en", data=fields, files=files, follow_redirects=False
    )


def test_the_page_shows_the_history_and_the_public_notes_only(
    site: TestClient, report: tuple[str, str]
) -> None:
    number, token = report
    page = site.get(f"/my-report/{token}")
    shown = text(page.text)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert f"Report {number}" in shown  # the ticket's language, English here
    for fact in ("Street lights", "City Management Bureau", "Binjiang"):
        assert fact in shown
    assert "You filed the report" in shown
    assert f"Status: accepted The department's note: {PUBLIC_NOTE}" in shown
    assert f"Status: reported fixed The department's note: {RECTIFIED_NOTE}" in shown
    assert DESK_NOTE not in page.text and "in progress" not in shown
    assert DESCRIPTION not in page.text and ADDRESS not in page.text
    # the agency's photo, served by the page itself
    [photo] = IMG.findall(page.text)
    image = site.get(photo)
    assert (image.status_code, image.headers["content-type"]) == (200, "image/jpeg")
    # the other language, by the switch
    chinese = text(site.get(f"/my-report/{token}?lang=zh").text)
    assert f"诉件 {number}" in chinese and f"部门说明： {PUBLIC_NOTE}" in chinese


def test_a_tampered_unknown_or_erased_link_is_a_friendly_404(
    site: TestClient, sessions: sessionmaker[Session], report: tuple[str, str]
) -> None:
    number, token = report
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_number = number[:-1] + ("9" if not number.endswith("9") else "8")
    for bad in (tampered, f"{other_number}.{token.split('.')[1]}", "nonsense", number):
        page = site.get(f"/my-report/{bad}?lang=en")
        assert page.status_code == 404, bad
        assert "This link does not open a report." in text(page.text)
        posted = site.post(f"/my-report/{bad}", data={"text": "x", "form": "1.x"})
        assert posted.status_code == 404
    with sessions.begin() as session:
        citizen = session.scalars(select(Citizen)).one()
        erase_citizen(session=session, citizen=citizen)
    assert site.get(f"/my-report/{token}").status_code == 404


def test_adding_text_and_a_photo_records_an_event_the_desk_shows(
    site: TestClient,
    sessions: sessionmaker[Session],
    profile: Profile,
    report: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number, token = report
    sent = send(site, token, "The lamp flickers again at night", photo_bytes(maker="SecretCam"))
    assert sent.status_code == 303  # type: ignore[attr-defined]
    after = site.get(sent.headers["location"])  # type: ignore[attr-defined]
    shown = text(after.text)
    assert "Thank you: the department can now see what you added." in shown
    assert "You added information You wrote: The lamp flickers again at night" in shown

    added = events(sessions, number)[-1]
    assert (added.actor, added.public, added.note) == (
        "citizen",
        False,
        "The lamp flickers again at night",
    )
    assert added.photo is not None
    stored = (media().directory / added.photo).read_bytes()
    assert stored.startswith(b"\xff\xd8") and b"SecretCam" not in stored

    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    with sessions.begin() as session:
        create_user(
            session=session,
            username="li",
            password=PASSWORD,
            agency="urban-management",
            role="officer",
            display_name="Li",
            known_agencies=set(profile.agencies),
        )
    desk = TestClient(site.app, headers={"Accept-Language": "en"})
    _login(desk, "li", PASSWORD)
    ticket_page = desk.get(f"/desk/tickets/{number}")
    assert "Added on the report page" in text(ticket_page.text)
    assert "The lamp flickers again at night" in ticket_page.text
    assert desk.get(f"/desk/media/{added.photo}").status_code == 200


@pytest.mark.parametrize(
    ("photo", "status", "message"),
    [
        (b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES, 413, "That photo is larger than 10 MB."),
        (b"GIF89a" + b"\x00" * 64, 415, "That file is not a JPEG, PNG or WebP photo."),
        (b"\xff\xd8\xff\xe1\xff\xff broken", 415, "That file is not a JPEG, PNG or WebP photo."),
    ],
)
def test_an_oversize_or_non_image_upload_is_refused_and_the_text_kept(
    site: TestClient,
    sessions: sessionmaker[Session],
    report: tuple[str, str],
    photo: bytes,
    status: int,
    message: str,
) -> None:
    number, token = report
    before = len(events(sessions, number))
    answer = send(site, token, "Keep this text", photo)
    assert answer.status_code == status  # type: ignore[attr-defined]
    body = answer.text  # type: ignore[attr-defined]
    assert message in text(body)
    assert ">Keep this text</textarea>" in body
    assert len(events(sessions, number)) == before
    assert len(list(media().directory.iterdir())) == 1  # only the agency's photo


def test_a_form_without_its_page_token_is_refused_and_the_text_kept(
    site: TestClient, sessions: sessionmaker[Session], report: tuple[str, str]
) -> None:
    number, token = report
    before = len(events(sessions, number))
    for form in ("1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "forged"):
        answer = send(site, token, "From another site", form=form)
        assert answer.status_code == 403  # type: ignore[attr-defined]
        assert "the form did not come from it" in text(answer.text)  # type: ignore[attr-defined]
        assert ">From another site</textarea>" in answer.text  # type: ignore[attr-defined]
    empty = send(site, token, "   ")
    assert empty.status_code == 400  # type: ignore[attr-defined]
    assert "Please write something or choose a photo." in text(empty.text)  # type: ignore[attr-defined]
    assert len(events(sessions, number)) == before


def test_additions_are_rate_limited_per_ticket(
    site: TestClient, sessions: sessionmaker[Session], report: tuple[str, str]
) -> None:
    number, token = report
    answers = [send(site, token, f"note {i}").status_code for i in range(11)]  # type: ignore[attr-defined]
    assert answers == [303] * 10 + [429]
    last = send(site, token, "one more")
    assert "Please try again in" in text(last.text)  # type: ignore[attr-defined]
    assert ">one more</textarea>" in last.text  # type: ignore[attr-defined]
    notes = [e.note for e in events(sessions, number) if e.actor == "citizen" and e.note]
    assert notes == [f"note {i}" for i in range(10)]
