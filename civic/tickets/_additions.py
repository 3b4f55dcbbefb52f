"""What a citizen adds to their report after filing it (on their report page): more
information, a photo, or both, recorded as one ticket event the agency sees on the desk.

The event keeps the ticket's status (it moves nothing), is not public (it is the
citizen's own text, for the agency) and notifies nobody: the citizen was answered on
the page, and the agency sees it in the ticket's history."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civic.errors import UserFacingError
from storage.models import Ticket, TicketEvent, utcnow

CITIZEN = "citizen"
MAX_ADDITION = 2000


class AdditionRefused(UserFacingError):
    """Nothing to add, or too much; `key` names the citizen's explanation."""


def add_information(
    *, session: Session, ticket: Ticket, text: str | None, photo: str | None
) -> TicketEvent:
    """Record the citizen's addition on the ticket; `photo` is a stored media name."""
    note = (text or "").strip() or None
    if note is None and not photo:
        raise AdditionRefused("reports.page.error.empty")
    if note is not None and len(note) > MAX_ADDITION:
        raise AdditionRefused("reports.page.error.too_long", limit=MAX_ADDITION)
    event = TicketEvent(
        actor=CITIZEN,
        from_status=ticket.status,
        to_status=ticket.status,
        note=note,
        photo=photo or None,
        public=False,
    )
    ticket.events.append(event)
    event.at = utcnow()
    session.flush()
    return event
