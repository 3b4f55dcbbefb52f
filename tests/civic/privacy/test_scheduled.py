"""The retention job, run as the scheduler runs it, with the retention period from the
settings."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from civic.settings import get_settings
from ops import scheduler
from storage.db import migrate, session_scope
from storage.media import MediaStore
from storage.models import OutboundMessage, utcnow


def test_the_job_purges_what_is_older_than_the_configured_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIVIC_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.database_url)
    now = utcnow()
    with session_scope(settings.database_url) as session:
        for days in (31, 29):
            session.add(
                OutboundMessage(
                    channel="web",
                    address="s",
                    body=f"{days}",
                    created_at=now - timedelta(days=days),
                )
            )
    media = MediaStore(settings.var_dir / "media")
    photo = media.save(b"\x89PNG\r\n\x1a\n" + bytes(24))
    assert photo is not None
    month_ago = (now - timedelta(days=31)).timestamp()
    os.utime(media.directory / photo, (month_ago, month_ago))

    counts = scheduler.run_job("purge-expired-personal-data")

    assert counts == {
        "outbound_messages": 1,
        "handoff_messages": 0,
        "handoffs": 0,
        "notifications": 0,
        "photos": 1,
    }
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(OutboundMessage.body)).all() == ["29"]
    assert media.path_of(photo) is None
