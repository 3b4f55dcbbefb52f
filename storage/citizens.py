"""Citizens and the channel addresses they are reached at. Erasing one is
`civic.privacy.erase_citizen`."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ChannelAddress, Citizen, utcnow


def get_or_create_citizen(
    *, session: Session, channel: str, address: str, language: str | None = None
) -> Citizen:
    """The citizen behind (channel, address), created on first contact."""
    found = session.scalars(
        select(Citizen)
        .join(ChannelAddress)
        .where(ChannelAddress.channel == channel, ChannelAddress.address == address)
    ).first()
    if found is not None:
        return found
    citizen = Citizen(public_id=secrets.token_hex(12), language=language or "zh")
    citizen.addresses.append(ChannelAddress(channel=channel, address=address))
    try:
        with session.begin_nested():
            session.add(citizen)
    except IntegrityError:
        # Another process created the same address at the same moment.
        return get_or_create_citizen(session=session, channel=channel, address=address)
    return citizen


def get_citizen(*, session: Session, public_id: str) -> Citizen | None:
    return session.scalars(select(Citizen).where(Citizen.public_id == public_id)).first()


def set_language(*, session: Session, citizen: Citizen, language: str) -> None:
    citizen.language = language


def addresses_of(*, session: Session, citizen_id: int) -> list[ChannelAddress]:
    return list(
        session.scalars(select(ChannelAddress).where(ChannelAddress.citizen_id == citizen_id))
    )


def mark_unreachable(*, session: Session, channel: str, address: str) -> None:
    row = session.scalars(
        select(ChannelAddress).where(
            ChannelAddress.channel == channel, ChannelAddress.address == address
        )
    ).first()
    if row is not None and row.unreachable_at is None:
        row.unreachable_at = utcnow()
