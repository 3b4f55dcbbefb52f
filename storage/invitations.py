"""Invitations on their way: the sender claims a batch of due invitations and reminders
(state `sending`, committed before any request goes out), then settles each outcome. An
invitation moves pending → sending → sent (or failed / unreachable / opted_out); what a
crash leaves in `sending` is sorted out from the sender's journal (bot/delivery/_journal.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from storage import outbox
from storage.models import Campaign, FrameMember, Invitation

MAX_ATTEMPTS = 6
# 30 s, doubled after each failure; the cap is never reached (the longest wait is 30 s * 2**4)
RETRIES = outbox.RetryPolicy(
    max_attempts=MAX_ATTEMPTS,
    first_delay=timedelta(seconds=30),
    max_delay=timedelta(hours=1),
    error_length=300,
)


def reminder_offsets(campaign: Campaign) -> list[timedelta]:
    return [timedelta(days=float(d)) for d in json.loads(campaign.reminder_days or "[]")]


def claim(
    *, session: Session, campaign: Campaign, now: datetime, limit: int, channels: tuple[str, ...]
) -> list[Invitation]:
    """Take up to `limit` invitations due now (first sends, then due reminders) and mark
    them `sending`. The caller commits before sending anything."""
    first_sends = (
        Invitation.state == "pending",
        or_(Invitation.next_attempt_at.is_(None), Invitation.next_attempt_at <= now),
    )
    claimed = _claim_round(session, campaign, 0, first_sends, limit, channels)
    for reminder, offset in enumerate(reminder_offsets(campaign), start=1):
        if len(claimed) >= limit:  # first invitations go before any reminder
            break
        # sent before the reminder's offset, not started, and had `reminder - 1` reminders
        reminders_due = (
            Invitation.state == "sent",
            Invitation.started_at.is_(None),
            Invitation.reminders_sent == reminder - 1,
            Invitation.sent_at <= now - offset,
            # a reminder that must be retried waits for its time, as a first send does
            or_(Invitation.next_attempt_at.is_(None), Invitation.next_attempt_at <= now),
        )
        claimed += _claim_round(
            session, campaign, reminder, reminders_due, limit - len(claimed), channels
        )
    for invitation in claimed:
        invitation.claimed_at = now
    session.flush()
    return claimed


def _claim_round(
    session: Session,
    campaign: Campaign,
    sending_round: int,
    due: tuple[ColumnElement[bool], ...],
    limit: int,
    channels: tuple[str, ...],
) -> list[Invitation]:
    """The campaign's invitations on `channels` matching `due`, whose person has not opted
    out, in id order, marked `sending` for `sending_round` (0 the invitation, 1.. the
    reminders)."""
    query = (
        select(Invitation)
        .join(FrameMember, FrameMember.id == Invitation.member_id)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.channel.in_(channels),
            FrameMember.opted_out_at.is_(None),
            *due,
        )
        .order_by(Invitation.id)
    )
    rows = outbox.take(session=session, query=query, limit=limit)
    for row in rows:
        row.state, row.sending_round = "sending", sending_round
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
    row.last_error = RETRIES.clip(error=error)
    if outcome == "sent":
        row.state = "sent"
        if sending_round == 0:
            row.sent_at = now
        else:
            row.reminders_sent = sending_round
    elif outcome == "retry" and not RETRIES.gives_up(attempts=row.attempts):
        row.state = "pending" if sending_round == 0 else "sent"
        if retry_after is None:
            row.next_attempt_at = now + RETRIES.delay(attempts=row.attempts)
        else:  # the channel said when (counted as an attempt all the same)
            row.next_attempt_at = now + timedelta(seconds=retry_after)
    elif outcome == "unreachable":
        row.state = "unreachable"
    else:
        # a reminder that cannot go leaves the invitation itself delivered
        row.state = "failed" if sending_round == 0 else "sent"
        if sending_round:
            row.reminders_sent = sending_round
    return True


def add_sms_usage(*, session: Session, campaign_id: int, messages: int, segments: int) -> None:
    """Count texts sent for a campaign and the segments they cost (an UPDATE that adds, so
    two senders never lose each other's counts)."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(
            sms_messages=Campaign.sms_messages + messages,
            sms_segments=Campaign.sms_segments + segments,
        )
    )


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
