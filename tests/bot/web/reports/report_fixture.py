"""A ticket with a history for the report-page tests: filed by a citizen with a
description and an address nobody else may read, accepted with a public note, worked on
with a desk-only note, and rectified with the agency's photo."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy.orm import Session

from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import attach_photo, create_ticket, report_token, transition
from storage.citizens import get_or_create_citizen
from storage.media import MediaStore

DESCRIPTION = "Streetlight broken outside Mrs Zhou's house, call 13900001111"
ADDRESS = "No. 88 Jiangnan Avenue, flat 1203"
PUBLIC_NOTE = "Crew sent to replace the lamp"
DESK_NOTE = "Supplier late, do not tell the citizen yet"
RECTIFIED_NOTE = "Lamp replaced"


def photo_bytes(kind: str = "JPEG", maker: str | None = None) -> bytes:
    """A real image, with a camera maker in its EXIF when given."""
    image = Image.new("RGB", (8, 6), (200, 40, 40))
    out = io.BytesIO()
    if maker is None:
        image.save(out, kind)
    else:
        exif = image.getexif()
        exif[0x010F] = maker  # Make
        image.save(out, kind, exif=exif.tobytes())
    return out.getvalue()


def media() -> MediaStore:
    return MediaStore(get_settings().var_dir / "media")


def build_report(session: Session, *, language: str = "en") -> tuple[str, str]:
    """The ticket's number and the token of its page."""
    citizen = get_or_create_citizen(
        session=session, channel="telegram", address="777000111", language=language
    )
    ticket = create_ticket(
        session=session,
        citizen_id=citizen.id,
        description=DESCRIPTION,
        language=language,
        decision=RoutingDecision("street-light", "urban-management", "binjiang", 0.9),
        ticket_prefix="HZ",
        due_at=None,
        timezone="Asia/Shanghai",
        address_text=ADDRESS,
        lat=30.2087,
        long=120.2123,
    )
    transition(
        session=session, ticket=ticket, to_status="accepted", actor="user:li", note=PUBLIC_NOTE
    )
    transition(
        session=session,
        ticket=ticket,
        to_status="in_progress",
        actor="user:li",
        note=DESK_NOTE,
        public=False,
    )
    rectified = transition(
        session=session, ticket=ticket, to_status="rectified", actor="user:li", note=RECTIFIED_NOTE
    )
    name = media().save(photo_bytes())
    attach_photo(session=session, event=rectified, photo=name)
    session.commit()
    return ticket.number or "", report_token(secret=get_settings().secret_key, ticket=ticket)
