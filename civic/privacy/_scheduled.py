"""Privacy's periodic job: deleting personal data older than the retention period."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from civic.jobs import Job
from civic.privacy._retention import purge_expired, purge_unheld_photos
from civic.settings import get_settings
from storage.media import MediaStore

log = logging.getLogger(__name__)


def purge_personal_data(session: Session) -> dict[str, int]:
    settings = get_settings()
    keep_for = timedelta(days=settings.retention_days)
    counts = purge_expired(session=session, keep_for=keep_for)
    counts["photos"] = purge_unheld_photos(
        session=session, media=MediaStore(settings.var_dir / "media"), keep_for=keep_for
    )
    if any(counts.values()):
        log.info("retention (%d days): deleted %s", settings.retention_days, counts)
    return counts


JOBS = [Job("purge-expired-personal-data", timedelta(hours=6), purge_personal_data)]
