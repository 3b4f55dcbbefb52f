"""Phone verification codes: the one in progress for a citizen, and how many went out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import PhoneCode


def create_phone_code(
    *, session: Session, citizen_id: int, now: datetime, expires_at: datetime
) -> PhoneCode:
    row = PhoneCode(citizen_id=citizen_id, created_at=now, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def open_phone_code(*, session: Session, citizen_id: int) -> PhoneCode | None:
    """The citizen's verification still in progress (not closed), newest first."""
    return session.scalars(
        select(PhoneCode)
        .where(PhoneCode.citizen_id == citizen_id, PhoneCode.closed_at.is_(None))
        .order_by(PhoneCode.id.desc())
    ).first()


def close_phone_code(*, session: Session, row: PhoneCode, outcome: str, now: datetime) -> None:
    """Close a verification: nothing is left to guess, and the number is no longer
    kept here (its HMAC stays, for the limits)."""
    row.closed_at = now
    row.outcome = outcome
    row.phone = None
    row.code_digest = None


def close_open_phone_codes(
    *, session: Session, citizen_id: int, outcome: str, now: datetime
) -> None:
    rows = session.scalars(
        select(PhoneCode).where(PhoneCode.citizen_id == citizen_id, PhoneCode.closed_at.is_(None))
    )
    for row in rows:
        close_phone_code(session=session, row=row, outcome=outcome, now=now)


def count_codes_sent(
    *,
    session: Session,
    since: datetime,
    citizen_id: int | None = None,
    phone_digest: str | None = None,
) -> int:
    """Codes issued since `since` to a citizen or to a number, not counting those the
    SMS gateway did not take."""
    query = (
        select(func.count())
        .select_from(PhoneCode)
        .where(
            PhoneCode.issued_at >= since,
            or_(PhoneCode.outcome.is_(None), PhoneCode.outcome != "unsent"),
        )
    )
    if citizen_id is not None:
        query = query.where(PhoneCode.citizen_id == citizen_id)
    if phone_digest is not None:
        query = query.where(PhoneCode.phone_digest == phone_digest)
    return int(session.scalar(query) or 0)


def purge_phone_codes(*, session: Session, before: datetime) -> int:
    """Drop verifications begun before `before` (long past every limit's look-back)."""
    result = session.execute(delete(PhoneCode).where(PhoneCode.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
