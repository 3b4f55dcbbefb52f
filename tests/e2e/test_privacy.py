"""Personal data, end to end: a citizen deletes their data from the chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import ChannelAddress, Citizen, Handoff, HandoffMessage, Ticket
from tests.e2e.conftest import TICKET_NUMBER, Stack, TelegramUser

pytestmark = pytest.mark.e2e


def test_a_citizen_deletes_their_data(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("there is a deep pothole on Yan'an Road in Shangcheng district")
    user.send_photo()
    user.tap("Share my phone number")
    user.share_phone("+8613911112222")
    number = TICKET_NUMBER.search(user.tap("Confirm")[0].text).group()
    with stack.db() as session:
        filed = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        citizen_id, photo = filed.citizen_id, filed.photo
        public_id = session.get(Citizen, citizen_id).public_id
    assert photo and (stack.var_dir / "media" / photo).is_file()
    assert public_id in stack.rasa_tracker_dump()
    # A conversation with the staff, with the conversation before it as its transcript.
    user.say("talk to a person")
    [relayed] = user.say("please call me on 13911112222")
    assert relayed.text == "Passed on to the staff."
    [back] = user.say("/bot")
    assert back.text == "You are back with the smart assistant."

    [ask] = user.say("delete my data")
    assert ask.text.startswith("Delete your personal data?")
    [done] = user.tap("Yes, delete")
    assert done.text.startswith("Your personal data has been deleted.")

    with stack.db() as session:
        citizen = session.get(Citizen, citizen_id)
        assert (citizen.phone, citizen.erased_at is not None) == (None, True)
        addresses = session.scalars(
            select(ChannelAddress).where(ChannelAddress.citizen_id == citizen_id)
        ).all()
        assert addresses == []
        assert session.scalars(select(Handoff).where(Handoff.citizen_id == citizen_id)).all() == []
        said = session.scalars(select(HandoffMessage.text)).all()
        assert [t for t in said if "13911112222" in t] == []
        # The report itself stays, for the city's record, with no one attached to reach.
        kept = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (kept.citizen_id, kept.photo, kept.contact) == (None, None, "anonymous")
        assert (kept.category, kept.district, kept.road) == ("road-damage", "shangcheng", "延安路")
    assert not (Path(stack.var_dir) / "media" / photo).exists()
    assert "Yan'an Road" not in stack.rasa_tracker_dump()
    assert public_id not in stack.rasa_tracker_dump()
