"""A demo ticket's life: only the lifecycle's own moves, in time order; the planned share
of first fixes late; the overdue flag once, past the due time, while unfinished; and
nothing after the year's end."""

from __future__ import annotations

import random

import pytest

from civic.demo._calendar import DAY, HOUR
from civic.demo._lifecycle import LEGAL, UNFINISHED, Life, Lifecycle, Ticket
from civic.demo._plans import AgencyPlan
from civic.tickets import OVERDUE_NOTE, UNCONFIRMED_NOTE

PLAN = AgencyPlan(
    "water", overdue=0.2, reopen=0.1, reroute=0.05, accept_hours=1.0, dissatisfied=0.1
)
START = 1_767_196_800.0  # 2026-01-01 00:00 UTC


def lifecycle(end: float) -> Lifecycle:
    return Lifecycle(
        plans={"water": PLAN},
        actors={"water": "apikey:demo-water"},
        office="user:demo-office",
        notes=lambda rng, kind, about, lang: f"{kind}:{about}",
        end=end,
    )


def ticket(created: float = START, triage: bool = False) -> Ticket:
    return Ticket(created, created + 24 * HOUR, "water-outage", "water", triage, "zh")


def lives(count: int, end: float, triage: bool = False) -> list[Life]:
    rng, cycle = random.Random(11), lifecycle(end)
    return [cycle.live(rng, ticket(triage=triage)) for _ in range(count)]


def test_only_legal_moves_in_time_order() -> None:
    for life in lives(2000, START + 400 * DAY):
        moves = [e for e in life.events if e[4] != OVERDUE_NOTE]
        assert moves[0][1:4] == ("citizen", None, "submitted")
        assert all((e[2], e[3]) in LEGAL for e in moves[1:])
        assert [e[0] for e in life.events] == sorted(e[0] for e in life.events)
        assert (life.status, life.updated_at) == (moves[-1][3], moves[-1][0])


def test_the_planned_share_of_first_fixes_is_late() -> None:
    found = lives(3000, START + 400 * DAY)
    assert sum(life.late for life in found) / len(found) == pytest.approx(PLAN.overdue, abs=0.025)


def test_overdue_is_flagged_once_past_the_due_time_while_unfinished() -> None:
    for life in lives(2000, START + 400 * DAY):
        flags = [e for e in life.events if e[4] == OVERDUE_NOTE]
        assert len(flags) == (life.overdue_at is not None)
        if flags:
            at, actor, before, after, _, public = flags[0]
            assert (actor, before == after, public) == ("system", True, False)
            assert at == life.overdue_at and at >= START + 24 * HOUR
            assert before in UNFINISHED


def test_unanswered_fixes_are_closed_by_the_follow_up_after_seven_days() -> None:
    closed = [
        life
        for life in lives(2000, START + 400 * DAY)
        if any(e[4] == UNCONFIRMED_NOTE for e in life.events)
    ]
    assert closed
    for life in closed:
        fixed = next(e[0] for e in life.events if e[3] == "rectified")
        closing = next(e for e in life.events if e[4] == UNCONFIRMED_NOTE)
        assert (closing[1], closing[3]) == ("system", "closed")
        assert 7 * DAY <= closing[0] - fixed <= 7 * DAY + HOUR
        assert life.reminded_at is not None and life.fixed_confirmed is None


def test_nothing_happens_after_the_year_ends() -> None:
    end = START + 2 * HOUR
    for life in lives(500, end):
        assert all(e[0] < end for e in life.events)
        assert life.satisfaction is None and life.overdue_at is None


def test_triage_tickets_are_routed_by_the_office() -> None:
    for life in lives(200, START + 400 * DAY, triage=True):
        routed = life.events[1]
        assert routed[1:4] == ("user:demo-office", "submitted", "routed")
        assert routed[4] == "triage:water"
        assert life.agency == "water"
