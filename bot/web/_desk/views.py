"""What the desk's templates show, built from tickets while their session is open: labels
in the reader's language, times in the city's time zone, deadlines as countdowns.

Citizen personal data never gets here: a view holds the ticket's own fields and its
contact preference, never the citizen's chat ids or phone number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.web._desk.texts import Translate
from civic.city import Profile
from civic.i18n import localised
from civic.tickets import TRANSITIONS, WAITING, Status
from storage.models import Ticket, TicketEvent

FINISHED = {Status.RECTIFIED.value, Status.CLOSED.value, Status.MERGED.value}
CONTACTS = {"anonymous", "chat", "phone"}


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; ours are all UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Labels:
    """Names of codes and times, in one language."""

    profile: Profile
    lang: str
    t: Translate

    def category(self, code: str) -> str:
        found = self.profile.categories.get(code)
        return found.label(self.lang) if found else code

    def agency(self, code: str | None) -> str:
        if code is None:
            return self.t("ticket.triage")
        found = self.profile.agencies.get(code)
        return found.label(self.lang) if found else code

    def district(self, code: str | None) -> str:
        found = self.profile.districts.get(code or "")
        return localised(found.name, self.lang) if found else self.t("ticket.unknown_district")

    def status(self, code: str | None) -> str:
        return self.t(f"status.{code}") if code in Status.__members__.values() else str(code)

    def time(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return aware(moment).astimezone(ZoneInfo(self.profile.timezone)).strftime("%Y-%m-%d %H:%M")

    def amount(self, delta: timedelta) -> str:
        """A span as '40 min', '5 h' or '3 d 2 h' (rounded down)."""
        minutes = int(delta.total_seconds() // 60)
        if minutes < 60:
            return self.t("unit.minutes", n=max(minutes, 1))
        hours = minutes // 60
        if hours < 48:
            return self.t("unit.hours", n=hours)
        days = self.t("unit.days", n=hours // 24)
        return f"{days} {self.t('unit.hours', n=hours % 24)}" if hours % 24 else days


@dataclass(frozen=True)
class Deadline:
    text: str
    overdue: bool


def deadline(labels: Labels, ticket: Ticket, now: datetime) -> Deadline:
    """The SLA countdown: 'due in 5 h' or 'overdue by 2 h' while the agency still owes a fix."""
    if ticket.status == Status.RECTIFIED:
        return Deadline(labels.t("sla.done"), False)
    if ticket.status in FINISHED:
        return Deadline(labels.t("sla.closed"), False)
    if ticket.due_at is None:
        return Deadline(labels.t("sla.none"), False)
    left = aware(ticket.due_at) - now
    if left >= timedelta(0):
        return Deadline(labels.t("sla.due_in", amount=labels.amount(left)), False)
    return Deadline(labels.t("sla.overdue_by", amount=labels.amount(-left)), True)


def escalated(ticket: Ticket) -> bool:
    """Flagged overdue, so escalated to the agency's supervisors, and still owed a fix."""
    return ticket.overdue_at is not None and ticket.status not in FINISHED


@dataclass(frozen=True)
class InboxRow:
    number: str
    category: str
    district: str
    agency: str
    status: str
    created: str
    deadline: Deadline
    escalated: bool


def inbox_rows(labels: Labels, tickets: list[Ticket], now: datetime) -> list[InboxRow]:
    return [
        InboxRow(
            number=ticket.number or "",
            category=labels.category(ticket.category),
            district=labels.district(ticket.district),
            agency=labels.agency(ticket.agency),
            status=labels.status(ticket.status),
            created=labels.time(ticket.created_at),
            deadline=deadline(labels, ticket, now),
            escalated=escalated(ticket),
        )
        for ticket in tickets
    ]


@dataclass(frozen=True)
class Photo:
    url: str
    local: bool


def photo_of(reference: str | None) -> Photo | None:
    """A stored photo is served by the desk; an http(s) URL (from Open311) is only linked,
    so the page loads nothing from elsewhere; anything else is not shown."""
    if not reference:
        return None
    if reference.startswith(("https://", "http://")):
        return Photo(reference, local=False)
    if "/" in reference or "\\" in reference or reference.startswith("."):
        return None
    return Photo(f"/desk/media/{quote(reference)}", local=True)


