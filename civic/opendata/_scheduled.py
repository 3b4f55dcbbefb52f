"""Open data's periodic job: the files published again once a day."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from civic.city import get_profile
from civic.jobs import Job
from civic.opendata._publish import publish
from civic.settings import get_settings

log = logging.getLogger(__name__)

FOLDER = "open-data"


def publish_open_data(session: Session) -> int:
    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    published = publish(session=session, profile=profile, out_dir=settings.var_dir / FOLDER)
    rows = sum(w.rows for w in published.written)
    log.info("open data published to %s: %d rows", published.out_dir, rows)
    return rows


JOBS = [Job("publish-open-data", timedelta(days=1), publish_open_data)]
