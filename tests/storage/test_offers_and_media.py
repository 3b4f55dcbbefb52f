"""Offered buttons (a tapped payload counts only if it was offered to that citizen) and
the names of stored photos, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from civic.identity import ACCOUNT, ANONYMOUS, VERIFIED_PHONE, channel_level, raise_level
from storage.citizens import (
    forget_offers_before,
    get_or_create_citizen,
    remember_offered,
    was_offered,
)
from storage.media import MediaStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def test_an_offer_is_per_citizen_and_ages(session: Session) -> None:
    one = get_or_create_citizen(session=session, channel="web", address="a" * 20)
    two = get_or_create_citizen(session=session, channel="web", address="b" * 20)
    session.flush()
    then = datetime(2026, 12, 1, tzinfo=UTC)
    remember_offered(session=session, citizen_id=one.id, payloads=["/affirm", "wr:1"], now=then)
    remember_offered(session=session, citizen_id=one.id, payloads=["/affirm"], now=then)  # again
    session.commit()
    assert was_offered(session=session, citizen_id=one.id, payload="/affirm", since=then)
    assert not was_offered(session=session, citizen_id=two.id, payload="/affirm", since=then)
    assert not was_offered(session=session, citizen_id=one.id, payload="/deny", since=then)
    later = then + timedelta(days=31)
    assert not was_offered(session=session, citizen_id=one.id, payload="wr:1", since=later)
    assert forget_offers_before(session=session, before=later) == 2


def test_levels_rise_and_never_fall(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="web", address="c" * 20)
    assert channel_level("web") == ANONYMOUS and channel_level("telegram") == ACCOUNT
    assert raise_level(citizen, channel_level("web")) is False  # the default already
    assert raise_level(citizen, VERIFIED_PHONE) and citizen.assurance == VERIFIED_PHONE
    assert raise_level(citizen, ACCOUNT) is False and citizen.assurance == VERIFIED_PHONE


def test_only_names_the_store_issued_are_photos(tmp_path: Path) -> None:
    media = MediaStore(tmp_path)
    name = media.save(PNG)
    assert name is not None and media.issued(name)
    for other in ("https://elsewhere.example/x.jpg", "../civic.db", "0" * 24 + ".png", ""):
        assert not media.issued(other), other
