"""Identity's periodic job: dropping phone verifications long past every limit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from civic.identity._phone import KEEP_RECORDS
from civic.jobs import Job
from storage.phone_codes import purge_phone_codes

log = logging.getLogger(__name__)


def purge_codes(session: Session) -> int:
    removed = purge_phone_codes(session=session, before=datetime.now(UTC) - KEEP_RECORDS)
    log.info("purged %d old phone verifications", removed)
    return removed


JOBS = [Job("purge-phone-codes", timedelta(hours=6), purge_codes)]
