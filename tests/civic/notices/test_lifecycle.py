"""A notice's steps on SQLite and PostgreSQL, from the generated proposal (hospital
registration at the Health Commission): the office issues it, the coordinator commits
to two milestones, reports progress and rectification, the office returns it once and
then verifies it; every step is an event with who did it. Each refusal (an officer or a
supervisor, another agency's coordinator, missing texts, a date in the past, a step after
the notice was closed) says why and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.notices import (
    MilestoneInput,
    NoticeClosed,
    NoticeRefused,
    NotPermitted,
    _lifecycle,
    commit,
    dismiss,
    issue,
    list_notices,
    report_progress,
    report_rectified,
    return_rectification,
    verify,
)
from storage.models import AgencyUser, Notice, NoticeEvent, NoticeMilestone
from tests.civic.notices.support import TODAY, add_users, proposed_notice

PLAN = [
    MilestoneInput("增加线上号源", "More appointments online", date(2027, 3, 1)),
    MilestoneInput("自助机缴费", "Pay at self-service machines", date(2027, 6, 30)),
]


@pytest.fixture
def notice(session: Session, profile: Profile) -> Notice:
    return proposed_notice(session, profile)


@pytest.fixture
def users(session: Session) -> dict[str, AgencyUser]:
    found = add_users(session)
    session.commit()
    return found


def _issue(session: Session, user: AgencyUser, notice: Notice, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "problem_zh": "挂号排队投诉翻倍",
        "problem_en": "Complaints about registration queues doubled",
        "response_due": date(2027, 1, 25),
        "today": TODAY,
        **changes,
    }
    issue(session=session, user=user, notice=notice, **fields)


def _commit(session: Session, user: AgencyUser, notice: Notice, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "commitment_zh": "年内缩短挂号排队时间",
        "commitment_en": "Shorter registration queues within the year",
        "milestones": PLAN,
        "today": TODAY,
        **changes,
    }
    commit(session=session, user=user, notice=notice, **fields)


def _history(session: Session) -> list[tuple[str, str | None, str, bool]]:
    names = {u.id: u.username for u in session.scalars(select(AgencyUser))}
    return [
        (e.action, names.get(e.user_id) if e.user_id else None, e.note_en, e.public)
        for e in session.scalars(select(NoticeEvent).order_by(NoticeEvent.id))
    ]


def test_from_issue_to_verification(
    session: Session, notice: Notice, users: dict[str, AgencyUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[tuple[str, str]] = []
    monkeypatch.setattr(
        _lifecycle,
        "notice_published",
        lambda *, session, notice, stage: published.append((notice.number, stage)),
    )
    office, coordinator = users["office"], users["health.coord"]
    _issue(session, office, notice)
    session.commit()
    assert (notice.status, notice.response_due) == ("issued", date(2027, 1, 25))
    _commit(session, coordinator, notice)
    session.commit()
    assert [(m.position, m.text_en, m.due) for m in notice.milestones] == [
        (1, "More appointments online", date(2027, 3, 1)),
        (2, "Pay at self-service machines", date(2027, 6, 30)),
    ]
    first = notice.milestones[0].id
    report_progress(
        session=session,
        user=coordinator,
        notice=notice,
        note_zh="线上号源增加三成",
        note_en="A third more appointments online",
        done=[first],
    )
    report_rectified(
        session=session, user=coordinator, notice=notice, note_zh="已完成", note_en="Done"
    )
    return_rectification(
        session=session,
        user=office,
        notice=notice,
        reason_zh="自助机尚未启用",
        reason_en="The machines are not running yet",
    )
    assert notice.status == "committed"
    report_rectified(
        session=session, user=coordinator, notice=notice, note_zh="自助机已启用", note_en="Running"
    )
    step = verify(session=session, user=users["office2"], notice=notice)
    session.commit()
    assert (step.notice.status, step.stage, step.event.action) == (
        "verified",
        "verified",
        "verified",
    )
    assert notice.verified_at is not None
    assert [m.done_at is not None for m in notice.milestones] == [True, False]
    assert _history(session) == [
        ("proposed", None, "", False),
        ("issued", "office", "Complaints about registration queues doubled", True),
        ("committed", "health.coord", "Shorter registration queues within the year", True),
        ("progress", "health.coord", "A third more appointments online", True),
        ("rectified", "health.coord", "Done", True),
        ("returned", "office", "The machines are not running yet", True),
        ("rectified", "health.coord", "Running", True),
        ("verified", "office2", "", True),
    ]
    assert published == [("GZ-2026-001", "committed"), ("GZ-2026-001", "verified")]


def _refused(
    session: Session, error: type[Exception], message: str, step: Callable[[], object]
) -> None:
    """The step is refused with this English message, and nothing was written."""
    events = session.scalar(select(NoticeEvent.id).order_by(NoticeEvent.id.desc()).limit(1))
    with pytest.raises(error) as refused:
        step()
    assert str(refused.value) == message
    assert (list(session.new), list(session.dirty), list(session.deleted)) == ([], [], [])
    session.commit()
    latest = session.scalar(select(NoticeEvent.id).order_by(NoticeEvent.id.desc()).limit(1))
    assert latest == events


def test_only_the_office_issues_and_only_with_both_texts_and_a_future_date(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    for name in ("health.coord", "health.super", "health.officer"):
        _refused(
            session,
            NotPermitted,
            "Only the evaluation office may do this.",
            lambda name=name: _issue(session, users[name], notice),
        )
    _refused(
        session,
        NoticeRefused,
        "Describe the problem in both Chinese and English.",
        lambda: _issue(session, users["office"], notice, problem_en="  "),
    )
    _refused(
        session,
        NoticeRefused,
        "The response date must be a date after today.",
        lambda: _issue(session, users["office"], notice, response_due=TODAY),
    )
    assert notice.status == "proposed"


def test_another_agencys_coordinator_and_the_agencys_supervisor_cannot_answer(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    _issue(session, users["office"], notice)
    session.commit()
    for name in ("transport.coord", "health.super", "office"):
        _refused(
            session,
            NotPermitted,
            "Only the coordinator of health may answer this notice.",
            lambda name=name: _commit(session, users[name], notice),
        )
    assert session.scalars(select(NoticeMilestone)).all() == []
    assert notice.status == "issued"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"milestones": []}, "Give from 1 to 10 milestones."),
        ({"milestones": PLAN * 6}, "Give from 1 to 10 milestones."),
        (
            {"milestones": [PLAN[0], MilestoneInput("节点", "", date(2027, 5, 1))]},
            "Milestone 2 needs a text in both Chinese and English.",
        ),
        (
            {"milestones": [MilestoneInput("节点", "Step", date(2027, 1, 9))]},
            "Milestone 1 needs a date, today or later.",
        ),
        ({"commitment_zh": ""}, "Write the public commitment in both Chinese and English."),
    ],
)
def test_a_commitment_needs_its_texts_and_one_to_ten_dated_milestones(
    session: Session,
    notice: Notice,
    users: dict[str, AgencyUser],
    changes: dict[str, Any],
    message: str,
) -> None:
    _issue(session, users["office"], notice)
    session.commit()
    _refused(
        session,
        NoticeRefused,
        message,
        lambda: _commit(session, users["health.coord"], notice, **changes),
    )
    assert session.scalars(select(NoticeMilestone)).all() == []


def test_nothing_can_be_done_once_verified(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    coordinator = users["health.coord"]
    _issue(session, users["office"], notice)
    _commit(session, coordinator, notice)
    report_rectified(session=session, user=coordinator, notice=notice, note_zh="好", note_en="Ok")
    verify(session=session, user=users["office"], notice=notice)
    session.commit()
    closed = "Notice GZ-2026-001 is closed (verified): nothing more can be done with it."
    steps: list[Callable[[], object]] = [
        lambda: _commit(session, coordinator, notice),
        lambda: report_progress(
            session=session, user=coordinator, notice=notice, note_zh="晚了", note_en="Late"
        ),
        lambda: report_rectified(
            session=session, user=coordinator, notice=notice, note_zh="再报", note_en="Again"
        ),
        lambda: verify(session=session, user=users["office"], notice=notice),
    ]
    for step in steps:
        _refused(session, NoticeClosed, closed, step)
    assert notice.status == "verified"


def test_a_dismissed_proposal_is_closed_and_never_shown_to_the_agency(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    dismiss(
        session=session,
        user=users["office"],
        notice=notice,
        reason_zh="已在专项整治中",
        reason_en="Already in a campaign",
    )
    session.commit()
    _refused(
        session,
        NoticeClosed,
        "Notice GZ-2026-001 is closed (dismissed): nothing more can be done with it.",
        lambda: _issue(session, users["office"], notice),
    )
    assert list_notices(session=session, user=users["health.coord"]) == []
    assert list_notices(session=session, user=users["office"]) == [notice]


def test_a_step_out_of_turn_is_refused(
    session: Session, notice: Notice, users: dict[str, AgencyUser]
) -> None:
    _issue(session, users["office"], notice)
    session.commit()
    _refused(
        session,
        NoticeRefused,
        "Notice GZ-2026-001 is issued: this step is not possible now.",
        lambda: report_rectified(
            session=session, user=users["health.coord"], notice=notice, note_zh="好", note_en="Ok"
        ),
    )
