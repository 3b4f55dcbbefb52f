"""Collecting the comment store, on SQLite and PostgreSQL: complaint descriptions, survey
open answers, window comments and reopen reasons go in redacted, with their source, place,
month and suggested codes; a second run adds nothing; erasing a citizen leaves their
comments redacted and no longer traceable to them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.errors import InvalidInput
from civic.opinion import Codebook, accept_codes, codebook_path, collect_comments, load_codebook
from civic.privacy import erase_citizen
from civic.surveys import sync_profile_surveys
from storage.models import (
    Citizen,
    Comment,
    CommentCode,
    ServiceWindow,
    SurveyAnswer,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

PHONE = "13812345678"
AT = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # already 1 April in Hangzhou
LATER = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


def _seed(session: Session, profile: Profile) -> Citizen:
    """A citizen with a complaint (reopened by staff with a reason), a survey with text
    and coded answers, and window ratings: one commented, one held, one without text."""
    citizen = Citizen(public_id="c1", assurance="verified_phone")
    session.add(citizen)
    session.flush()
    ticket = Ticket(
        citizen_id=citizen.id,
        description=f"医院挂号排队三个小时，电话{PHONE}",
        language="zh",
        category="hospital-service",
        agency="health",
        district="shangcheng",
        status="reopened",
        created_at=AT,
    )
    english = Ticket(
        description="The MRI scan appointment is three months away",
        language="en",
        category="other",
        agency=None,
        district=None,
        status="received",
        created_at=datetime(2026, 5, 2, 3, 0, tzinfo=UTC),
    )
    session.add_all([ticket, english])
    session.flush()
    ticket.events.append(
        TicketEvent(
            actor="user:li", to_status="reopened", note=f"Still not fixed, {PHONE}", at=LATER
        )
    )
    ticket.events.append(TicketEvent(actor="user:li", to_status="accepted", note="accepted"))
    # the overdue flag on a reopened ticket: a system note, not a reason
    ticket.events.append(
        TicketEvent(
            actor="system",
            from_status="reopened",
            to_status="reopened",
            note="overdue: escalated to the agency's supervisors",
        )
    )
    sync_profile_surveys(
        session=session, directory=profile.path / "surveys", agencies=profile.agencies
    )
    response = SurveyResponse(
        survey_key="annual_satisfaction", citizen_id=citizen.id, assurance="invited"
    )
    session.add(response)
    session.flush()
    session.add_all(
        [
            SurveyAnswer(response_id=response.id, step="overall", question="overall", value="x"),
            SurveyAnswer(
                response_id=response.id,
                step="agency_improve@health",
                question="agency_improve",
                agency="health",
                value="看病太贵，医保报销太少",
                answered_at=LATER,
            ),
            SurveyAnswer(response_id=response.id, step="comment", question="comment", value=" "),
        ]
    )
    window = ServiceWindow(code="health:hall:1", agency="health", hall="市民中心", number="1")
    session.add(window)
    session.flush()
    for day, comment, held in [
        ("2026-04-01", "工作人员态度差，住3幢2单元501室", False),
        ("2026-04-02", "刷好评", True),
        ("2026-04-03", None, False),
    ]:
        session.add(
            WindowRating(
                window_id=window.id,
                citizen_id=citizen.id,
                day=day,
                scale="stars",
                score="2",
                comment=comment,
                held=held,
                created_at=LATER,
            )
        )
    session.commit()
    return citizen


def _stored(session: Session) -> list[tuple[object, ...]]:
    rows = session.execute(
        select(
            Comment.source,
            Comment.text,
            Comment.agency,
            Comment.category,
            Comment.district,
            Comment.month,
            Comment.language,
            Comment.assurance,
        ).order_by(Comment.source, Comment.id)
    ).all()
    return [tuple(row) for row in rows]


def _suggested(session: Session) -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for text, code in session.execute(
        select(Comment.text, CommentCode.code)
        .join(CommentCode, CommentCode.comment_id == Comment.id)
        .where(CommentCode.kind == "suggested")
        .order_by(Comment.id, CommentCode.code)
    ):
        codes.setdefault(text, []).append(code)
    return codes


def test_collect_stores_redacted_texts_with_their_codes(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    _seed(session, profile)
    progress: list[tuple[str, int]] = []
    collected = collect_comments(
        session=session,
        profile=profile,
        codebook=codebook,
        progress=lambda source, rows: progress.append((source, rows)),
    )
    session.commit()
    assert collected.counts == {"complaint": 2, "survey": 1, "window": 1, "reopen": 1}
    assert progress == [("complaint", 2), ("survey", 1), ("window", 1), ("reopen", 1)]
    assert _stored(session) == [
        (
            "complaint",
            "医院挂号排队三个小时，电话***",
            "health",
            "hospital-service",
            "shangcheng",
            "2026-04",
            "zh",
            "verified_phone",
        ),
        (
            "complaint",
            "The MRI scan appointment is three months away",
            None,
            "other",
            None,
            "2026-05",
            "en",
            "anonymous",
        ),
        (
            "reopen",
            "Still not fixed, ***",
            "health",
            "hospital-service",
            "shangcheng",
            "2026-04",
            "en",
            "staff",
        ),
        ("survey", "看病太贵，医保报销太少", "health", None, None, "2026-04", "zh", "invited"),
        ("window", "工作人员态度差，住***", "health", None, None, "2026-04", "zh", "anonymous"),
    ]
    assert PHONE not in "".join(str(row) for row in _stored(session))
    assert _suggested(session) == {
        "医院挂号排队三个小时，电话***": ["hospital-registration"],
        "The MRI scan appointment is three months away": ["scan-appointments"],
        "Still not fixed, ***": ["health", "slow-response"],
        "看病太贵，医保报销太少": ["medical-cost"],
        "工作人员态度差，住***": ["staff-attitude"],
    }


def test_a_second_collect_adds_nothing_and_a_third_only_what_is_new(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    _seed(session, profile)
    collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    again = collect_comments(session=session, profile=profile, codebook=codebook, batch=1)
    assert (again.total, len(_stored(session))) == (0, 5)
    session.add(
        Ticket(description="路灯不亮", category="street-light", status="received", created_at=AT)
    )
    session.commit()
    third = collect_comments(session=session, profile=profile, codebook=codebook, batch=1)
    assert third.counts == {"complaint": 1, "survey": 0, "window": 0, "reopen": 0}
    assert _suggested(session)["路灯不亮"] == ["street-lighting"]


def test_accepted_codes_replace_earlier_ones_and_unknown_codes_are_refused(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    _seed(session, profile)
    collect_comments(session=session, profile=profile, codebook=codebook)
    comment = session.scalars(select(Comment).where(Comment.source == "window")).one()
    accept_codes(session=session, comment=comment, codes=["red-tape"], codebook=codebook)
    accept_codes(
        session=session,
        comment=comment,
        codes=["hall-waiting", "staff-attitude"],
        codebook=codebook,
    )
    with pytest.raises(InvalidInput, match="unknown code queues"):
        accept_codes(session=session, comment=comment, codes=["queues"], codebook=codebook)
    accepted = session.scalars(
        select(CommentCode.code)
        .where(CommentCode.comment_id == comment.id, CommentCode.kind == "accepted")
        .order_by(CommentCode.code)
    ).all()
    assert accepted == ["hall-waiting", "staff-attitude"]


def test_erasure_leaves_the_comments_redacted_and_leading_to_no_one(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    citizen = _seed(session, profile)
    collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    erasure = erase_citizen(session=session, citizen=citizen)
    session.commit()
    # the two complaints' comments less the anonymous one, the reason, answer and comment
    assert erasure.rows["comments"] == 4
    assert len(_stored(session)) == 5
    assert PHONE not in "".join(str(row) for row in _stored(session))
    # every source row of a comment is now anonymous
    assert (
        session.scalars(select(Ticket.citizen_id).where(Ticket.citizen_id.is_not(None))).all() == []
    )
    assert (
        session.scalars(
            select(SurveyResponse.citizen_id).where(SurveyResponse.citizen_id.is_not(None))
        ).all()
        == []
    )
    assert (
        session.scalars(
            select(WindowRating.citizen_id).where(WindowRating.citizen_id.is_not(None))
        ).all()
        == []
    )
    # and collecting again does not bring anything back in
    assert collect_comments(session=session, profile=profile, codebook=codebook).total == 0


def test_comments_follow_their_rerouted_ticket(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    _seed(session, profile)
    collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    ticket = session.scalars(select(Ticket).where(Ticket.agency == "health")).one()
    ticket.agency, ticket.category, ticket.district = "transport", "bus-service", "xihu"
    session.commit()
    again = collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    assert (again.total, again.moved) == (0, 2)
    moved = session.execute(
        select(Comment.source, Comment.agency, Comment.category, Comment.district)
        .where(Comment.source.in_(["complaint", "reopen"]), Comment.agency.is_not(None))
        .order_by(Comment.source)
    ).all()
    assert [tuple(row) for row in moved] == [
        ("complaint", "transport", "bus-service", "xihu"),
        ("reopen", "transport", "bus-service", "xihu"),
    ]
    assert _suggested(session)["医院挂号排队三个小时，电话***"] == [
        "hospital-registration",
        "public-transport",
    ]
    assert _suggested(session)["Still not fixed, ***"] == ["public-transport", "slow-response"]
    assert collect_comments(session=session, profile=profile, codebook=codebook).moved == 0
