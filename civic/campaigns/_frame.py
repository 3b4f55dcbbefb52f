"""The sample frame: households imported from the evaluation office's registry
(civic.campaigns._registry), and bot subscribers who opted in."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civic.campaigns._sampling import KEY_SEPARATORS
from storage.models import Citizen, FrameMember

CN_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalise_mobile(text: str) -> str | None:
    """A Chinese mobile number as E.164 (+86 and 11 digits), or None when it is not one.
    Spaces and hyphens are ignored; "+86" may be left off."""
    national = re.sub(r"[\s-]", "", text).removeprefix("+86")
    return f"+86{national}" if CN_MOBILE.fullmatch(national) else None


# A citizen linked to an improvement notice, told about it through the campaign sender but
# never sampled for a survey (they did not subscribe): civic.notices makes these.
CONTACT = "contact"


def subscribe(
    *,
    session: Session,
    citizen_id: int,
    district: str | None,
    strata: Mapping[str, str],
    now: datetime,
) -> FrameMember:
    """Put a citizen in the frame (or back in it) with their consent given `now`."""
    for name, value in strata.items():
        if any(separator in name + value for separator in KEY_SEPARATORS):
            raise ValueError(f"stratum attribute {name!r} must not contain '|' or '='")
    member = member_for_citizen(session=session, citizen_id=citizen_id)
    if member is None:
        member = FrameMember(kind="subscriber", citizen_id=citizen_id)
        session.add(member)
    member.kind = "subscriber"  # a contact who subscribes joins the sample frame
    member.district = district
    member.strata = json.dumps(dict(strata), ensure_ascii=False, sort_keys=True)
    member.consent_at = now
    member.opted_out_at = None
    session.flush()
    return member


def opt_out(*, session: Session, member: FrameMember, now: datetime) -> None:
    """Take the member out of all future samples."""
    member.opted_out_at = now
    session.flush()


def member_for_citizen(*, session: Session, citizen_id: int) -> FrameMember | None:
    return session.scalars(select(FrameMember).where(FrameMember.citizen_id == citizen_id)).first()


def phone_in_panel(*, session: Session, phone: str, other_than: int) -> bool:
    """True when another citizen with this mobile number (however it was written down:
    +86…, 86… as Telegram gives it, or 11 digits) subscribed and has not left: one
    number, one place in the panel."""
    mobile = normalise_mobile(phone) or normalise_mobile(f"+{phone}")
    spellings = {phone} | ({mobile, mobile[1:], mobile[3:]} if mobile else set())
    found = session.scalars(
        select(FrameMember.id)
        .join(Citizen, Citizen.id == FrameMember.citizen_id)
        .where(
            Citizen.phone.in_(spellings),
            Citizen.id != other_than,
            FrameMember.opted_out_at.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def eligible_members(
    *, session: Session, population: Mapping[str, list[str]], quiet_since: datetime
) -> list[tuple[int, dict[str, str | None]]]:
    """The frame a campaign samples from, as (member id, attributes) sorted by id: members
    not opted out, not sampled since `quiet_since`, whose attributes (district and strata)
    take one of the allowed values of each attribute in `population` ({} = everyone)."""
    query = select(FrameMember).where(
        FrameMember.kind != CONTACT,
        FrameMember.opted_out_at.is_(None),
        or_(
            FrameMember.last_sampled_at.is_(None),
            # SQLite keeps times as text without a zone: compare in UTC, as they are stored.
            FrameMember.last_sampled_at < quiet_since.astimezone(UTC),
        ),
    )
    if "district" in population:
        query = query.where(FrameMember.district.in_(population["district"]))
    eligible: list[tuple[int, dict[str, str | None]]] = []
    for member in session.scalars(query.order_by(FrameMember.id)):
        attrs = attributes(member)
        if all(attrs.get(name) in allowed for name, allowed in population.items()):
            eligible.append((member.id, attrs))
    return eligible


def attributes(member: FrameMember) -> dict[str, str | None]:
    """The member's stratum attributes: the strata JSON with the district."""
    attrs: dict[str, str | None] = {
        str(name): None if value is None else str(value)
        for name, value in json.loads(member.strata or "{}").items()
    }
    attrs["district"] = member.district
    return attrs


def erase_household(*, session: Session, external_id: str) -> bool:
    """Delete a registry household (its contact details and strata) on request; its
    invitations stay, anonymous, with their stratum. False when there is no such id."""
    member = session.scalars(
        select(FrameMember).where(FrameMember.external_id == external_id)
    ).first()
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True
