"""Proposals from the generated two years (tests/civic/notices/support.py), on SQLite and
PostgreSQL: hospital registration doubled at the Health Commission on 40 comments, so the
code-growth rule proposes exactly one notice, with its evidence frozen; proposing again
proposes nothing; the frozen evaluation's figures propose the satisfaction and ticket-rate
notices.

Hospital registration by hand: 40 of 100 in 2026 (0.40), 20 of 100 in 2025 (0.20): the
share grew by 1.0 (doubled). Pooled p = 60/200 = 0.3; standard error = sqrt(0.3 × 0.7 ×
(1/100 + 1/100)) = 0.064807; z = 0.20 / 0.064807 = 3.0861; p-value = 0.002028."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.notices import propose_notices
from storage.models import Comment, CommentCode, EvaluationSnapshot, Notice, NoticeEvent
from tests.civic.notices.support import HEALTH, REGISTRATION, add_comments, rules_and_codebook

MONTHLY_2026 = [4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3]


def test_doubled_registration_proposes_one_notice_to_the_health_commission(
    session: Session, profile: Profile
) -> None:
    add_comments(session)
    rules, codebook = rules_and_codebook(profile)
    created = propose_notices(
        session=session, profile=profile, codebook=codebook, rules=rules, year=2026
    )
    session.commit()
    assert [(n.number, n.agency, n.rule, n.subject, n.period, n.status) for n in created] == [
        ("GZ-2026-001", HEALTH, "code-growth", REGISTRATION, "2026", "proposed")
    ]
    assert profile.agencies[HEALTH].label("en") == "Health Commission"
    evidence = json.loads(created[0].evidence)
    samples = evidence.pop("samples")
    assert evidence == {
        "rule": {
            "rule": "code-growth",
            "kind": "code_growth",
            "min_growth": 0.5,
            "min_count": 30.0,
            "significance": 0.05,
        },
        "year": 2026,
        "code": REGISTRATION,
        "label": {"zh": "挂号排队时间长", "en": "Long waits for registration"},
        "count": 40,
        "total": 100,
        "share": 0.4,
        "last_count": 20,
        "last_total": 100,
        "last_share": 0.2,
        "change": 20,
        "growth": 1.0,
        "p_value": pytest.approx(0.002028, abs=1e-6),
        "accepted": 0,
        "monthly": [
            {"month": f"2026-{m:02d}", "count": n} for m, n in enumerate(MONTHLY_2026, start=1)
        ],
    }
    # The five newest of the code's comments at the agency, newest first.
    newest = session.scalars(
        select(Comment.id)
        .join(CommentCode, CommentCode.comment_id == Comment.id)
        .where(
            Comment.agency == HEALTH,
            Comment.month.like("2026-%"),
            CommentCode.code == REGISTRATION,
        )
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(5)
    ).all()
    assert samples == list(newest)
    assert len(samples) == 5
    events = session.scalars(select(NoticeEvent)).all()
    assert [(e.notice_id, e.action, e.user_id, e.public) for e in events] == [
        (created[0].id, "proposed", None, False)
    ]


def test_proposing_again_proposes_nothing(session: Session, profile: Profile) -> None:
    add_comments(session)
    rules, codebook = rules_and_codebook(profile)
    for _ in range(2):
        propose_notices(session=session, profile=profile, codebook=codebook, rules=rules, year=2026)
        session.commit()
    assert session.scalars(select(Notice.number)).all() == ["GZ-2026-001"]
    assert len(session.scalars(select(NoticeEvent)).all()) == 1


def _snapshot(session: Session) -> None:
    def agency(code: str, index: float, reopen: float, overdue: float, n: int) -> dict[str, object]:
        return {
            "agency": code,
            "components": {"public": {"index": index, "sources": {}}},
            "indicators": [
                {"code": "reopen_rate", "value": reopen, "n": n, "trend": []},
                {"code": "overdue_rate", "value": overdue, "n": n, "trend": []},
            ],
        }

    result = {
        "agencies": [
            agency("water", 85.0, 0.20, 0.05, 40),  # reopens too often
            agency("transport", 72.5, 0.05, 0.12, 40),  # under 80, and often late
            agency("environment", 90.0, 0.50, 0.50, 5),  # too few tickets to say
        ]
    }
    session.add(
        EvaluationSnapshot(
            year=2026,
            version=2,
            created_by="office",
            scheme_digest="-",
            inputs_digest="-",
            results_digest="-",
            result=json.dumps(result),
        )
    )
    session.flush()


def test_the_frozen_evaluation_proposes_satisfaction_and_rate_notices(
    session: Session, profile: Profile
) -> None:
    _snapshot(session)
    rules, codebook = rules_and_codebook(profile)
    created = propose_notices(
        session=session, profile=profile, codebook=codebook, rules=rules, year=2026
    )
    found = [(n.number, n.agency, n.subject) for n in created]
    assert found == [
        ("GZ-2026-001", "transport", "satisfaction"),
        ("GZ-2026-002", "water", "reopen_rate"),
        ("GZ-2026-003", "transport", "overdue_rate"),
    ]
    assert json.loads(created[0].evidence)["index"] == 72.5
    reopen = json.loads(created[1].evidence)
    assert (reopen["value"], reopen["n"], reopen["over"], reopen["snapshot_version"]) == (
        0.20,
        40,
        0.15,
        2,
    )
