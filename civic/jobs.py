"""A periodic job, declared next to its noun in `<noun>/scheduled.py` (as Netflix
Dispatch's `incident/scheduled.py` does); `ops.scheduler` only collects the
declarations and runs each one in exactly one process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Job:
    """`run` gets a database session that the scheduler commits after it, or rolls back
    if it raises; with `own_session` it gets nothing and looks after itself (the campaign
    sender, which commits batch by batch under a lock of its own). A job that sends over
    the network commits before each send and records the outcome in a new short
    transaction: on SQLite a write transaction held across a send keeps every other
    writer, APScheduler's job store included, waiting."""

    id: str
    every: timedelta
    run: Callable[..., Any]
    own_session: bool = False