@dataclass(frozen=True)
class EventView:
    at: str
    who: str
    change: str
    note: str | None
    public: bool
    photo: Photo | None
    photo_alt: str = "timeline.photo_alt"  # the catalogue key of the photo's description


def _who(labels: Labels, actor: str) -> str:
    kind, _, name = actor.partition(":")
    if actor in ("citizen", "router"):
        return labels.t(f"actor.{actor}")
    if kind == "apikey":
        return labels.t("actor.apikey", name=name)
    return name if kind == "user" else actor


def event_view(labels: Labels, event: TicketEvent, photo: str | None) -> EventView:
    to = labels.status(event.to_status)
    added = event.actor == "citizen" and event.from_status == event.to_status
    if event.from_status is None:
        change = labels.t("timeline.filed", to=to)
    elif added:  # what the citizen added on their report page
        change = labels.t("timeline.added")
    else:
        change = labels.t("timeline.change", **{"from": labels.status(event.from_status), "to": to})
    return EventView(
        at=labels.time(event.at),
        who=_who(labels, event.actor),
        change=change,
        note=event.note,
        public=event.public,
        photo=photo_of(photo),
        photo_alt="timeline.citizen_photo_alt" if added else "timeline.photo_alt",
    )


def allowed_actions(ticket: Ticket) -> frozenset[str]:
    """The forms worth showing in the ticket's status (storage checks again on submit)."""
    moves = TRANSITIONS.get(Status(ticket.status), frozenset())
    waiting = ticket.agency is None and ticket.status in WAITING
    shown = {
        "accept": Status.ACCEPTED in moves and ticket.agency is not None,
        "progress": Status.IN_PROGRESS in moves,
        "rectify": Status.RECTIFIED in moves,
        "reroute": Status.REROUTED in moves or waiting,
    }
    return frozenset(action for action, show in shown.items() if show)


@dataclass(frozen=True)
class TicketView:
    number: str
    description: str
    status: str
    status_code: str
    category: str
    agency: str
    district: str
    address: str | None
    position: str | None
    map_url: str | None
    contact: str
    created: str
    due: str
    deadline: Deadline
    photo: Photo | None
    events: list[EventView]
    actions: frozenset[str]
    waiting: bool
    targets: list[tuple[str, str]]
    escalated: bool


def _position(ticket: Ticket) -> tuple[str | None, str | None]:
    """The coordinates as text, and a link to them on OpenStreetMap."""
    if ticket.lat is None or ticket.long is None:
        return None, None
    lat, long = f"{ticket.lat:.6f}", f"{ticket.long:.6f}"
    return f"{lat}, {long}", f"https://www.openstreetmap.org/?mlat={lat}&mlon={long}"


def ticket_view(
    labels: Labels, ticket: Ticket, photos: dict[int, str], now: datetime
) -> TicketView:
    position, map_url = _position(ticket)
    contact = ticket.contact if ticket.contact in CONTACTS else "anonymous"
    return TicketView(
        number=ticket.number or "",
        description=ticket.description,
        status=labels.status(ticket.status),
        status_code=ticket.status,
        category=labels.category(ticket.category),
        agency=labels.agency(ticket.agency),
        district=labels.district(ticket.district),
        address=ticket.address_text,
        position=position,
        map_url=map_url,
        contact=labels.t(f"contact.{contact}"),
        created=labels.time(ticket.created_at),
        due=labels.time(ticket.due_at),
        deadline=deadline(labels, ticket, now),
        photo=photo_of(ticket.photo),
        events=[event_view(labels, e, photos.get(e.id)) for e in ticket.events],
        actions=allowed_actions(ticket),
        waiting=ticket.agency is None and ticket.status in WAITING,
        targets=[
            (code, agency.label(labels.lang))
            for code, agency in labels.profile.agencies.items()
            if code != ticket.agency
        ],
        escalated=escalated(ticket),
    )
