"""The public-opinion analysis's periodic job: the day's new free texts into the comment
store, so the trends are never more than a day behind, and the counts of the months it
changed rebuilt at once, so that the first page to read them need not."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from civic.city import get_profile
from civic.jobs import Job
from civic.opinion._codebook import codebook_path, load_codebook
from civic.opinion._collect import collect_comments
from civic.opinion._counts import refresh_counts
from civic.settings import get_settings

log = logging.getLogger(__name__)


def collect_new_comments(session: Session) -> dict[str, int]:
    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    codebook = load_codebook(codebook_path(profile), profile)
    collected = collect_comments(session=session, profile=profile, codebook=codebook)
    recounted = refresh_counts(session=session, codebook=codebook)
    log.info(
        "comments collected: %s; moved: %d; months recounted: %s",
        collected.counts,
        collected.moved,
        ", ".join(recounted) or "none",
    )
    return {**collected.counts, "moved": collected.moved}


JOBS = [Job("collect-comments", timedelta(days=1), collect_new_comments)]
