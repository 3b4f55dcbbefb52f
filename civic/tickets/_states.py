"""The ticket lifecycle: statuses, which moves between them are legal, numbering, due times."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from civic.errors import IllegalTransition


class Status(StrEnum):
    SUBMITTED = "submitted"
    ROUTED = "routed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RECTIFIED = "rectified"
    CLOSED = "closed"
    REROUTED = "rerouted"
    REOPENED = "reopened"
    MERGED = "merged"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.ROUTED, Status.MERGED, Status.CLOSED}),
    Status.ROUTED: frozenset({Status.ACCEPTED, Status.REROUTED, Status.MERGED}),
    Status.ACCEPTED: frozenset({Status.IN_PROGRESS, Status.RECTIFIED, Status.REROUTED}),
    Status.IN_PROGRESS: frozenset({Status.IN_PROGRESS, Status.RECTIFIED, Status.REROUTED}),
    Status.RECTIFIED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.REOPENED: frozenset(
        {Status.ACCEPTED, Status.IN_PROGRESS, Status.RECTIFIED, Status.REROUTED}
    ),
    Status.REROUTED: frozenset({Status.ROUTED, Status.ACCEPTED, Status.MERGED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.MERGED: frozenset(),
}

OPEN_STATUSES = frozenset(s for s in Status if s not in {Status.CLOSED, Status.MERGED})
# Tickets no agency holds: filed without one (category 'other') or sent back to triage.
WAITING = (Status.SUBMITTED.value, Status.REROUTED.value)


def check_transition(current: str, new: str) -> Status:
    """Return `new` as a Status if the lifecycle allows current → new, else raise."""
    try:
        source, target = Status(current), Status(new)
    except ValueError as exc:
        raise IllegalTransition(f"unknown status: {exc}") from exc
    if target not in TRANSITIONS[source]:
        raise IllegalTransition(f"a ticket cannot go from '{source}' to '{target}'")
    return target


def ticket_number(prefix: str, year: int, sequence: int) -> str:
    """The citizen-facing number, e.g. HZ-2026-000123."""
    return f"{prefix}-{year}-{sequence:06d}"


def due_at(created: datetime, target_hours: int) -> datetime:
    return created + timedelta(hours=target_hours)
