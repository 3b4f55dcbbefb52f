"""The daily limit of complaints per citizen, counted over the city's calendar day, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from civic.routing import RoutingDecision
from civic.tickets import DailyTicketLimit, check_daily_limit, create_ticket
from storage.citizens import get_or_create_citizen

ROUTED = RoutingDecision("street-light", "urban-management", "binjiang", 0.9)
CITY = "Asia/Shanghai"  # UTC+8: the city's day starts at 16:00 UTC the day before
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 on 1 December in the city


def _citizen(session: Session, address: str) -> int:
    citizen = get_or_create_citizen(session=session, channel="telegram", address=address)
    session.flush()
    return citizen.id


def _filed(session: Session, citizen_id: int, at: datetime, count: int = 1) -> None:
    for _ in range(count):
        ticket = create_ticket(
            session=session,
            citizen_id=citizen_id,
            description="路灯不亮",
            language="zh",
            decision=ROUTED,
            ticket_prefix="HZ",
            due_at=None,
        )
        ticket.created_at = at
    session.commit()


def _check(session: Session, citizen_id: int, limit: int = 3) -> None:
    check_daily_limit(session=session, citizen_id=citizen_id, limit=limit, timezone=CITY, now=NOW)


def test_the_citizen_may_file_up_to_the_limit_and_no_more(session: Session) -> None:
    who = _citizen(session, "1")
    _filed(session, who, NOW, count=2)
    _check(session, who)  # the third is allowed
    _filed(session, who, NOW)
    with pytest.raises(DailyTicketLimit) as refused:
        _check(session, who)
    assert (refused.value.key, refused.value.params) == ("limits.tickets_today", {"limit": 3})


def test_the_day_is_the_citys_day(session: Session) -> None:
    who = _citizen(session, "1")
    _filed(session, who, datetime(2026, 11, 30, 15, 59, tzinfo=UTC), count=5)  # 23:59 yesterday
    _check(session, who)
    _filed(session, who, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), count=3)  # 00:00 today
    with pytest.raises(DailyTicketLimit):
        _check(session, who)


def test_other_citizens_and_anonymous_tickets_do_not_count(session: Session) -> None:
    who, other = _citizen(session, "1"), _citizen(session, "2")
    _filed(session, other, NOW, count=3)
    for _ in range(3):
        create_ticket(
            session=session,
            citizen_id=None,
            description="from an agency's system",
            language="zh",
            decision=ROUTED,
            ticket_prefix="HZ",
            due_at=None,
        )
    session.commit()
    _check(session, who)


def test_a_limit_of_zero_is_no_limit(session: Session) -> None:
    who = _citizen(session, "1")
    _filed(session, who, NOW, count=4)
    _check(session, who, limit=0)
