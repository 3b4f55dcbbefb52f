"""The data the open-data tests publish: the evaluation's hand-worked year of the fixture
city (tickets, indicators and two closed survey campaigns), and tickets of a citizen whose
personal data (name, phone number, chat id, door) must reach no file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from civic.city import Profile
from civic.opendata import Published, publish
from civic.routing import RoutingDecision
from civic.tickets import accept, create_ticket
from storage.models import AgencyUser, ChannelAddress, Citizen, Ticket
from tests.civic.evaluation.fixture_year import AS_OF, build, fixture_scheme

NAME = "张伟"
PHONE = "13812345678"
CHAT_ID = "987654321"
DOOR = "和平路18号3单元"
DESCRIPTION = f"我是{NAME}，电话{PHONE}，{DOOR}门口停水了"
NOTE = f"已联系{NAME}先生，电话{PHONE}"
LAT, LONG = 30.2581234, 120.1689876
# More than 90 days before AS_OF: the files have no such limit.
OLD = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PERSONAL = (NAME, PHONE, CHAT_ID, DOOR, str(LAT), str(LONG), "18号")


def citizen_tickets(session: Session) -> tuple[Ticket, Ticket]:
    """(a ticket with a position and an accepted update, one filed long ago)"""
    citizen = Citizen(public_id="c-opendata", phone=PHONE, assurance="verified_phone")
    session.add(citizen)
    session.flush()
    session.add(ChannelAddress(citizen_id=citizen.id, channel="telegram", address=CHAT_ID))
    decision = RoutingDecision(
        category="water-outage", agency="water", district="xihu", confidence=0.9
    )
    made = []
    for lat, long in ((LAT, LONG), (None, None)):
        made.append(
            create_ticket(
                session=session,
                citizen_id=citizen.id,
                description=DESCRIPTION,
                language="zh",
                decision=decision,
                ticket_prefix="FX",
                due_at=None,
                address_text=f"西湖区{DOOR}",
                road="和平路",
                lat=lat,
                long=long,
                contact="phone",
            )
        )
    recent, old = made
    officer = AgencyUser(
        username="wang", password_hash="-", display_name="王", agency="water", role="officer"
    )
    session.add(officer)
    session.flush()
    accept(session=session, viewer=officer, ticket=recent, note=NOTE)
    recent.created_at = datetime(2027, 1, 10, 1, 0, tzinfo=UTC)
    recent.updated_at = recent.created_at
    recent.events[-1].at = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
    old.created_at = old.updated_at = OLD
    session.flush()
    return recent, old


def seed(session: Session, profile: Profile) -> tuple[Ticket, Ticket]:
    build(session, profile, fixture_scheme(profile))
    made = citizen_tickets(session)
    session.commit()
    return made


def publish_all(session: Session, profile: Profile, out: Path) -> Published:
    return publish(session=session, profile=profile, out_dir=out, now=AS_OF)
