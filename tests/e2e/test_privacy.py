"""Personal data, end to end: a citizen deletes their data from the chat."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import ChannelAddress, Citizen, Ticket
from tests.e2e.conftest import TICKET_NUMBER, Stack, TelegramUser

pytestmark = pytest.mark.e2e


def test_a_citizen_deletes_their_data(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("there is a deep pothole on Yan'an Road in Shangcheng district")
    user.tap("Skip")
    user.tap("Share my phone number")
    user.share_phone("+8613911112222")
    number = TICKET_NUMBER.search(user.tap("Confirm")[0].text).group()
    with stack.db() as session:
        citizen_id = session.scalars(select(Ticket.citizen_id).where(Ticket.number == number)).one()
        public_id = session.get(Citizen, citizen_id).public_id
    assert public_id in stack.rasa_tracker_dump()

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
        # The report itself stays, for the city's record, with no one attached to reach.
        assert session.scalars(select(Ticket).where(Ticket.number == number)).one()
    assert "Yan'an Road" not in stack.rasa_tracker_dump()
    assert public_id not in stack.rasa_tracker_dump()
