"""Escalating late notices: a notice issued and not answered by its response date, or a
milestone of its commitment not done by its date, is escalated (after the profile's
grace days) to the agency's supervisors and its duty group on Telegram, through the
duty outbox. Once per notice and lateness: the response (while the notice is issued),
and each milestone (while the notice is committed); `escalated_at` marks the notice and
the milestone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.duty import enqueue_notice_escalation
from civic.i18n import t
from civic.notices._lifecycle import ISSUED
from civic.notices._published import COMMITTED
from storage.models import Notice, NoticeEvent, NoticeMilestone

RESPONSE = "response"


@dataclass(frozen=True)
class Escalation:
    """A notice escalated for one lateness ("response" or "milestone:<id>"), and how
    many duty messages were queued for it."""

    notice: Notice
    lateness: str
    queued: int


def escalate_overdue(
    *, session: Session, now: datetime, timezone: str = "UTC", grace_days: int = 0
) -> list[Escalation]:
    """Escalate every lateness of the day not escalated yet: a response or a milestone
    late by more than `grace_days` on the city's calendar (`timezone`). Nothing is
    committed."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    late_before = today - timedelta(days=grace_days)
    done = []
    for notice in _late_responses(session, late_before):
        done.append(_escalate(session, notice, RESPONSE, now, notice.response_due))
        notice.escalated_at = now
    for notice, milestone in _late_milestones(session, late_before):
        lateness = f"milestone:{milestone.id}"
        done.append(_escalate(session, notice, lateness, now, milestone.due, milestone))
        milestone.escalated_at = notice.escalated_at = now
    session.flush()
    return done


def _late_responses(session: Session, late_before: date) -> list[Notice]:
    query = select(Notice).where(
        Notice.status == ISSUED,
        Notice.escalated_at.is_(None),
        Notice.response_due < late_before,
    )
    return list(session.scalars(query.order_by(Notice.id)))


def _late_milestones(session: Session, late_before: date) -> list[tuple[Notice, NoticeMilestone]]:
    query = (
        select(Notice, NoticeMilestone)
        .join(NoticeMilestone, NoticeMilestone.notice_id == Notice.id)
        .where(
            Notice.status == COMMITTED,
            NoticeMilestone.done_at.is_(None),
            NoticeMilestone.escalated_at.is_(None),
            NoticeMilestone.due < late_before,
        )
        .order_by(Notice.id, NoticeMilestone.position)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def _escalate(
    session: Session,
    notice: Notice,
    lateness: str,
    now: datetime,
    due: date | None,
    milestone: NoticeMilestone | None = None,
) -> Escalation:
    key = "notices.escalated.milestone" if milestone else "notices.escalated.response"
    params = {
        "due": due.isoformat() if due else "",
        "position": milestone.position if milestone else 0,
    }
    session.add(
        NoticeEvent(
            notice_id=notice.id,
            at=now,
            action="escalated",
            note_zh=t(key, "zh", **params),
            note_en=t(key, "en", **params),
            public=False,
        )
    )
    queued = enqueue_notice_escalation(
        session=session, notice_id=notice.id, agency=notice.agency, lateness=lateness
    )
    return Escalation(notice, lateness, len(queued))
