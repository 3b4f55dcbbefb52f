"""STOP by text: the keywords, and what a number's opt-out reaches."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.campaigns import is_stop_word, opt_out_number, sms_opted_out, subscribe
from storage.citizens import get_or_create_citizen
from storage.models import FrameMember, utcnow


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop\n", "退订", " 退订 ", "TD", "td", "ＴＤ"])
def test_stop_words(text: str) -> None:
    assert is_stop_word(text)


@pytest.mark.parametrize("text", ["stop it", "please stop", "TDD", "退订了吗", "1", ""])
def test_not_stop_words(text: str) -> None:
    assert not is_stop_word(text)


def test_every_member_at_the_number_is_out_however_it_was_written(session: Session) -> None:
    household = FrameMember(
        kind="household", external_id="H1", strata=json.dumps({}), mobile="+8613900005555"
    )
    elsewhere = FrameMember(
        kind="household", external_id="H2", strata=json.dumps({}), mobile="+8613900006666"
    )
    session.add_all([household, elsewhere])
    # a Telegram subscriber whose shared number came without the plus
    subscriber = get_or_create_citizen(session=session, channel="telegram", address="77")
    subscriber.phone = "8613900005555"
    member = subscribe(
        session=session, citizen_id=subscriber.id, district=None, strata={}, now=utcnow()
    )
    session.flush()

    assert opt_out_number(session=session, phone="+8613900005555", now=utcnow()) == 2

    out = {
        m.id
        for m in session.scalars(select(FrameMember).where(FrameMember.opted_out_at.is_not(None)))
    }
    assert out == {household.id, member.id}
    assert sms_opted_out(session=session, phone="+8613900005555")
    assert sms_opted_out(session=session, phone="13900005555")
    assert not sms_opted_out(session=session, phone="+8613900006666")
