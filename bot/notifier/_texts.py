"""A notification's text and buttons in the citizen's language, and who gets it by SMS."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from sqlalchemy.orm import Session

from civic.campaigns import normalise_mobile, sms_opted_out
from civic.i18n import localised, t
from storage.models import ChannelAddress, Citizen

# The gateway's limit for one message's body.
SMS_MAX_BODY = 1600


def render_text(key: str, language: str, params: Mapping[str, object]) -> str:
    """The catalogue text in the citizen's language; the status code becomes its label."""
    values = {k: v for k, v in params.items() if k != "buttons"}
    status = values.get("status")
    if isinstance(status, str):
        with contextlib.suppress(KeyError):  # an unknown code is shown as it is
            values["status"] = t(f"status.{status}", language)
    values["note"] = values.get("note") or ""
    return t(key, language, **values).strip()


def buttons(params: Mapping[str, object], language: str) -> list[dict[str, str]]:
    raw = params.get("buttons")
    out = []
    for button in raw if isinstance(raw, list) else []:
        title = button.get("title")
        if button.get("title_key"):  # a catalogue key, as civic.notifications._service writes
            title = t(button["title_key"], language)
        elif isinstance(title, dict):  # {"zh": ..., "en": ...}
            title = localised(title, language)
        out.append({"title": str(title), "payload": str(button["payload"])})
    return out


def sms_numbers(session: Session, citizen: Citizen, addresses: list[ChannelAddress]) -> list[str]:
    """Where a status update goes by SMS: the number the citizen texts us from, and the
    phone number they gave when no Telegram chat reaches them; never a number that texted
    STOP."""
    numbers = [a.address for a in addresses if a.channel == "sms" and a.unreachable_at is None]
    on_telegram = any(a.channel == "telegram" and a.unreachable_at is None for a in addresses)
    given = citizen.phone and (
        normalise_mobile(citizen.phone) or normalise_mobile(f"+{citizen.phone}")
    )
    if given and not on_telegram and given not in numbers:
        numbers.append(given)
    return [n for n in numbers if not sms_opted_out(session=session, phone=n)]


def sms_body(text: str) -> str:
    return text if len(text) <= SMS_MAX_BODY else text[: SMS_MAX_BODY - 1] + "…"
