"""Erasure: what "delete my data" does, as one table of rules over the columns the models
mark personal (`info={"personal": KIND}`; the kinds are `storage.models.PERSONAL_KINDS`).

Each rule names a table and how to find the citizen's rows in it, and either deletes
those rows or changes each personal column in them. The rules run in order, so rows found
through other rows (a handoff's messages, a response's answers, the web chat's messages
at the citizen's addresses, the events of the citizen's tickets) go before the rows they
are found through. A test walks the models and fails when a marked column has no rule.

What stays is anonymous and is what the city's statistics need: a ticket's category,
agency, district, road, status, dates and satisfaction, with its description redacted and
its position rounded to about 100 m; survey answers and window ratings, unlinked; the
comment store's redacted texts, whose source rows no longer lead to anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from civic.privacy._redaction import coarse_position, redact_text
from storage.media import MediaStore
from storage.models import (
    Base,
    ChannelAddress,
    Citizen,
    Comment,
    Feedback,
    FrameMember,
    Handoff,
    HandoffMessage,
    NoticeLink,
    Notification,
    OfferedButton,
    OutboundMessage,
    PhoneCode,
    SurveyAnswer,
    SurveyResponse,
    Ticket,
    TicketEvent,
    TicketFollower,
    WindowRating,
    utcnow,
)


@dataclass(frozen=True)
class Change:
    """What erasure writes into one column. `does` is the marker kind it carries out;
    `removes_file` says the old value names a file in the media store."""

    does: str
    value: Callable[[Any, str], Any]  # (row, column name) -> the new value
    removes_file: bool = False


ERASED = Change("erase", lambda row, column: None)
UNLINKED = Change("unlink", lambda row, column: None)
REDACTED = Change("redact", lambda row, column: redact_text(getattr(row, column)))
ROUGH_POSITION = Change("coarsen", lambda row, column: coarse_position(getattr(row, column)))
ROAD_ONLY = Change("coarsen", lambda row, column: row.road)
PHOTO_ERASED = Change("erase", lambda row, column: None, removes_file=True)
NO_CONTACT = Change("erase", lambda row, column: "anonymous")


@dataclass(frozen=True)
class Rule:
    """The citizen's rows in one table (`rows` of the citizen's id), deleted or changed."""

    model: type[Base]
    rows: Callable[[int], ColumnElement[bool]]
    delete: bool = False
    changes: Mapping[str, Change] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


def _at_their_addresses(citizen_id: int) -> ColumnElement[bool]:
    return exists().where(
        ChannelAddress.citizen_id == citizen_id,
        ChannelAddress.channel == OutboundMessage.channel,
        ChannelAddress.address == OutboundMessage.address,
    )


def _their_handoffs(citizen_id: int) -> ColumnElement[bool]:
    return HandoffMessage.handoff_id.in_(select(Handoff.id).where(Handoff.citizen_id == citizen_id))


def _their_responses(citizen_id: int) -> ColumnElement[bool]:
    return SurveyAnswer.response_id.in_(
        select(SurveyResponse.id).where(SurveyResponse.citizen_id == citizen_id)
    )


def _their_tickets(citizen_id: int) -> ColumnElement[bool]:
    return TicketEvent.ticket_id.in_(select(Ticket.id).where(Ticket.citizen_id == citizen_id))


def _their_comments(citizen_id: int) -> ColumnElement[bool]:
    """Comments found through their source rows, which still name the citizen."""
    tickets = select(Ticket.id).where(Ticket.citizen_id == citizen_id)
    sources = {
        "complaint": tickets,
        "reopen": select(TicketEvent.id).where(TicketEvent.ticket_id.in_(tickets)),
        "survey": select(SurveyAnswer.id).where(_their_responses(citizen_id)),
        "window": select(WindowRating.id).where(WindowRating.citizen_id == citizen_id),
    }
    return or_(
        *(
            and_(Comment.source == source, Comment.source_id.in_(ids))
            for source, ids in sources.items()
        )
    )


RULES: tuple[Rule, ...] = (
    # Comments are found through their sources, so they go before those are unlinked;
    # they were stored redacted and stay so, like the tickets' descriptions.
    Rule(Comment, _their_comments, changes={"text": REDACTED}),
    # Web-chat messages waiting at the citizen's sessions, found before the addresses go.
    Rule(OutboundMessage, _at_their_addresses, delete=True),
    Rule(Notification, lambda c: Notification.citizen_id == c, delete=True),
    Rule(HandoffMessage, _their_handoffs, delete=True),
    Rule(Handoff, lambda c: Handoff.citizen_id == c, delete=True),
    Rule(TicketFollower, lambda c: TicketFollower.citizen_id == c, delete=True),
    Rule(OfferedButton, lambda c: OfferedButton.citizen_id == c, delete=True),
    # a number being verified; its HMAC stays a day, so erasing resets no limit on codes
    Rule(PhoneCode, lambda c: PhoneCode.citizen_id == c, changes={"phone": ERASED}),
    Rule(FrameMember, lambda c: FrameMember.citizen_id == c, delete=True),
    # their answers about an improvement notice still count, no longer theirs
    Rule(NoticeLink, lambda c: NoticeLink.citizen_id == c, changes={"citizen_id": UNLINKED}),
    Rule(SurveyAnswer, _their_responses, changes={"value": REDACTED}),
    Rule(
        SurveyResponse, lambda c: SurveyResponse.citizen_id == c, changes={"citizen_id": UNLINKED}
    ),
    Rule(
        WindowRating,
        lambda c: WindowRating.citizen_id == c,
        changes={"comment": REDACTED, "citizen_id": UNLINKED},
    ),
    Rule(
        Feedback,
        lambda c: Feedback.citizen_id == c,
        changes={"text": REDACTED, "citizen_id": UNLINKED},
    ),
    Rule(TicketEvent, _their_tickets, changes={"note": REDACTED, "photo": PHOTO_ERASED}),
    Rule(
        Ticket,
        lambda c: Ticket.citizen_id == c,
        changes={
            "description": REDACTED,
            "address_text": ROAD_ONLY,
            "lat": ROUGH_POSITION,
            "long": ROUGH_POSITION,
            "photo": PHOTO_ERASED,
            "contact": NO_CONTACT,
            "citizen_id": UNLINKED,
        },
    ),
    Rule(ChannelAddress, lambda c: ChannelAddress.citizen_id == c, delete=True),
    Rule(Citizen, lambda c: Citizen.id == c, changes={"phone": ERASED}),
)


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: per table, how many of the citizen's rows were deleted or
    changed; and the photos to delete from the media store once it is committed."""

    rows: dict[str, int]
    photos: tuple[str, ...]


