"""The one place where a notice becomes news for the citizens who raised its problem.

`notice_published` is called, inside the step's transaction, when an agency's public
commitment is published (stage "committed", from `commit`) and when the evaluation
office verifies the rectification (stage "verified", from `verify`). It links the
authors of the notice's comments to it (civic.notices._followup) and starts the stage's
follow-up campaign, which the campaign sender delivers with its one-tap question.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from civic.notices._describe import SUBJECT_KEYS
from civic.notices._followup import link_citizens, start_followup
from storage.models import Notice, utcnow

COMMITTED, VERIFIED = "committed", "verified"
STAGES = (COMMITTED, VERIFIED)


def notice_published(*, session: Session, notice: Notice, stage: str) -> None:
    """A commitment was published or a rectification verified (`stage`): link the
    citizens concerned (again: comments collected since count too) and start telling
    them."""
    if stage not in STAGES:
        raise ValueError(f"a notice is published when {' or '.join(STAGES)}: {stage}")
    now = utcnow()
    codes = () if notice.subject in SUBJECT_KEYS else (notice.subject,)
    link_citizens(session=session, notice=notice, codes=codes, now=now)
    start_followup(session=session, notice=notice, stage=stage, now=now)
