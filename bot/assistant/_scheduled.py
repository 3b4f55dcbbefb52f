"""The conversation's periodic jobs: forgetting which channel updates were handled once
no channel would send them again, buttons offered too long ago to count, and
conversations idle for longer than the retention period (in Rasa's SQLite store; Redis
expires them by itself)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.assistant._conversation import OFFER_LIFETIME
from bot.assistant._trackers import purge_idle_sqlite_conversations, sqlite_tracker_path
from civic.jobs import Job
from civic.settings import get_settings
from storage.citizens import forget_offers_before
from storage.updates import purge_processed_updates

log = logging.getLogger(__name__)


def purge_updates(session: Session) -> int:
    removed = purge_processed_updates(session=session)
    log.info("purged %d processed-update keys", removed)
    return removed


def purge_offers(session: Session) -> int:
    removed = forget_offers_before(session=session, before=datetime.now(UTC) - OFFER_LIFETIME)
    log.info("forgot %d expired button offers", removed)
    return removed


def purge_conversations(session: Session) -> int:
    settings = get_settings()
    if settings.redis_url:
        return 0
    removed = purge_idle_sqlite_conversations(
        sqlite_tracker_path(settings.var_dir), timedelta(days=settings.retention_days)
    )
    if removed:
        log.info("purged %d events of idle conversations", removed)
    return removed


JOBS = [
    Job("purge-processed-updates", timedelta(hours=1), purge_updates),
    Job("purge-offered-buttons", timedelta(hours=6), purge_offers),
    Job("purge-idle-conversations", timedelta(hours=6), purge_conversations),
]
