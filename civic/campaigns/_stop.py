"""A texted STOP: the number is opted out of everything we send by SMS.

STOP, 退订 and TD (the keyword Chinese carriers use), in any case and with spaces around,
take every person in the frame at that number out of all campaigns (their pending
invitations and reminders stop), and mark the number's SMS address unreachable, so no
status update is texted to it either.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civic.campaigns._frame import normalise_mobile
from civic.campaigns._service import opt_out_member
from storage.citizens import get_or_create_citizen, mark_unreachable
from storage.models import ChannelAddress, Citizen, FrameMember

STOP_WORDS = frozenset({"stop", "退订", "td"})
SMS = "sms"


def is_stop_word(text: str) -> bool:
    """True for STOP, 退订 or TD, whatever the case, width and spaces around."""
    return unicodedata.normalize("NFKC", text).strip().casefold() in STOP_WORDS


def spellings(phone: str) -> set[str]:
    """The ways one mobile number is written down here: +86…, 86… (Telegram) and 11 digits."""
    mobile = normalise_mobile(phone) or normalise_mobile(f"+{phone}")
    return {phone} | ({mobile, mobile[1:], mobile[3:]} if mobile else set())


def opt_out_number(*, session: Session, phone: str, now: datetime) -> int:
    """Opt the number out of invitations, reminders and SMS updates; the number of
    frame members it took out."""
    numbers = spellings(phone)
    citizens = select(Citizen.id).where(Citizen.phone.in_(numbers))
    by_address = select(ChannelAddress.citizen_id).where(
        ChannelAddress.channel == SMS, ChannelAddress.address.in_(numbers)
    )
    members = session.scalars(
        select(FrameMember).where(
            FrameMember.opted_out_at.is_(None),
            or_(
                FrameMember.mobile.in_(numbers),
                FrameMember.citizen_id.in_(citizens),
                FrameMember.citizen_id.in_(by_address),
            ),
        )
    ).all()
    for member in members:
        opt_out_member(session=session, member=member, now=now)
    # the address is kept (marked), so that the opt-out outlives the conversation
    get_or_create_citizen(session=session, channel=SMS, address=phone)
    mark_unreachable(session=session, channel=SMS, address=phone)
    return len(members)


def sms_opted_out(*, session: Session, phone: str) -> bool:
    """True when this number texted STOP: nothing more goes to it by SMS."""
    found = session.scalars(
        select(ChannelAddress.id).where(
            ChannelAddress.channel == SMS,
            ChannelAddress.address.in_(spellings(phone)),
            ChannelAddress.unreachable_at.is_not(None),
        )
    ).first()
    return found is not None
