"""The ticket lifecycle: legal moves, numbering and due times."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from civic.errors import IllegalTransition
from civic.tickets import (
    OPEN_STATUSES,
    TRANSITIONS,
    Status,
    check_transition,
    due_at,
    ticket_number,
)

HAPPY_PATH = ["submitted", "routed", "accepted", "in_progress", "rectified", "closed"]


def test_the_usual_path_is_legal() -> None:
    reached = [check_transition(a, b) for a, b in pairwise(HAPPY_PATH)]
    assert reached == [Status(s) for s in HAPPY_PATH[1:]]


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("submitted", "closed"),
        ("submitted", "merged"),
        ("routed", "rerouted"),
        ("rerouted", "routed"),
        ("in_progress", "in_progress"),
        ("rectified", "reopened"),
        ("closed", "reopened"),
        ("reopened", "rectified"),
    ],
)
def test_legal_moves(current: str, new: str) -> None:
    assert check_transition(current, new) == Status(new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("routed", "rectified"),
        ("submitted", "accepted"),
        ("closed", "in_progress"),
        ("rectified", "accepted"),
        ("submitted", "submitted"),
    ],
)
def test_illegal_moves_name_both_statuses(current: str, new: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, new)
    assert str(info.value) == f"a ticket cannot go from '{current}' to '{new}'"


@pytest.mark.parametrize("new", [s.value for s in Status])
def test_merged_is_terminal(new: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition("merged", new)


def test_unknown_status() -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition("routed", "lost")
    assert str(info.value) == "unknown status: 'lost' is not a valid Status"


def test_every_status_has_a_transition_entry() -> None:
    assert set(TRANSITIONS) == set(Status)


def test_open_statuses() -> None:
    assert set(Status) - OPEN_STATUSES == {Status.CLOSED, Status.MERGED}


def test_ticket_number() -> None:
    assert ticket_number("HZ", 2026, 123) == "HZ-2026-000123"
    assert ticket_number("HZ", 2026, 1234567) == "HZ-2026-1234567"


def test_due_at() -> None:
    created = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert due_at(created, 72) == datetime(2026, 3, 4, 22, 30, tzinfo=UTC)
