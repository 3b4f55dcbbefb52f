"""The talk-to-a-person queue on the desk: the evaluation office's staff read the
conversation so far and answer; the answer reaches the citizen through the notifier."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from bot.web._desk.render import Page
from bot.web._desk.views import aware
from civic.agencies import is_office
from civic.handoffs import close_handoff, handoff_queue, staff_reply
from storage.models import AgencyUser, Handoff

MAX_REPLY = 4000


def is_staff(user: AgencyUser) -> bool:
    """Handoffs are for the evaluation office's staff (not the hotline's operators)."""
    return is_office(user)


def _city_time(moment: datetime, timezone: str) -> str:
    return aware(moment).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def queue_view(session: Session, page: Page, timezone: str) -> list[dict[str, Any]]:
    return [
        {
            "id": h.id,
            "status_label": page.t(f"handoffs.{h.status}"),
            "created": _city_time(h.created_at, timezone),
            "messages": [
                {
                    "sender": m.sender,
                    "who": page.t(f"handoffs.{m.sender}", name=m.staff_username or ""),
                    "text": m.text,
                }
                for m in h.messages
            ],
        }
        for h in handoff_queue(session=session)
    ]


def reply(session: Session, user: AgencyUser, handoff: Handoff, form: FormData) -> str:
    """Answer the citizen; returns the flash message key. ValueError when refused."""
    text = str(form.get("text") or "").strip()
    if len(text) > MAX_REPLY:
        raise ValueError(f"at most {MAX_REPLY} characters")
    staff_reply(session=session, handoff=handoff, username=user.username, text=text)
    return "flash.handoff_replied"


def close(session: Session, user: AgencyUser, handoff: Handoff, form: FormData) -> str:
    close_handoff(session=session, handoff=handoff)
    return "flash.handoff_closed"


HANDOFF_ACTIONS = {"reply": reply, "close": close}
