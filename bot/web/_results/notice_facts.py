"""What may be published of the performance improvement notices, read from their tables
(`storage.models.Notice` and its milestones, events and links) and nothing else.

Only issued notices are public: a proposal the office has not issued, or dismissed, is
never read here. Of the history only the `public` events are read, and never who did
them; of the linked citizens only the counts of their one-tap answers. The facts are
plain values, in both languages, so a page or a report formats them in its reader's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Notice, NoticeLink

# The statuses of an issued notice, in the order a notice moves through them.
PUBLIC_STATUSES = ("issued", "committed", "rectified", "verified")
# When linked citizens are asked "is it better?", and what they can answer.
STAGES = ("committed", "verified")
ANSWERS = ("better", "same", "worse")


@dataclass(frozen=True)
class MilestoneFacts:
    text: dict[str, str]
    due: date
    done_at: datetime | None


@dataclass(frozen=True)
class EventFacts:
    """A public step of the notice's history; who took it is deliberately not here."""

    action: str
    at: datetime
    note: dict[str, str]


@dataclass(frozen=True)
class NoticeFacts:
    number: str
    agency: str
    subject: str
    period: str
    district: str | None
    status: str
    evidence: dict[str, Any]
    problem: dict[str, str]
    commitment: dict[str, str]
    response_due: date | None
    issued_at: datetime | None
    committed_at: datetime | None
    rectified_at: datetime | None
    verified_at: datetime | None
    milestones: tuple[MilestoneFacts, ...]
    events: tuple[EventFacts, ...]
    # stage -> answer -> how many; `asked` is how many citizens are linked
    answers: dict[str, dict[str, int]]
    asked: int


def public_notices(
    *,
    session: Session,
    agency: str | None = None,
    status: str | None = None,
    issued_between: tuple[datetime, datetime] | None = None,
) -> list[NoticeFacts]:
    """The issued notices, newest first, optionally of one agency, in one status, or
    issued in [start, end)."""
    query = select(Notice).where(Notice.status.in_(PUBLIC_STATUSES))
    if agency is not None:
        query = query.where(Notice.agency == agency)
    if status is not None:
        query = query.where(Notice.status == status)
    if issued_between is not None:
        start, end = issued_between
        query = query.where(Notice.issued_at >= start, Notice.issued_at < end)
    query = query.order_by(Notice.issued_at.desc(), Notice.number).options(
        selectinload(Notice.milestones), selectinload(Notice.events)
    )
    notices = list(session.scalars(query))
    answers = answer_counts(session=session, notice_ids=[n.id for n in notices])
    return [_facts(notice, answers.get(notice.id)) for notice in notices]


def public_notice(*, session: Session, number: str) -> NoticeFacts | None:
    """The notice with this number, if it was issued; None otherwise."""
    notice = session.scalars(
        select(Notice)
        .where(Notice.number == number, Notice.status.in_(PUBLIC_STATUSES))
        .options(selectinload(Notice.milestones), selectinload(Notice.events))
    ).one_or_none()
    if notice is None:
        return None
    return _facts(notice, answer_counts(session=session, notice_ids=[notice.id]).get(notice.id))


def public_agencies(*, session: Session) -> list[str]:
    """The agencies with at least one issued notice, for the list's filter."""
    query = select(Notice.agency).where(Notice.status.in_(PUBLIC_STATUSES)).distinct()
    return sorted(session.scalars(query))


def answer_counts(
    *, session: Session, notice_ids: Sequence[int]
) -> dict[int, tuple[dict[str, dict[str, int]], int]]:
    """Per notice: the answers given at each stage, counted in the database, and how many
    citizens are linked."""
    found: dict[int, tuple[dict[str, dict[str, int]], int]] = {
        notice_id: ({stage: {} for stage in STAGES}, 0) for notice_id in notice_ids
    }
    if not notice_ids:
        return found
    ids = list(notice_ids)
    for notice_id, asked in session.execute(
        select(NoticeLink.notice_id, func.count())
        .where(NoticeLink.notice_id.in_(ids))
        .group_by(NoticeLink.notice_id)
    ):
        found[notice_id] = (found[notice_id][0], int(asked))
    for stage in STAGES:
        column = getattr(NoticeLink, f"{stage}_answer")
        rows = session.execute(
            select(NoticeLink.notice_id, column, func.count())
            .where(NoticeLink.notice_id.in_(ids), column.in_(ANSWERS))
            .group_by(NoticeLink.notice_id, column)
        )
        for notice_id, answer, count in rows:
            found[notice_id][0][stage][str(answer)] = int(count)
    return found


def _facts(notice: Notice, answers: tuple[dict[str, dict[str, int]], int] | None) -> NoticeFacts:
    counted, asked = answers or ({stage: {} for stage in STAGES}, 0)
    return NoticeFacts(
        number=notice.number,
        agency=notice.agency,
        subject=notice.subject,
        period=notice.period,
        district=notice.district,
        status=notice.status,
        evidence=_evidence(notice.evidence),
        problem={"zh": notice.problem_zh, "en": notice.problem_en},
        commitment={"zh": notice.commitment_zh, "en": notice.commitment_en},
        response_due=notice.response_due,
        issued_at=notice.issued_at,
        committed_at=notice.committed_at,
        rectified_at=notice.rectified_at,
        verified_at=notice.verified_at,
        milestones=tuple(
            MilestoneFacts({"zh": m.text_zh, "en": m.text_en}, m.due, m.done_at)
            for m in notice.milestones
        ),
        events=tuple(
            EventFacts(e.action, e.at, {"zh": e.note_zh, "en": e.note_en})
            for e in sorted(notice.events, key=lambda e: (as_utc(e.at), e.id))
            if e.public
        ),
        answers=counted,
        asked=asked,
    )


def _evidence(text: str | None) -> dict[str, Any]:
    """The frozen evidence; anything unreadable counts as none rather than break a page."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC), PostgreSQL aware ones.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
