"""Closing the loop with the citizen after an agency reports a problem fixed, and telling
everyone when a ticket runs past its due time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.duty import enqueue_escalation
from civic.errors import AccessDenied, IllegalTransition
from civic.identity import ANONYMOUS
from civic.notifications import enqueue_notice, fixed_question_buttons
from civic.tickets._service import transition
from civic.tickets._states import OPEN_STATUSES, Status
from storage.models import Citizen, Ticket, TicketEvent, utcnow

SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
REMIND_AFTER = timedelta(days=3)
CLOSE_AFTER = timedelta(days=7)
# The internal notes the system itself writes in a ticket's history.
UNCONFIRMED_NOTE = "closed unconfirmed: no answer from the citizen in 7 days"
OVERDUE_NOTE = "overdue: escalated to the agency's supervisors"


def _check_reporter(ticket: Ticket, citizen_id: int) -> None:
    """Only the citizen who filed the ticket confirms the fix and rates it: a follower's
    answer would count against (or for) the agency in someone else's name."""
    if ticket.citizen_id is None or ticket.citizen_id != citizen_id:
        raise AccessDenied(f"only the citizen who filed {ticket.number} answers for it")


def answer_fixed(*, session: Session, ticket: Ticket, citizen_id: int, fixed: bool) -> None:
    """The reporter's answer to "Is the problem solved?". "Not yet" reopens the ticket
    (the event counts against the agency); "Solved" waits for the rating."""
    _check_reporter(ticket, citizen_id)
    if ticket.status != Status.RECTIFIED:
        raise IllegalTransition(f"ticket {ticket.number} is not waiting for confirmation")
    ticket.fixed_confirmed = fixed
    if not fixed:
        transition(
            session=session,
            ticket=ticket,
            to_status=Status.REOPENED,
            actor="citizen",
        )


def rate(*, session: Session, ticket: Ticket, citizen_id: int, satisfaction: str) -> None:
    """The citizen's satisfaction after confirming the fix; the ticket closes."""
    _check_reporter(ticket, citizen_id)
    if satisfaction not in SATISFACTION:
        raise ValueError(f"unknown satisfaction {satisfaction!r}")
    if ticket.status != Status.RECTIFIED or ticket.fixed_confirmed is not True:
        raise IllegalTransition(f"ticket {ticket.number} is not waiting for a rating")
    ticket.satisfaction = satisfaction
    # the level the rating was given at decides whether it counts in published figures
    reporter = session.get(Citizen, citizen_id)
    ticket.satisfaction_assurance = reporter.assurance if reporter else ANONYMOUS
    transition(session=session, ticket=ticket, to_status=Status.CLOSED, actor="citizen")


def _rectified_since(session: Session, ticket: Ticket) -> datetime | None:
    return session.scalars(
        select(TicketEvent.at)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.to_status == Status.RECTIFIED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()


def follow_up_rectified(*, session: Session, now: datetime | None = None) -> tuple[int, int]:
    """Unanswered rectifications: one reminder after 3 days, closed as unconfirmed
    after 7. Returns (reminded, closed)."""
    now = now or utcnow()
    reminded = closed = 0
    waiting = session.scalars(
        select(Ticket).where(Ticket.status == Status.RECTIFIED, Ticket.fixed_confirmed.is_(None))
    )
    for ticket in list(waiting):
        since = _rectified_since(session, ticket)
        if since is None:
            continue
        since = since if since.tzinfo else since.replace(tzinfo=now.tzinfo)
        if now - since >= CLOSE_AFTER:
            transition(
                session=session,
                ticket=ticket,
                to_status=Status.CLOSED,
                actor="system",
                note=UNCONFIRMED_NOTE,
            )
            closed += 1
        elif now - since >= REMIND_AFTER and ticket.reminded_at is None:
            params = {
                "number": ticket.number,
                "buttons": fixed_question_buttons(ticket.number or ""),
            }
            enqueue_notice(
                session=session,
                ticket=ticket,
                body_key="notify.fixed_reminder",
                params=params,
                key=f"reminder:{ticket.id}",
                followers=False,
            )
            ticket.reminded_at = now
            reminded += 1
    return reminded, closed


def flag_overdue(*, session: Session, now: datetime | None = None) -> int:
    """Open tickets past their due time: flagged once (the desk marks them escalated),
    the agency's supervisors are told on Telegram (privately, and in the duty group) and
    the citizen is told honestly that it is late and escalated."""
    now = now or utcnow()
    late = session.scalars(
        select(Ticket).where(
            Ticket.status.in_([s.value for s in OPEN_STATUSES if s != Status.RECTIFIED]),
            Ticket.due_at.is_not(None),
            Ticket.due_at < now,
            Ticket.overdue_at.is_(None),
        )
    )
    count = 0
    for ticket in list(late):
        ticket.overdue_at = now
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                actor="system",
                from_status=ticket.status,
                to_status=ticket.status,
                note=OVERDUE_NOTE,
                public=False,
            )
        )
        enqueue_notice(
            session=session,
            ticket=ticket,
            body_key="notify.overdue",
            params={"number": ticket.number},
            key=f"overdue:{ticket.id}",
        )
        enqueue_escalation(session=session, ticket=ticket)
        count += 1
    return count
