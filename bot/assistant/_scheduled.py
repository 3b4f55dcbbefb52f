"""The conversation's periodic jobs: forgetting which channel updates were handled once
no channel would send them again, and buttons offered too long ago to count."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.assistant._conversation import OFFER_LIFETIME
from civic.jobs import Job
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


JOBS = [
    Job("purge-processed-updates", timedelta(hours=1), purge_updates),
    Job("purge-offered-buttons", timedelta(hours=6), purge_offers),
]
