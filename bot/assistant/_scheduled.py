"""The conversation's periodic job: forgetting which channel updates were handled once
no channel would send them again."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from civic.jobs import Job
from storage.updates import purge_processed_updates

log = logging.getLogger(__name__)


def purge_updates(session: Session) -> int:
    removed = purge_processed_updates(session=session)
    log.info("purged %d processed-update keys", removed)
    return removed


JOBS = [Job("purge-processed-updates", timedelta(hours=1), purge_updates)]
