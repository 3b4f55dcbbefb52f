"""The citizen's own report page, by link: a signed, unguessable token that names the
ticket, and the per-page form token that guards the page's form.

    HZ-2026-000123 . t1nS8yQ0bVx5cR2dP7eL_w
    ticket number    MAC (22, 128 bits)

The MAC is a truncated HMAC-SHA256 of the number and the ticket's citizen (their internal
id, which the token never shows) under HMAC(CIVIC_SECRET_KEY, "civic report-page v1"),
so no other signed link's key can make one. Erasure unlinks the ticket from its citizen,
and with that every link the citizen was given stops working. No chat id or phone
number is ever in a link. Compared in constant time.

A form token is `<issued>.<MAC>`: when the page was shown, and an HMAC of that and the
page's token under a second derived key. A form posted from elsewhere has none; one
older than FORM_LIFETIME is refused (the page is shown again, with what was typed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import Ticket
from storage.tickets import get_ticket_by_number

MAC_LENGTH = 22
FORM_LIFETIME = timedelta(hours=12)
_TOKEN = re.compile(rf"^([A-Za-z0-9-]{{1,32}})\.([A-Za-z0-9_-]{{{MAC_LENGTH}}})$")
_FORM = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{43})$")
_PAGE_PURPOSE = b"civic report-page v1"
_FORM_PURPOSE = b"civic report-form v1"


def _key(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(secret: str, number: str, citizen_id: int | None) -> str:
    message = f"{number}:{'' if citizen_id is None else citizen_id}".encode()
    return _b64(hmac.new(_key(secret, _PAGE_PURPOSE), message, hashlib.sha256).digest()[:16])


def report_token(*, secret: str, ticket: Ticket) -> str:
    """The token of the ticket's page, for the citizen who filed it."""
    if not ticket.number:
        raise ValueError("a ticket without a number has no page")
    return f"{ticket.number}.{_mac(secret, ticket.number, ticket.citizen_id)}"


def report_url(*, public_url: str, secret: str, ticket: Ticket) -> str:
    """The address of the ticket's page under the site's public address."""
    return f"{public_url.rstrip('/')}/my-report/{report_token(secret=secret, ticket=ticket)}"


def ticket_for_token(*, session: Session, secret: str, token: str) -> Ticket | None:
    """The ticket a well-formed, correctly signed token names; None for anything else,
    including a ticket whose citizen was erased since the link was made."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    number, mac = match.groups()
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        return None
    if not hmac.compare_digest(mac, _mac(secret, number, ticket.citizen_id)):
        return None
    return ticket


def _form_mac(secret: str, token: str, issued: int) -> str:
    message = f"{token}:{issued}".encode()
    return _b64(hmac.new(_key(secret, _FORM_PURPOSE), message, hashlib.sha256).digest())


def form_token(*, secret: str, token: str, now: datetime) -> str:
    """The form token for the page `token` names, shown at `now`."""
    issued = int(now.timestamp())
    return f"{issued}.{_form_mac(secret, token, issued)}"


def form_token_valid(*, secret: str, token: str, form: str, now: datetime) -> bool:
    """True for a form token this page issued within FORM_LIFETIME."""
    match = _FORM.match(form)
    if match is None:
        return False
    issued = int(match.group(1))
    age = now.timestamp() - issued
    if age < -60 or age > FORM_LIFETIME.total_seconds():
        return False
    return hmac.compare_digest(match.group(2), _form_mac(secret, token, issued))
