"""What the bot says in an agency's duty group and to its supervisors: Telegram HTML built
from the `duty.*` catalogue entries, every value escaped (a citizen's text is shown as
text). Nothing about the citizen but the complaint itself: never a chat id or a phone.

Duty chats are written in the city's default language; answers to one officer's tap
follow that officer's Telegram language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from civic.city import Profile
from civic.i18n import DEFAULT_LANGUAGE, localised, t
from civic.notices import ISSUED, late_milestones, subject_label
from storage.models import Notice, Ticket

CALLBACK_PREFIX = "duty:"
ACCEPT, REROUTE = "accept", "reroute"
DUTY_LANGUAGE = DEFAULT_LANGUAGE
# A complaint may be as long as a Telegram message; the post quotes it, so it is cut to
# leave room for the rest (the desk shows it whole).
MAX_QUOTED = 3000


@dataclass(frozen=True)
class Press:
    """A tap on a duty post's button: what to do to which ticket."""

    action: str
    number: str


def callback_data(action: str, number: str) -> str:
    return f"{CALLBACK_PREFIX}{action}:{number}"


def parse_callback(data: str | None) -> Press | None:
    action, _, number = (data or "").removeprefix(CALLBACK_PREFIX).partition(":")
    if not (data or "").startswith(CALLBACK_PREFIX) or action not in (ACCEPT, REROUTE):
        return None
    return Press(action, number) if number else None


def buttons(number: str, lang: str = DUTY_LANGUAGE) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("duty.accept", lang), callback_data=callback_data(ACCEPT, number)
                ),
                InlineKeyboardButton(
                    t("duty.reroute", lang), callback_data=callback_data(REROUTE, number)
                ),
            ]
        ]
    )


def city_time(profile: Profile, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone
    return aware.astimezone(ZoneInfo(profile.timezone)).strftime("%Y-%m-%d %H:%M")


def agency_label(profile: Profile, code: str | None, lang: str) -> str:
    if code is None:
        return t("duty.triage", lang)
    found = profile.agencies.get(code)
    return found.label(lang) if found else code


def _fields(ticket: Ticket, profile: Profile, lang: str) -> dict[str, str]:
    """The ticket's facts as escaped HTML values."""
    category = profile.categories.get(ticket.category)
    district = profile.districts.get(ticket.district or "")
    return {
        "number": escape(ticket.number or ""),
        "agency": escape(agency_label(profile, ticket.agency, lang)),
        "category": escape(category.label(lang) if category else ticket.category),
        "district": escape(
            localised(district.name, lang) if district else t("duty.unknown_district", lang)
        ),
        "due": escape(city_time(profile, ticket.due_at) or t("duty.no_due", lang)),
        "status": escape(status_label(ticket.status, lang)),
    }


def status_label(status: str, lang: str) -> str:
    try:
        return t(f"status.{status}", lang)
    except KeyError:
        return status


def post_text(ticket: Ticket, profile: Profile, lang: str = DUTY_LANGUAGE) -> str:
    """A new ticket, as posted to the duty group."""
    fields = _fields(ticket, profile, lang)
    place = t("duty.place", lang, place=escape(ticket.address_text)) if ticket.address_text else ""
    return t(
        "duty.post",
        lang,
        **{k: v for k, v in fields.items() if k != "status"},
        place=place,
        text=escape(_shortened(ticket.description)),
    )


def _shortened(text: str, limit: int = MAX_QUOTED) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escalation_text(ticket: Ticket, profile: Profile, lang: str = DUTY_LANGUAGE) -> str:
    return t("duty.escalation", lang, **_fields(ticket, profile, lang))


def notice_late_text(
    notice: Notice, profile: Profile, now: datetime, lang: str = DUTY_LANGUAGE
) -> str:
    """A late improvement notice, as escalated: what is late now (the answer, or the
    milestones past their date)."""
    today = now.astimezone(ZoneInfo(profile.timezone)).date()
    if notice.status == ISSUED:
        due = notice.response_due.isoformat() if notice.response_due else ""
        late = [t("notices.duty.late_response", lang, due=due)]
    else:
        late = [
            t(
                "notices.duty.late_milestone",
                lang,
                position=m.position,
                due=m.due.isoformat(),
                text=escape(localised({"zh": m.text_zh, "en": m.text_en}, lang)),
            )
            for m in late_milestones(notice, today)
        ]
    return t(
        "notices.duty.late",
        lang,
        number=escape(notice.number),
        agency=escape(agency_label(profile, notice.agency, lang)),
        subject=escape(subject_label(notice, lang)),
        status=escape(t(f"notices.status.{notice.status}", lang)),
        late="\n".join(late),
    )


def accepted_post(
    ticket: Ticket, profile: Profile, name: str, at: datetime, lang: str = DUTY_LANGUAGE
) -> str:
    """The group post once an officer accepted the ticket from it."""
    line = t("duty.accepted_by", lang, name=escape(name), at=city_time(profile, at))
    return f"{post_text(ticket, profile, lang)}\n\n{line}"


def rerouted_post(
    ticket: Ticket,
    profile: Profile,
    name: str,
    at: datetime,
    reason: str,
    lang: str = DUTY_LANGUAGE,
) -> str:
    """The group post once an officer sent the ticket back to triage from it."""
    line = t(
        "duty.rerouted_by",
        lang,
        name=escape(name),
        at=city_time(profile, at),
        reason=escape(_shortened(reason, 500)),
    )
    return f"{post_text(ticket, profile, lang)}\n\n{line}"


def stale_post(ticket: Ticket, profile: Profile, lang: str = DUTY_LANGUAGE) -> str:
    """The group post of a ticket dealt with elsewhere (the desk, the agency's system)."""
    status = status_label(ticket.status, lang)
    agency = agency_label(profile, ticket.agency, lang)
    line = t("duty.state", lang, status=escape(status), agency=escape(agency))
    return f"{post_text(ticket, profile, lang)}\n\n{line}"


def ask_reason_text(
    name: str, telegram_user_id: int, number: str, lang: str = DUTY_LANGUAGE
) -> str:
    """The question to the officer who tapped Reroute, mentioning them so that a selective
    ForceReply opens their reply box."""
    mention = f'<a href="tg://user?id={telegram_user_id}">{escape(name)}</a>'
    return t("duty.ask_reason", lang, officer=mention, number=escape(number))
