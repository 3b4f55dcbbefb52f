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

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from civic.city import Profile
from civic.errors import InvalidInput
from civic.i18n import detect_language
from civic.identity import ANONYMOUS
from civic.opinion._codebook import Codebook
from civic.opinion._sources import id_of, new_rows
from civic.privacy import redact_text
from storage.models import Comment, CommentCode, Ticket, TicketEvent

SOURCES = ("complaint", "survey", "window", "reopen")
SUGGESTED, ACCEPTED = "suggested", "accepted"
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
        query = new_rows(session, profile, source)
        counts[source] = 0
        after = 0
        while True:
            rows = session.execute(query.where(id_of(source) > after).limit(batch)).all()
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
