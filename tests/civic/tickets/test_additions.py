"""What a citizen adds to their report: one event, in the ticket's status, not public,
notifying nobody; nothing at all, or too much, is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.tickets import MAX_ADDITION, AdditionRefused, add_information, transition
from storage.models import Notification
from tests.civic.tickets.test_report_links import filed


def test_an_addition_is_a_private_event_in_the_same_status(session: Session) -> None:
    ticket = filed(session)
    transition(session=session, ticket=ticket, to_status="accepted", actor="user:li")
    queued = session.scalar(select(func.count(Notification.id)))
    updated = ticket.updated_at

    event = add_information(
        session=session, ticket=ticket, text="  It got worse  ", photo="0" * 24 + ".jpg"
    )

    assert (event.actor, event.from_status, event.to_status, event.public) == (
        "citizen",
        "accepted",
        "accepted",
        False,
    )
    assert (event.note, event.photo) == ("It got worse", "0" * 24 + ".jpg")
    assert ticket.status == "accepted" and ticket.events[-1] is event
    assert ticket.updated_at == updated  # the public list's "last change" is the agency's
    assert session.scalar(select(func.count(Notification.id))) == queued


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("   ", "reports.page.error.empty"),
        ("x" * (MAX_ADDITION + 1), "reports.page.error.too_long"),
    ],
)
def test_nothing_or_too_much_is_refused(session: Session, text: str, key: str) -> None:
    ticket = filed(session)
    with pytest.raises(AdditionRefused) as refused:
        add_information(session=session, ticket=ticket, text=text, photo=None)
    assert refused.value.key == key
    assert len(ticket.events) == 2  # filed and routed
