"""Improvement notices and coded comments of the demo city (profiles/hangzhou), built
straight into the tables, for the public notice pages, the opinion report and their
browser test.

    HZ-2025-001  health, "Long waits for registration" (a codebook code), committed; four
                 milestones: one done on time, one done late, one open and past its date,
                 one open and not yet due; public events issued, committed and progress,
                 private ones proposed and escalated; 6 citizens linked, 5 of them answered
                 after the commitment (3 better, 1 same, 1 worse)
    HZ-2025-002  transport, proposed: never public
    HZ-2025-003  water, dismissed: never public
    HZ-2025-004  transport, "Rectified within the target time" (an indicator), verified;
                 3 citizens answered at both stages (committed: 1 better, 1 same, 1 worse;
                 verified: 2 better, 1 same)

The notices are on 2025's evidence and were issued in 2026. The comments, 2026 against
2025, hand-countable: 200 comments in 2026, 100 in 2025; hospital-registration 40 in 2026
(10 of them accepted) and 10 in 2025; bus-frequency 100 and 90; medical-cost 20 and 0;
40 uncoded in 2026 (the reopen reasons). The sample comment is from 2024, outside both.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from storage.models import (
    AgencyUser,
    Comment,
    CommentCode,
    Notice,
    NoticeEvent,
    NoticeLink,
    NoticeMilestone,
)

OFFICER = "Wang Xiaoming"  # a staff member's name: never on a public page
SECRET_COMMENT = "医院挂号排了三个小时 my neighbour Li Hua"  # a citizen's text: never public
PRIVATE_NOTE = "escalated to the deputy mayor's office"


def at(day: str, hour: int = 2) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def build_notices(session: Session) -> dict[str, Notice]:
    officer = AgencyUser(username="wang.xm", password_hash="x", display_name=OFFICER, role="office")
    session.add(officer)
    secret = Comment(
        source="complaint",
        source_id=999_001,
        agency="health",
        district="xihu",
        created_at=at("2024-06-05"),
        month="2024-06",
        text=SECRET_COMMENT,
    )
    session.add(secret)
    session.flush()
    evidence = {
        "count": 40,
        "total": 200,
        "share": 0.2,
        "last_count": 10,
        "last_total": 100,
        "last_share": 0.1,
        "change": 30,
        "share_change": 0.1,
        "p_value": 0.02846,
        "months": {"2025-01": 30, "2025-02": 10},
        "sample_comment_ids": [secret.id],
        "sample_texts": [SECRET_COMMENT],
    }
    registration = Notice(
        number="HZ-2025-001",
        agency="health",
        rule="top-problem",
        subject="hospital-registration",
        period="2025",
        district="xihu",
        status="committed",
        evidence=json.dumps(evidence, ensure_ascii=False),
        problem_zh="市民反映医院挂号排队时间长，2025 年相关意见占比翻倍。",
        problem_en="Citizens report long waits to register at hospitals; "
        "the share doubled in 2025.",
        commitment_zh="推行分时段预约挂号，三月底前覆盖全部市属医院。",
        commitment_en="Timed appointments for registration at every city hospital "
        "by the end of March.",
        response_due=date(2026, 1, 25),
        proposed_at=at("2026-01-05"),
        issued_at=at("2026-01-10"),
        committed_at=at("2026-01-20"),
    )
    registration.milestones = [
        NoticeMilestone(
            position=1,
            text_zh="制定预约方案",
            text_en="Appointment plan drawn up",
            due=date(2026, 2, 1),
            done_at=at("2026-01-30"),
        ),
        NoticeMilestone(
            position=2,
            text_zh="三家试点医院上线",
            text_en="Three pilot hospitals online",
            due=date(2026, 2, 15),
            done_at=at("2026-02-20"),
        ),
        NoticeMilestone(
            position=3,
            text_zh="培训窗口人员",
            text_en="Registration staff trained",
            due=date(2026, 2, 28),
        ),
        NoticeMilestone(
            position=4,
            text_zh="全部市属医院上线",
            text_en="Every city hospital online",
            due=date(2099, 3, 31),
        ),
    ]
    registration.events = [
        NoticeEvent(at=at("2026-01-05"), user_id=officer.id, action="proposed", public=False),
        NoticeEvent(
            at=at("2026-01-10"),
            user_id=officer.id,
            action="issued",
            note_zh="请于 1 月 25 日前答复。",
            note_en="Please answer by 25 January.",
        ),
        NoticeEvent(
            at=at("2026-01-20"),
            user_id=officer.id,
            action="committed",
            note_zh="已公布整改承诺。",
            note_en="Commitment published.",
        ),
        NoticeEvent(
            at=at("2026-02-20"),
            user_id=officer.id,
            action="progress",
            note_zh="三家试点医院已上线。",
            note_en="The three pilot hospitals are online.",
        ),
        NoticeEvent(
            at=at("2026-03-02"),
            user_id=officer.id,
            action="escalated",
            note_zh=PRIVATE_NOTE,
            note_en=PRIVATE_NOTE,
            public=False,
        ),
    ]
    proposed = Notice(
        number="HZ-2025-002",
        agency="transport",
        rule="top-problem",
        subject="bus-frequency",
        period="2025",
        problem_en="A proposal the office has not issued",
    )
    dismissed = Notice(
        number="HZ-2025-003",
        agency="water",
        rule="top-problem",
        subject="water-pressure",
        period="2025",
        status="dismissed",
        problem_en="A dismissed proposal",
    )
    on_time = Notice(
        number="HZ-2025-004",
        agency="transport",
        rule="indicator-below-target",
        subject="on_time_rate",
        period="2025",
        status="verified",
        evidence=json.dumps({"value": 0.62, "target": 0.9, "last_value": 0.71, "unit": "share"}),
        problem_zh="按时办结率低于目标。",
        problem_en="Too few tickets rectified within the target time.",
        commitment_zh="增派夜班人员。",
        commitment_en="A night shift added.",
        issued_at=at("2026-02-01"),
        committed_at=at("2026-02-05"),
        rectified_at=at("2026-03-01"),
        verified_at=at("2026-03-10"),
    )
    on_time.events = [
        NoticeEvent(at=at("2026-02-01"), action="issued"),
        NoticeEvent(at=at("2026-03-10"), action="verified", note_en="Checked on 40 tickets."),
    ]
    session.add_all([registration, proposed, dismissed, on_time])
    session.flush()
    answers = ["better", "better", "better", "same", "worse", None]
    for answer in answers:
        session.add(
            NoticeLink(notice_id=registration.id, comment_id=secret.id, committed_answer=answer)
        )
    for committed, verified in (("same", "better"), ("better", "better"), ("worse", "same")):
        session.add(
            NoticeLink(notice_id=on_time.id, committed_answer=committed, verified_answer=verified)
        )
    session.commit()
    return {n.number: n for n in (registration, proposed, dismissed, on_time)}


def build_comments(session: Session) -> None:
    """The two years of coded comments described above."""
    spec = [
        # (year, how many, source, agency, suggested, accepted)
        (2026, 30, "complaint", "health", ["hospital-registration"], []),
        (2026, 10, "survey", "health", ["medical-cost"], ["hospital-registration"]),
        (2026, 20, "window", "health", ["medical-cost"], []),
        (2026, 100, "complaint", "transport", ["bus-frequency"], []),
        (2026, 40, "reopen", "transport", [], []),
        (2025, 10, "complaint", "health", ["hospital-registration"], []),
        (2025, 90, "complaint", "transport", ["bus-frequency"], []),
    ]
    source_id = 0
    for year, count, source, agency, suggested, accepted in spec:
        for index in range(count):
            source_id += 1
            month = f"{year}-{index % 12 + 1:02d}"
            comment = Comment(
                source=source,
                source_id=source_id,
                agency=agency,
                district="xihu",
                created_at=at(f"{month}-10"),
                month=month,
                assurance="account",
                text="[redacted]",
            )
            comment.codes = [CommentCode(code=c, kind="suggested") for c in suggested] + [
                CommentCode(code=c, kind="accepted") for c in accepted
            ]
            session.add(comment)
    session.commit()
