"""The daily collection, run as the scheduler runs it, on the configured profile."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from civic.settings import get_settings
from ops import scheduler
from storage.db import migrate, session_scope
from storage.models import Comment, Ticket


def test_the_job_collects_what_is_new() -> None:
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        session.add(
            Ticket(
                description="路灯坏了，联系13812345678",
                category="street-light",
                status="received",
                created_at=datetime(2026, 6, 1, tzinfo=UTC),
            )
        )
    first = scheduler.run_job("collect-comments")
    second = scheduler.run_job("collect-comments")
    assert first == {"complaint": 1, "survey": 0, "window": 0, "reopen": 0, "moved": 0}
    assert second == {"complaint": 0, "survey": 0, "window": 0, "reopen": 0, "moved": 0}
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Comment.text)).all() == ["路灯坏了，联系***"]
