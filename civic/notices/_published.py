"""The one place where a notice becomes news for the citizens who raised its problem.

`notice_published` is called, inside the step's transaction, when an agency's public
commitment is published (stage "committed", from `commit`) and when the evaluation
office verifies the rectification (stage "verified", from `verify`). Messages to the
citizens linked to the notice (`NoticeLink`), asking whether things got better, belong
here; until they exist it does nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import Notice

COMMITTED, VERIFIED = "committed", "verified"
STAGES = (COMMITTED, VERIFIED)


def notice_published(*, session: Session, notice: Notice, stage: str) -> None:
    """A commitment was published or a rectification verified (`stage`)."""
    if stage not in STAGES:
        raise ValueError(f"a notice is published when {' or '.join(STAGES)}: {stage}")