def erase_citizen(*, session: Session, citizen: Citizen) -> Erasure:
    """Forget the person: apply every rule to their rows. The citizen row stays, empty but
    for its pseudonym and `erased_at`, so the notifier knows not to look for them. Delete
    the photos (`delete_photos`) after committing, so a rollback leaves none missing."""
    counts: dict[str, int] = {}
    photos: list[str] = []
    for rule in RULES:
        where = rule.rows(citizen.id)
        if rule.delete:
            result = session.execute(delete(rule.model).where(where))
            counts[rule.table] = int(getattr(result, "rowcount", 0) or 0)
            continue
        rows = session.scalars(select(rule.model).where(where)).all()
        for row in rows:
            photos += _change(row, rule.changes)
        counts[rule.table] = len(rows)
        session.flush()
    citizen.erased_at = utcnow()
    session.flush()
    # The bulk deletes bypassed the loaded objects (the citizen's addresses, say).
    session.expire_all()
    return Erasure(rows=counts, photos=tuple(photos))


def _change(row: Any, changes: Mapping[str, Change]) -> list[str]:
    """Apply the changes to one row; returns the names of files it no longer holds."""
    files = []
    for column, change in changes.items():
        old = getattr(row, column)
        if change.removes_file and old:
            files.append(str(old))
        setattr(row, column, change.value(row, column))
    return files


def delete_photos(*, media: MediaStore, photos: Iterable[str]) -> int:
    """Delete an erasure's photos from the media store; returns how many were there."""
    return sum(media.delete(name) for name in photos)
