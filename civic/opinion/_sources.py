"""Where each source's free texts live, as one query per source with the same labelled
columns (id, text, agency, category, district, created_at, language, assurance), and the
rows of it not collected yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.surveys import get_survey
from civic.tickets import Status
from storage.models import (
    Citizen,
    Comment,
    ServiceWindow,
    SurveyAnswer,
    SurveyDefinition,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

STAFF = "staff"  # the assurance of a reason staff gave, not a citizen
SYSTEM = "system"  # the actor of the notes the system writes in a ticket's history
_NONE = literal(None)


def id_of(source: str) -> Any:
    return {
        "complaint": Ticket.id,
        "survey": SurveyAnswer.id,
        "window": WindowRating.id,
        "reopen": TicketEvent.id,
    }[source]


def new_rows(session: Session, profile: Profile, source: str) -> Select[Any]:
    """The source's rows with a text and no comment yet, oldest first."""
    query: Any = _QUERIES[source](session, profile)
    not_collected = ~exists().where(Comment.source == source, Comment.source_id == id_of(source))
    return query.where(not_collected).order_by(id_of(source))


def _complaints(session: Session, profile: Profile) -> Any:
    return (
        select(
            Ticket.id,
            Ticket.description.label("text"),
            Ticket.agency,
            Ticket.category,
            Ticket.district,
            Ticket.created_at,
            Ticket.language,
            Citizen.assurance,
        )
        .outerjoin(Citizen, Citizen.id == Ticket.citizen_id)
        .where(_has_text(Ticket.description))
    )


def _reopen_reasons(session: Session, profile: Profile) -> Any:
    return (
        select(
            TicketEvent.id,
            TicketEvent.note.label("text"),
            Ticket.agency,
            Ticket.category,
            Ticket.district,
            TicketEvent.at.label("created_at"),
            Ticket.language,
            case((TicketEvent.actor == "citizen", Citizen.assurance), else_=STAFF).label(
                "assurance"
            ),
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(Citizen, Citizen.id == Ticket.citizen_id)
        .where(
            TicketEvent.to_status == Status.REOPENED.value,
            # the move into "reopened", not a note the system adds to a reopened ticket
            # (overdue: from and to the same status)
            TicketEvent.from_status.is_distinct_from(Status.REOPENED.value),
            TicketEvent.actor != SYSTEM,
            _has_text(TicketEvent.note),
        )
    )


def _survey_answers(session: Session, profile: Profile) -> Any:
    return (
        select(
            SurveyAnswer.id,
            SurveyAnswer.value.label("text"),
            SurveyAnswer.agency,
            _NONE.label("category"),
            _NONE.label("district"),
            SurveyAnswer.answered_at.label("created_at"),
            SurveyResponse.language,
            SurveyResponse.assurance,
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(_text_questions(session, profile), _has_text(SurveyAnswer.value))
    )


def _window_comments(session: Session, profile: Profile) -> Any:
    return (
        select(
            WindowRating.id,
            WindowRating.comment.label("text"),
            ServiceWindow.agency,
            _NONE.label("category"),
            _NONE.label("district"),
            WindowRating.created_at,
            _NONE.label("language"),
            WindowRating.assurance,
        )
        .join(ServiceWindow, ServiceWindow.id == WindowRating.window_id)
        .where(WindowRating.held.is_(False), _has_text(WindowRating.comment))
    )


_QUERIES: dict[str, Callable[[Session, Profile], Any]] = {
    "complaint": _complaints,
    "survey": _survey_answers,
    "window": _window_comments,
    "reopen": _reopen_reasons,
}


def _has_text(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.length(func.trim(column)) > 0)


def _text_questions(session: Session, profile: Profile) -> ColumnElement[bool]:
    """Answers to the text questions of each survey, as its current definition has them."""
    wanted = []
    for key in session.scalars(select(SurveyDefinition.key)):
        survey = get_survey(session=session, key=key, agencies=profile.agencies)
        questions = {q.id for q in survey.questions() if q.type == "text"} if survey else set()
        if questions:
            wanted.append(
                and_(SurveyResponse.survey_key == key, SurveyAnswer.question.in_(questions))
            )
    return or_(*wanted) if wanted else false()
