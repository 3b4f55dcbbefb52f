"""Invitations on their way: the sender claims a batch of due invitations and reminders
(state `sending`, committed before any request goes out), then settles each outcome. An
invitation moves pending → sending → sent (or failed / unreachable / opted_out); what a
crash leaves in `sending` is sorted out from the sender's journal (bot/delivery/journal.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import Campaign, FrameMember, Invitation

MAX_ATTEMPTS = 6


def reminder_offsets(campaign: Campaign) -> list[timedelta]:
    return [timedelta(days=float(d)) for d in json.loads(campaign.reminder_days or "[]")]


def claim(
    *, session: Session, campaign: Campaign, now: datetime, limit: int, channels: tuple[str, ...]
) -> list[Invitation]:
    """Take up to `limit` invitations due now (first sends, then due reminders) and mark
    them `sending`. The caller commits before sending anything."""
    offsets = reminder_offsets(campaign)
    claimed = _claim_first_sends(session, campaign, now, limit, channels)
    for reminder, offset in enumerate(offsets, start=1):
        if len(claimed) >= limit:  # first invitations go before any reminder
            break
        claimed += _claim_reminders(
            session, campaign, now - offset, reminder, limit - len(claimed), channels
        )
    for invitation in claimed:
        invitation.claimed_at = now
    session.flush()
    return claimed


def _locked(session: Session, query: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Invitation)
    return query


def _claim_first_sends(
    session: Session, campaign: Campaign, now: datetime, limit: int, channels: tuple[str, ...]
) -> list[Invitation]:
    query = (
        select(Invitation)
        .join(FrameMember, FrameMember.id == Invitation.member_id)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.state == "pending",
            Invitation.channel.in_(channels),
            or_(Invitation.next_attempt_at.is_(None), Invitation.next_attempt_at <= now),
            FrameMember.opted_out_at.is_(None),
        )
        .order_by(Invitation.id)
        .limit(limit)
    )
    rows = list(session.scalars(_locked(session, query)))
    for row in rows:
        row.state, row.sending_round = "sending", 0
    return rows


def _claim_reminders(
    session: Session,
    campaign: Campaign,
    sent_before: datetime,
    reminder: int,
    limit: int,
    channels: tuple[str, ...],
) -> list[Invitation]:
    """Invitations sent before `sent_before` whose person has not started the survey and
    has had `reminder - 1` reminders."""
    query = (
        select(Invitation)
        .join(FrameMember, FrameMember.id == Invitation.member_id)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.state == "sent",
            Invitation.channel.in_(channels),
            Invitation.started_at.is_(None),
            Invitation.reminders_sent == reminder - 1,
            Invitation.sent_at <= sent_before,
            FrameMember.opted_out_at.is_(None),
        )
        .order_by(Invitation.id)
        .limit(limit)
    )
    rows = list(session.scalars(_locked(session, query)))
    for row in rows:
        row.state, row.sending_round = "sending", reminder
    return rows


def settle(
    *,
    session: Session,
    invitation_id: int,
    sending_round: int,
    outcome: str,
    now: datetime,
    error: str | None = None,
    retry_after: float | None = None,
) -> bool:
    """Record how one claimed send ended: "sent", "retry", "failed", "unreachable".
    Only a row still `sending` that round is changed, so settling twice is harmless."""
    row = session.get(Invitation, invitation_id)
    if row is None:
        return False
    return settle_row(
        row=row,
        sending_round=sending_round,
        outcome=outcome,
        now=now,
        error=error,
        retry_after=retry_after,
    )


def settle_row(
    *,
    row: Invitation,
    sending_round: int,
    outcome: str,
    now: datetime,
    error: str | None = None,
    retry_after: float | None = None,
) -> bool:
    if row.state != "sending" or row.sending_round != sending_round:
        return False
    row.attempts += 1
    row.last_error = error[:300] if error else None
    if outcome == "sent":
        row.state = "sent"
        if sending_round == 0:
            row.sent_at = now
        else:
            row.reminders_sent = sending_round
    elif outcome == "retry" and row.attempts < MAX_ATTEMPTS:
        row.state = "pending" if sending_round == 0 else "sent"
        delay = retry_after if retry_after is not None else 30 * 2 ** (row.attempts - 1)
        row.next_attempt_at = now + timedelta(seconds=delay)
    elif outcome == "unreachable":
        row.state = "unreachable"
    else:
        # a reminder that cannot go leaves the invitation itself delivered
        row.state = "failed" if sending_round == 0 else "sent"
        if sending_round:
            row.reminders_sent = sending_round
    return True


def load(*, session: Session, ids: list[int]) -> dict[int, Invitation]:
    """Invitations by id in one query, so settling a batch does not ask row by row."""
    if not ids:
        return {}
    return {
        row.id: row for row in session.scalars(select(Invitation).where(Invitation.id.in_(ids)))
    }


def release(*, session: Session, invitation_ids: list[int]) -> int:
    """Put claimed invitations that were never started back where they were."""
    if not invitation_ids:
        return 0
    first = session.execute(
        update(Invitation)
        .where(
            Invitation.id.in_(invitation_ids),
            Invitation.state == "sending",
            Invitation.sending_round == 0,
        )
        .values(state="pending", claimed_at=None)
    )
    later = session.execute(
        update(Invitation)
        .where(
            Invitation.id.in_(invitation_ids),
            Invitation.state == "sending",
            Invitation.sending_round > 0,
        )
        .values(state="sent", claimed_at=None)
    )
    return int(first.rowcount or 0) + int(later.rowcount or 0)  # type: ignore[attr-defined]


def in_flight(*, session: Session) -> list[Invitation]:
    return list(session.scalars(select(Invitation).where(Invitation.state == "sending")))
