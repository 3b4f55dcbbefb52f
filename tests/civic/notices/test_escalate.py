"""Late notices escalated on SQLite and PostgreSQL: an answer not given by its date, then
a milestone not done by its date, each queue one duty message to the Health Commission's
linked supervisor and one to its duty group, once, after the grace days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.notices import MilestoneInput, commit, escalate_overdue, issue, report_progress
from storage.models import AgencyChannel, AgencyUser, DutyMessage, Notice, NoticeEvent
from tests.civic.notices.support import HEALTH, TODAY, add_users, proposed_notice

ZONE = "Asia/Shanghai"
GROUP = "-1002003004"


@pytest.fixture
def users(session: Session) -> dict[str, AgencyUser]:
    found = add_users(session)
    found["health.super"].telegram_user_id = 7001
    session.add(AgencyChannel(agency=HEALTH, telegram_chat_id=GROUP))
    session.commit()
    return found


@pytest.fixture
def notice(session: Session, profile: Profile, users: dict[str, AgencyUser]) -> Notice:
    notice = proposed_notice(session, profile)
    issue(
        session=session,
        user=users["office"],
        notice=notice,
        problem_zh="挂号排队投诉翻倍",
        problem_en="Registration complaints doubled",
        response_due=date(2027, 1, 20),
        today=TODAY,
    )
    session.commit()
    return notice


def _escalate(session: Session, day: int) -> list[tuple[str, int]]:
    now = datetime(2027, 1, day, 2, tzinfo=UTC)  # 10:00 in Hangzhou
    done = escalate_overdue(session=session, now=now, timezone=ZONE, grace_days=3)
    session.commit()
    return [(e.lateness, e.queued) for e in done]


def _messages(session: Session) -> list[tuple[str, str, int | None, str]]:
    rows = session.scalars(select(DutyMessage).order_by(DutyMessage.id))
    return [(m.kind, m.chat_id, m.notice_id, m.idempotency_key) for m in rows]


def test_an_unanswered_notice_is_escalated_once_after_the_grace_days(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    assert _escalate(session, 23) == []  # due the 20th, three days' grace
    assert _escalate(session, 24) == [("response", 2)]
    assert _escalate(session, 25) == []
    supervisor = users["health.super"].id
    assert _messages(session) == [
        ("notice_late", "7001", notice.id, f"duty:notice:{notice.id}:response:user:{supervisor}"),
        ("notice_late", GROUP, notice.id, f"duty:notice:{notice.id}:response:group"),
    ]
    assert notice.escalated_at is not None
    events = session.scalars(select(NoticeEvent).where(NoticeEvent.action == "escalated")).all()
    assert [(e.user_id, e.note_en, e.public) for e in events] == [
        (None, "The agency did not answer by 2027-01-20.", False)
    ]


def test_a_late_milestone_is_escalated_once_and_a_done_one_never(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    coordinator = users["health.coord"]
    commit(
        session=session,
        user=coordinator,
        notice=notice,
        commitment_zh="缩短排队",
        commitment_en="Shorter queues",
        milestones=[
            MilestoneInput("线上号源", "Online appointments", date(2027, 2, 1)),
            MilestoneInput("自助缴费", "Self-service payment", date(2027, 2, 1)),
        ],
        today=TODAY,
    )
    first, second = notice.milestones
    report_progress(
        session=session,
        user=coordinator,
        notice=notice,
        note_zh="上线",
        note_en="Live",
        done=[first.id],
    )
    session.commit()
    assert _escalate(session, 24) == []  # answered in time
    assert session.scalars(select(DutyMessage)).all() == []
    with_grace = datetime(2027, 2, 5, 2, tzinfo=UTC)
    done = escalate_overdue(session=session, now=with_grace, timezone=ZONE, grace_days=3)
    assert [(e.lateness, e.queued) for e in done] == [(f"milestone:{second.id}", 2)]
    again = escalate_overdue(session=session, now=with_grace, timezone=ZONE, grace_days=3)
    assert again == []
    session.commit()
    assert len(_messages(session)) == 2
    assert second.escalated_at is not None and first.escalated_at is None
