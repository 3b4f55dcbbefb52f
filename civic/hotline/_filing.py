"""Reading the operator's form and filing the caller's ticket.

The caller becomes a citizen reached at an `sms` address (their E.164 mobile number, also
kept on `citizens.phone`), so the notifier texts them every public update in the language
they chose; a caller who gave no number gets no updates. The ticket goes through
`civic.tickets.create_ticket` like any citizen's (numbering, routing events, duty
messages, the agency's deadline), with the operator as the one who filed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civic.agencies import HOTLINE
from civic.campaigns import normalise_mobile
from civic.city import Profile
from civic.errors import AccessDenied, CivicError, NotFound
from civic.i18n import LANGUAGES
from civic.identity import mask_phone
from civic.routing import RoutingDecision
from civic.tickets import create_ticket, due_at, get_ticket
from storage.citizens import addresses_of, get_or_create_citizen
from storage.models import AgencyUser, Ticket, utcnow

# Who files for callers: the hotline's operators, and the evaluation office's staff.
FILERS = (HOTLINE, "staff")
MAX_DESCRIPTION = 4000
MAX_PLACE = 300
SMS = "sms"
ROUTED_BY = "hotline"
_FIELDS = (
    "description",
    "place",
    "phone",
    "language",
    "category",
    "agency",
    "district",
    "confidence",
)


class CallProblems(CivicError):
    """What is wrong with the form: field name → the desk's text key saying why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Call:
    """A checked form. `agency` None sends the ticket to the office's triage queue;
    `phone` is E.164, or None when the caller gave none (then no updates)."""

    description: str
    place: str
    phone: str | None
    language: str
    category: str
    agency: str | None
    district: str | None
    confidence: float = 0.0


@dataclass(frozen=True)
class FiledCall:
    """What the operator is told after filing; the number only masked."""

    number: str
    agency: str | None
    phone: str | None  # "+86 138****5678" when the caller gets updates by SMS


def may_file(user: AgencyUser) -> bool:
    return user.disabled_at is None and user.role in FILERS


def _confidence(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


def read_call(profile: Profile, form: Mapping[str, str]) -> Call:
    """The form as a `Call`, or `CallProblems` naming every field that is wrong."""
    value = {k: (form.get(k) or "").strip() for k in _FIELDS}
    problems: dict[str, str] = {}
    if not value["description"]:
        problems["description"] = "hotline.problem.no_description"
    elif len(value["description"]) > MAX_DESCRIPTION:
        problems["description"] = "hotline.problem.too_long"
    if len(value["place"]) > MAX_PLACE:
        problems["place"] = "hotline.problem.too_long"
    phone = normalise_mobile(value["phone"]) if value["phone"] else None
    if value["phone"] and phone is None:
        problems["phone"] = "hotline.problem.bad_phone"
    if value["language"] not in LANGUAGES:
        problems["language"] = "hotline.problem.bad_language"
    if value["category"] not in profile.categories:
        problems["category"] = "hotline.problem.bad_category"
    if value["agency"] and value["agency"] not in profile.agencies:
        problems["agency"] = "hotline.problem.bad_agency"
    if value["district"] and value["district"] not in profile.districts:
        problems["district"] = "hotline.problem.bad_district"
    if problems:
        raise CallProblems(problems)
    return Call(
        description=value["description"],
        place=value["place"],
        phone=phone,
        language=value["language"],
        category=value["category"],
        agency=value["agency"] or None,
        district=value["district"] or None,
        confidence=_confidence(value["confidence"]),
    )


def _caller(session: Session, call: Call) -> int | None:
    """The citizen the caller is, by their number; None without one."""
    if call.phone is None:
        return None
    citizen = get_or_create_citizen(
        session=session, channel=SMS, address=call.phone, language=call.language
    )
    citizen.language = call.language  # the language they asked for on this call
    citizen.phone = call.phone
    session.flush()
    return citizen.id


def file_for_caller(
    *, session: Session, profile: Profile, operator: AgencyUser, call: Call
) -> FiledCall:
    """File the caller's ticket as `operator`; AccessDenied unless they may file."""
    if not may_file(operator):
        raise AccessDenied("only the hotline's operators and the office's staff file for callers")
    category = profile.categories[call.category]
    decision = RoutingDecision(
        category=category.code,
        agency=call.agency,
        district=call.district,
        confidence=call.confidence,
        decided_by=ROUTED_BY,
    )
    ticket: Ticket = create_ticket(
        session=session,
        citizen_id=_caller(session, call),
        description=call.description,
        language=call.language,
        decision=decision,
        ticket_prefix=profile.ticket_prefix,
        timezone=profile.timezone,
        due_at=due_at(utcnow(), category.target_hours),
        address_text=call.place or None,
        contact="phone" if call.phone else "anonymous",
        filed_by=operator,
    )
    return FiledCall(
        ticket.number or "", ticket.agency, mask_phone(call.phone) if call.phone else None
    )


def filed_call(*, session: Session, operator: AgencyUser, number: str) -> FiledCall:
    """A ticket `operator` filed, as shown after filing; NotFound for any other."""
    ticket = get_ticket(session=session, viewer=operator, number=number)
    if ticket.filed_by_user_id != operator.id:
        raise NotFound(f"no ticket {number} filed by this user")
    numbers = [
        a.address
        for a in addresses_of(session=session, citizen_id=ticket.citizen_id or 0)
        if a.channel == SMS and a.unreachable_at is None
    ]
    return FiledCall(
        ticket.number or "", ticket.agency, mask_phone(numbers[0]) if numbers else None
    )
