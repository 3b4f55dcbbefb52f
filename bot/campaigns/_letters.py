"""Letter invitations: the households due a letter, printed as one PDF (a page each)
and then counted as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.delivery import Letter, letters_pdf
from civic.campaigns import invitation_links, sign
from civic.settings import Settings
from storage import invitations as store
from storage.db import session_scope
from storage.models import Campaign, FrameMember, Invitation


def print_letters(settings: Settings, campaign_id: int, out: Path) -> int:
    """Write the PDF of every letter invitation not yet printed; mark them sent only once
    the file is written, so a failed print leaves them due."""
    now = datetime.now(UTC)
    with session_scope(settings.database_url) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return 0
        rows = list(
            session.execute(
                select(Invitation, FrameMember)
                .join(FrameMember, FrameMember.id == Invitation.member_id)
                .where(
                    Invitation.campaign_id == campaign_id,
                    Invitation.channel == "letter",
                    Invitation.state == "pending",
                    FrameMember.opted_out_at.is_(None),
                )
                .order_by(Invitation.id)
            )
        )
        letters = []
        for invitation, member in rows:
            token = sign(secret=settings.secret_key, nonce=invitation.nonce)
            telegram_link, web_link = invitation_links(
                settings.telegram_bot_username, settings.public_url, token
            )
            letters.append(
                Letter(
                    member.external_id or str(member.id),
                    member.postal_address or "",
                    telegram_link,
                    web_link,
                )
            )
        if not letters:
            return 0
        out.write_bytes(letters_pdf(letters))
        for invitation, _ in rows:
            invitation.state, invitation.sending_round = "sending", 0
            store.settle(
                session=session,
                invitation_id=invitation.id,
                sending_round=0,
                outcome="sent",
                now=now,
            )
        return len(letters)
