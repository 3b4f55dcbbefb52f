"""What the duty group and the supervisors read when an improvement notice is late: its
number, agency and subject, and what is late now (the answer, or each milestone past its
date), every value escaped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from bot.telegram._duty_texts import notice_late_text
from civic.city import Profile
from storage.models import Notice, NoticeMilestone

NOW = datetime(2027, 2, 5, 2, tzinfo=UTC)


def _notice(status: str) -> Notice:
    return Notice(
        number="GZ-2026-001",
        agency="health",
        subject="hospital-registration",
        status=status,
        response_due=date(2027, 1, 20),
        evidence=json.dumps(
            {"label": {"zh": "挂号排队时间长", "en": "Long waits for registration"}}
        ),
    )


def test_an_unanswered_notice_says_by_when_it_should_have_been(profile: Profile) -> None:
    text = notice_late_text(_notice("issued"), profile, NOW, "en")
    assert text.splitlines() == [
        "⚠️ Improvement notice late, escalated: <b>GZ-2026-001</b>",
        "Agency: Health Commission",
        "About: Long waits for registration",
        "Status: Issued, awaiting the agency&#x27;s answer",  # Telegram shows '
        "No answer by 2027-01-20.",
        "Please see the notice on the agency desk.",
    ]


def test_a_committed_notice_lists_its_late_milestones_escaped(profile: Profile) -> None:
    notice = _notice("committed")
    notice.milestones = [
        NoticeMilestone(position=1, text_zh="号源<翻倍>", text_en="x", due=date(2027, 2, 1)),
        NoticeMilestone(
            position=2,
            text_zh="已完成",
            text_en="y",
            due=date(2027, 2, 1),
            done_at=datetime(2027, 1, 30, tzinfo=UTC),
        ),
        NoticeMilestone(position=3, text_zh="以后", text_en="z", due=date(2027, 6, 1)),
    ]
    lines = notice_late_text(notice, profile, NOW).splitlines()
    assert lines[1:5] == [
        "单位：卫生健康委员会",
        "事项：挂号排队时间长",
        "状态：已承诺，整改中",
        "节点 1（期限 2027-02-01）：号源&lt;翻倍&gt;",
    ]
