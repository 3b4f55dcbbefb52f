"""Citizens and the channel addresses they are reached at. Erasing one is
`civic.privacy.erase_citizen`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ChannelAddress, Citizen, OfferedButton, utcnow


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


def lock_citizen(*, session: Session, citizen_id: int) -> None:
    """Hold the citizen's row until the transaction ends, so that two requests of one
    citizen take turns (SELECT … FOR UPDATE; SQLite's write transactions already do)."""
    session.execute(select(Citizen.id).where(Citizen.id == citizen_id).with_for_update())


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


def note_message(
    *, session: Session, channel: str, address: str, at: datetime, language: str | None = None
) -> Citizen:
    """The citizen wrote from (channel, address) at `at`: remember when, and that the
    address reaches them again (a WeChat user who subscribes anew). `language` is a new
    citizen's."""
    citizen = get_or_create_citizen(
        session=session, channel=channel, address=address, language=language
    )
    row = session.scalars(
        select(ChannelAddress).where(
            ChannelAddress.channel == channel, ChannelAddress.address == address
        )
    ).one()
    row.last_message_at = at
    row.unreachable_at = None
    return citizen


def last_message_at(*, session: Session, channel: str, address: str) -> datetime | None:
    moment = session.scalars(
        select(ChannelAddress.last_message_at).where(
            ChannelAddress.channel == channel, ChannelAddress.address == address
        )
    ).first()
    return _aware(moment) if moment is not None else None


def _digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def remember_offered(
    *, session: Session, citizen_id: int, payloads: Iterable[str], now: datetime | None = None
) -> None:
    """Note that these button payloads were shown to the citizen (again: the time moves)."""
    now = now or utcnow()
    for digest in {_digest(p) for p in payloads if p}:
        row = session.get(OfferedButton, (citizen_id, digest))
        if row is not None:
            row.offered_at = now
            continue
        try:
            with session.begin_nested():
                session.add(OfferedButton(citizen_id=citizen_id, digest=digest, offered_at=now))
        except IntegrityError:  # the same button offered by two processes at once
            pass


def was_offered(*, session: Session, citizen_id: int, payload: str, since: datetime) -> bool:
    """True when `payload` was shown to the citizen as a button at or after `since`."""
    row = session.get(OfferedButton, (citizen_id, _digest(payload)))
    return row is not None and _aware(row.offered_at) >= since


def forget_offers_before(*, session: Session, before: datetime) -> int:
    """Drop offers older than `before`; their buttons no longer count."""
    result = session.execute(delete(OfferedButton).where(OfferedButton.offered_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
