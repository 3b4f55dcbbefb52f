"""What the citizen's report page shows of a ticket: its facts, and its history as the
citizen may see it (the filing, every public step with its public note and photo, and
what the citizen added themselves; never a desk-only note)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bot.web._reports.render import Words
from civic.city import Profile
from storage.media import ISSUED_NAME
from storage.models import Ticket, TicketEvent

CITIZEN = "citizen"
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class Photo:
    url: str
    local: bool
    alt: str


@dataclass(frozen=True)
class Step:
    at: str
    when: str  # machine-readable, for <time datetime>
    what: str
    note: str | None
    note_label: str
    photo: Photo | None
    added: bool


@dataclass(frozen=True)
class ReportView:
    number: str
    category: str
    agency: str
    district: str
    status: str
    filed: str
    steps: tuple[Step, ...]


def _added(event: TicketEvent) -> bool:
    """The citizen's own addition (a note that moves nothing), not a status change."""
    return event.actor == CITIZEN and event.from_status == event.to_status


def shown(event: TicketEvent) -> bool:
    """The events the citizen's page shows: desk-only ones never."""
    return event.from_status is None or event.public or _added(event)


def page_photos(ticket: Ticket, photos: dict[int, str]) -> set[str]:
    """The stored photos the page may serve: those of the events it shows."""
    return {
        name
        for event in ticket.events
        if shown(event) and (name := photos.get(event.id)) and ISSUED_NAME.match(name)
    }


def _photo(words: Words, token: str, event: TicketEvent, name: str | None) -> Photo | None:
    if not name or event.from_status is None:
        return None
    alt = (
        words.t("page.your_photo_alt")
        if _added(event)
        else words.t("page.photo_alt", status=words.status(event.to_status))
    )
    if name.startswith(("https://", "http://")):
        return Photo(name, local=False, alt=alt)
    if not ISSUED_NAME.match(name):
        return None
    return Photo(f"/my-report/{quote(token)}/photos/{quote(name)}", local=True, alt=alt)


def _step(words: Words, token: str, event: TicketEvent, photo: str | None) -> Step:
    if event.from_status is None:
        what = words.t("page.filed_event")
    elif _added(event):
        what = words.t("page.added_event")
    else:
        what = words.t("page.status_event", status=words.status(event.to_status))
    mine = event.actor == CITIZEN
    return Step(
        at=words.time(event.at),
        when=event.at.isoformat(),
        what=what,
        # the filing's text is the citizen's description: the page does not repeat it
        note=event.note if event.from_status is not None else None,
        note_label=words.t("page.your_note_label" if mine else "page.note_label"),
        photo=_photo(words, token, event, photo),
        added=_added(event),
    )


def report_view(
    words: Words, profile: Profile, ticket: Ticket, photos: dict[int, str], token: str
) -> ReportView:
    category = profile.categories.get(ticket.category)
    agency = profile.agencies.get(ticket.agency or "")
    district = profile.districts.get(ticket.district or "")
    return ReportView(
        number=ticket.number or "",
        category=category.label(words.lang) if category else ticket.category,
        agency=agency.label(words.lang) if agency else words.t("page.agency_unknown"),
        district=district.label(words.lang) if district else words.t("page.district_unknown"),
        status=words.status(ticket.status),
        filed=words.time(ticket.created_at),
        steps=tuple(
            _step(words, token, event, photos.get(event.id))
            for event in ticket.events
            if shown(event)
        ),
    )
