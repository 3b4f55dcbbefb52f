"""Collecting: every free text a citizen gave, from where it already lives, into the comment
store, redacted and with its suggested codes. Each source row is collected once (the store
keeps `source` and `source_id`, unique together), so running again adds only what is new.

    complaint   a ticket's description          tickets
    survey      an answer to a text question    survey_answers (with survey_responses)
    window      a window rating's comment       window_ratings (not while held for review)
    reopen      the reason a ticket reopened    ticket_events (to "reopened", with a note)

A complaint's or reopen reason's agency, category and district follow its ticket: when
the ticket was rerouted after its comment was collected, the next collection moves the
comment too, with the codes its new category suggests (an analyst's accepted codes stay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from civic.city import Profile
from civic.errors import InvalidInput
from civic.i18n import detect_language
from civic.identity import ANONYMOUS
from civic.opinion._codebook import Codebook
from civic.privacy import redact_text
from civic.surveys import get_survey
from civic.tickets import Status
from storage.models import (
    Citizen,
    Comment,
    CommentCode,
    ServiceWindow,
    SurveyAnswer,
    SurveyDefinition,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

SOURCES = ("complaint", "survey", "window", "reopen")
SUGGESTED, ACCEPTED = "suggested", "accepted"
STAFF = "staff"  # the assurance of a reason staff gave, not a citizen
BATCH = 500

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Collected:
    """How many new comments each source gave."""

    counts: dict[str, int]
    moved: int = 0  # comments whose ticket was rerouted since

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def collect_comments(
    *,
    session: Session,
    profile: Profile,
    codebook: Codebook,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> Collected:
    """Store the free texts not yet in the comment store; `progress(source, rows)` is
    called after each batch with the rows of that source so far."""
    zone = ZoneInfo(profile.timezone)
    counts: dict[str, int] = {}
    for source in SOURCES:
        query = _new_rows(session, profile, source)
        counts[source] = 0
        after = 0
        while True:
            rows = session.execute(query.where(_id_of(source) > after).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                _store(session, codebook, source, row, zone)
            session.flush()
            after = rows[-1].id
            counts[source] += len(rows)
            if progress is not None:
                progress(source, counts[source])
    return Collected(counts=counts, moved=_follow_tickets(session, codebook))


_ROUTING = ("agency", "category", "district")


def _follow_tickets(session: Session, codebook: Codebook) -> int:
    """Give the comments of rerouted tickets their ticket's agency, category and district
    again, and the codes the new category suggests; returns how many moved."""
    event = aliased(TicketEvent)
    joins: dict[str, tuple[Any, ColumnElement[bool]]] = {
        "complaint": (Ticket, and_(Comment.source == "complaint", Ticket.id == Comment.source_id)),
        "reopen": (event, and_(Comment.source == "reopen", event.id == Comment.source_id)),
    }
    moved = 0
    for source, (target, on) in joins.items():
        query = select(Comment, Ticket.agency, Ticket.category, Ticket.district).join(target, on)
        if source == "reopen":
            query = query.join(Ticket, Ticket.id == event.ticket_id)
        query = query.where(
            or_(*(getattr(Comment, f).is_distinct_from(getattr(Ticket, f)) for f in _ROUTING))
        )
        for comment, agency, category, district in session.execute(query).all():
            _move(comment, codebook, agency, category, district)
            moved += 1
    session.flush()
    return moved


def _move(
    comment: Comment,
    codebook: Codebook,
    agency: str | None,
    category: str | None,
    district: str | None,
) -> None:
    comment.agency, comment.district = agency, district
    if category == comment.category:
        return
    comment.category = category
    wanted = set(codebook.suggest(comment.text, category))
    kept = [c for c in comment.codes if c.kind != SUGGESTED or c.code in wanted]
    have = {c.code for c in kept if c.kind == SUGGESTED}
    comment.codes = kept + [
        CommentCode(kind=SUGGESTED, code=code) for code in sorted(wanted - have)
    ]


def _store(session: Session, codebook: Codebook, source: str, row: Any, zone: ZoneInfo) -> None:
    text = redact_text(row.text.strip()) or ""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    comment = Comment(
        source=source,
        source_id=row.id,
        agency=row.agency,
        category=row.category,
        district=row.district,
        created_at=created,
        month=created.astimezone(zone).strftime("%Y-%m"),
        language=detect_language(text) or row.language,
        assurance=row.assurance or ANONYMOUS,
        text=text,
        codes=[
            CommentCode(kind=SUGGESTED, code=code) for code in codebook.suggest(text, row.category)
        ],
    )
    session.add(comment)


def _id_of(source: str) -> Any:
    return {
        "complaint": Ticket.id,
        "survey": SurveyAnswer.id,
        "window": WindowRating.id,
        "reopen": TicketEvent.id,
    }[source]


def _not_collected(source: str) -> ColumnElement[bool]:
    return ~exists().where(Comment.source == source, Comment.source_id == _id_of(source))


def _new_rows(session: Session, profile: Profile, source: str) -> Select[Any]:
    """The source's rows with a text and no comment yet, oldest first, each labelled
    id, text, agency, category, district, created_at, language, assurance."""
    none = literal(None)
    query: Any  # one of four selects of the same labelled columns
    if source == "complaint":
        query = (
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
    elif source == "reopen":
        query = (
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
            .where(TicketEvent.to_status == Status.REOPENED.value, _has_text(TicketEvent.note))
        )
    elif source == "survey":
        query = (
            select(
                SurveyAnswer.id,
                SurveyAnswer.value.label("text"),
                SurveyAnswer.agency,
                none.label("category"),
                none.label("district"),
                SurveyAnswer.answered_at.label("created_at"),
                SurveyResponse.language,
                SurveyResponse.assurance,
            )
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(_text_questions(session, profile), _has_text(SurveyAnswer.value))
        )
    else:
        query = (
            select(
                WindowRating.id,
                WindowRating.comment.label("text"),
                ServiceWindow.agency,
                none.label("category"),
                none.label("district"),
                WindowRating.created_at,
                none.label("language"),
                WindowRating.assurance,
            )
            .join(ServiceWindow, ServiceWindow.id == WindowRating.window_id)
            .where(WindowRating.held.is_(False), _has_text(WindowRating.comment))
        )
    return query.where(_not_collected(source)).order_by(_id_of(source))


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


def accept_codes(
    *, session: Session, comment: Comment, codes: list[str], codebook: Codebook
) -> None:
    """An analyst's codes for the comment, in place of any accepted before; from then on
    the comment counts under these, not under its suggested codes."""
    unknown = [code for code in codes if code not in codebook.codes]
    if unknown:
        raise InvalidInput(f"unknown code {', '.join(unknown)} (not in {codebook.path})")
    for old in session.scalars(
        select(CommentCode).where(
            CommentCode.comment_id == comment.id, CommentCode.kind == ACCEPTED
        )
    ):
        session.delete(old)
    session.flush()
    for code in dict.fromkeys(codes):
        session.add(CommentCode(comment_id=comment.id, kind=ACCEPTED, code=code))
    session.flush()
