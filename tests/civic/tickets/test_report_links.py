"""The report page's signed link and its form token, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from civic.privacy import erase_citizen
from civic.routing import RoutingDecision
from civic.tickets import (
    FORM_LIFETIME,
    create_ticket,
    form_token,
    form_token_valid,
    report_token,
    report_url,
    ticket_for_token,
)
from storage.citizens import get_or_create_citizen
from storage.models import Citizen, Ticket, utcnow

SECRET = "a-test-secret-key-of-at-least-32-characters"
DECISION = RoutingDecision("street-light", "urban-management", "binjiang", 0.9)


def filed(session: Session, chat: str | None = "555000999") -> Ticket:
    citizen = (
        get_or_create_citizen(session=session, channel="telegram", address=chat) if chat else None
    )
    return create_ticket(
        session=session,
        citizen_id=citizen.id if citizen else None,
        description="路灯不亮",
        language="zh",
        decision=DECISION,
        ticket_prefix="HZ",
        due_at=None,
    )


def test_a_link_names_the_ticket_and_nothing_else(session: Session) -> None:
    ticket = filed(session)
    token = report_token(secret=SECRET, ticket=ticket)
    number, mac = token.split(".")
    assert number == ticket.number and len(mac) == 22
    assert "555000999" not in token
    url = report_url(public_url="https://civic.example/", secret=SECRET, ticket=ticket)
    assert url == f"https://civic.example/my-report/{token}"
    assert ticket_for_token(session=session, secret=SECRET, token=token) is ticket


def test_a_forged_or_foreign_link_opens_nothing(session: Session) -> None:
    ticket, other = filed(session), filed(session, "555000888")
    token = report_token(secret=SECRET, ticket=ticket)
    mac = token.split(".")[1]
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    for bad in (
        f"{ticket.number}.{flipped}",
        f"{other.number}.{mac}",  # another ticket's number with this MAC
        report_token(secret=SECRET + "x", ticket=ticket),  # another key
        token + "x",
        "",
        "HZ-2026-000001",
    ):
        assert ticket_for_token(session=session, secret=SECRET, token=bad) is None, bad


def test_erasing_the_citizen_ends_every_link_they_were_given(session: Session) -> None:
    ticket = filed(session)
    token = report_token(secret=SECRET, ticket=ticket)
    assert ticket.citizen_id is not None
    citizen = session.get(Citizen, ticket.citizen_id)
    assert citizen is not None
    erase_citizen(session=session, citizen=citizen)
    assert ticket_for_token(session=session, secret=SECRET, token=token) is None


def test_an_anonymous_ticket_has_a_link_too(session: Session) -> None:
    ticket = filed(session, None)
    token = report_token(secret=SECRET, ticket=ticket)
    assert ticket_for_token(session=session, secret=SECRET, token=token) is ticket


def test_a_form_token_is_bound_to_its_page_and_expires() -> None:
    now = utcnow()
    form = form_token(secret=SECRET, token="HZ-1.page", now=now)
    assert form_token_valid(secret=SECRET, token="HZ-1.page", form=form, now=now)
    assert not form_token_valid(secret=SECRET, token="HZ-2.page", form=form, now=now)
    assert not form_token_valid(secret=SECRET + "x", token="HZ-1.page", form=form, now=now)
    later = now + FORM_LIFETIME + timedelta(seconds=1)
    assert not form_token_valid(secret=SECRET, token="HZ-1.page", form=form, now=later)
    assert not form_token_valid(secret=SECRET, token="HZ-1.page", form="garbage", now=now)
