"""The desk's side of praise and suggestions: who reads which, what is unread, reading
marks and routing.

The text is the citizen's own words, so it is shown only where it is routed: an agency
reads its own (an officer limited to districts, only those districts'), the evaluation
office reads everyone's and routes what reached no agency. `read_at` records that the
agency read a suggestion; the office marks only the unrouted ones, which are its own queue.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from civic.agencies import HOTLINE
from civic.errors import InvalidInput, NotFound
from storage.models import AgencyUser, Feedback, utcnow

UNROUTED = "none"  # the agency filter's value for suggestions with no agency yet


def _scope(viewer: AgencyUser) -> list[ColumnElement[bool]]:
    """The conditions that keep a desk user to the feedback they may read; the hotline's
    operators read none."""
    if viewer.role == HOTLINE:
        return [false()]
    if viewer.agency is None:
        return []
    conditions: list[ColumnElement[bool]] = [Feedback.agency == viewer.agency]
    if viewer.district_codes:
        conditions.append(Feedback.district.in_(sorted(viewer.district_codes)))
    return conditions


def _waiting(viewer: AgencyUser) -> list[ColumnElement[bool]]:
    """Unread suggestions the viewer is the one to read: the office, the unrouted ones."""
    conditions = [Feedback.kind == "suggestion", Feedback.read_at.is_(None), *_scope(viewer)]
    if viewer.agency is None:
        conditions.append(Feedback.agency.is_(None))
    return conditions


def feedback_for(
    *,
    session: Session,
    viewer: AgencyUser,
    kind: str,
    agency: str | None = None,
    unread: bool = False,
    limit: int = 100,
) -> list[Feedback]:
    """The newest feedback of a kind the viewer may read. `agency` narrows the office's
    view to one agency (`UNROUTED`: those with none); `unread`, to what awaits the viewer."""
    query = select(Feedback).where(Feedback.kind == kind, *_scope(viewer))
    if agency == UNROUTED:
        query = query.where(Feedback.agency.is_(None))
    elif agency is not None:
        query = query.where(Feedback.agency == agency)
    if unread:
        query = query.where(*_waiting(viewer))
    return list(session.scalars(query.order_by(Feedback.id.desc()).limit(limit)))


def unread_suggestions(*, session: Session, viewer: AgencyUser) -> int:
    """How many suggestions wait for the viewer to read them (the desk's navigation)."""
    query = select(func.count()).select_from(Feedback).where(*_waiting(viewer))
    return int(session.scalar(query) or 0)


def may_mark_read(viewer: AgencyUser, feedback: Feedback) -> bool:
    """The agency marks what is routed to it; the office only what is routed to no one."""
    return feedback.kind == "suggestion" and feedback.agency == viewer.agency


def get_feedback(*, session: Session, viewer: AgencyUser, feedback_id: int, kind: str) -> Feedback:
    """One piece of feedback the viewer may read; NotFound otherwise (existence unsaid)."""
    query = select(Feedback).where(
        Feedback.id == feedback_id, Feedback.kind == kind, *_scope(viewer)
    )
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(f"no {kind} {feedback_id}")
    return found


def mark_read(
    *, session: Session, viewer: AgencyUser, feedback_id: int, now: datetime | None = None
) -> Feedback:
    """Record that the suggestion was read; the first reading is the one kept."""
    suggestion = get_feedback(
        session=session, viewer=viewer, feedback_id=feedback_id, kind="suggestion"
    )
    if not may_mark_read(viewer, suggestion):
        raise NotFound(f"no suggestion {feedback_id} to mark")
    if suggestion.read_at is None:
        suggestion.read_at = now or utcnow()
    session.flush()
    return suggestion


def route_suggestion(
    *,
    session: Session,
    viewer: AgencyUser,
    feedback_id: int,
    agency: str,
    known_agencies: Collection[str],
) -> Feedback:
    """The evaluation office sends a suggestion to an agency (again, if it went to the
    wrong one); the new agency has not read it yet."""
    if viewer.agency is not None:
        raise NotFound(f"no suggestion {feedback_id} to route")
    if agency not in known_agencies:
        raise InvalidInput(f"unknown agency '{agency}'")
    suggestion = get_feedback(
        session=session, viewer=viewer, feedback_id=feedback_id, kind="suggestion"
    )
    if suggestion.agency != agency:
        suggestion.agency, suggestion.read_at = agency, None
    session.flush()
    return suggestion
