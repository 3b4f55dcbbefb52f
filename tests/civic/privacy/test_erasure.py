"""Erasure, on SQLite and PostgreSQL: every column the models mark personal has a rule,
and a citizen with data in every table is forgotten everywhere while a bystander's data
and the anonymous tickets stay."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.campaigns import subscribe
from civic.handoffs import add_citizen_message, request_handoff, staff_reply
from civic.privacy import RULES, delete_photos, erase_citizen
from civic.routing import RoutingDecision
from civic.tickets import create_ticket, follow_ticket
from storage.citizens import addresses_of, get_or_create_citizen
from storage.media import MediaStore
from storage.models import (
    PERSONAL_KINDS,
    Base,
    ChannelAddress,
    Citizen,
    FrameMember,
    Handoff,
    HandoffMessage,
    Notification,
    OutboundMessage,
    SurveyAnswer,
    SurveyResponse,
    Ticket,
    TicketEvent,
    TicketFollower,
    WindowRating,
    utcnow,
)
from storage.windows import add_window, rate_window

PHONE = "13812345678"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)  # the media store checks the signature
DESCRIPTION = f"延安路12号3单元501室门口的路灯坏了, 电话{PHONE}"
ROAD_DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district="shangcheng", confidence=0.9
)


def _marked() -> dict[tuple[str, str], str]:
    """(table, column) → kind, for every column the models mark personal."""
    return {
        (table.name, column.name): column.info["personal"]
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if "personal" in column.info
    }


def test_every_marker_is_a_known_kind() -> None:
    unknown = {where: kind for where, kind in _marked().items() if kind not in PERSONAL_KINDS}
    assert unknown == {}


def test_every_column_marked_personal_has_an_erasure_rule_that_does_what_it_says() -> None:
    rules = {rule.table: rule for rule in RULES}
    missing, wrong = [], []
    for (table, column), kind in _marked().items():
        rule = rules.get(table)
        if rule is None or not (rule.delete or column in rule.changes):
            missing.append(f"{table}.{column}")
        elif not rule.delete and rule.changes[column].does != kind:
            wrong.append(f"{table}.{column}: marked {kind}, rule does {rule.changes[column].does}")
    assert (missing, wrong) == ([], [])


def test_every_column_a_rule_changes_is_marked() -> None:
    marked = _marked()
    unmarked = [
        f"{rule.table}.{column}"
        for rule in RULES
        for column in rule.changes
        if (rule.table, column) not in marked
    ]
    assert unmarked == []


def test_known_personal_columns_are_marked() -> None:
    marked = _marked()
    expected = {
        ("citizens", "phone"): "erase",
        ("channel_addresses", "address"): "erase",
        ("outbound_messages", "body"): "erase",
        ("notifications", "params"): "erase",
        ("handoff_messages", "text"): "erase",
        ("frame_members", "mobile"): "erase",
        ("frame_members", "postal_address"): "erase",
        ("tickets", "description"): "redact",
        ("tickets", "photo"): "erase",
        ("tickets", "lat"): "coarsen",
        ("tickets", "citizen_id"): "unlink",
        ("survey_answers", "value"): "redact",
        ("window_ratings", "comment"): "redact",
        ("ticket_followers", "citizen_id"): "unlink",
        ("comments", "text"): "redact",
    }
    assert {where: marked.get(where) for where in expected} == expected


# -- a citizen with data in every table --------------------------------------------------


def _citizen(session: Session, chat_id: str, web_session: str) -> Citizen:
    citizen = get_or_create_citizen(session=session, channel="telegram", address=chat_id)
    citizen.addresses.append(ChannelAddress(channel="web", address=web_session))
    citizen.phone = f"+86 {PHONE}"
    session.flush()
    return citizen


def _ticket(session: Session, citizen: Citizen, photo: str | None) -> Ticket:
    return create_ticket(
        session=session,
        citizen_id=citizen.id,
        description=DESCRIPTION,
        language="zh",
        decision=ROAD_DECISION,
        ticket_prefix="HZ",
        due_at=None,
        address_text="延安路12号3单元501室",
        road="延安路",
        photo=photo,
        contact="phone",
        lat=30.2581234,
        long=120.1689876,
    )


def _everything_of(
    session: Session, citizen: Citizen, other_ticket: Ticket, photo: str | None, now: datetime
) -> Ticket:
    """Give `citizen` a row in every table that can hold their data."""
    ticket = _ticket(session, citizen, photo)
    ticket.events.append(
        TicketEvent(actor="user:li", to_status="routed", note=f"rang {PHONE}, Room 301")
    )
    follow_ticket(session=session, ticket=other_ticket, citizen_id=citizen.id)
    handoff = request_handoff(
        session=session,
        citizen_id=citizen.id,
        language="zh",
        transcript=[("citizen", "我要投诉"), ("assistant", "请稍等")],
    )
    add_citizen_message(session=session, handoff=handoff, text=f"我的电话是{PHONE}")
    staff_reply(session=session, handoff=handoff, username="li", text="我们会联系你")
    for _channel, address in [(a.channel, a.address) for a in citizen.addresses]:
        session.add(OutboundMessage(channel="web", address=address, body='{"text": "你好"}'))
    subscribe(
        session=session,
        citizen_id=citizen.id,
        district="shangcheng",
        strata={"age_band": "30-39", "gender": "f"},
        now=now,
    )
    response = SurveyResponse(survey_key="annual", citizen_id=citizen.id, stratum="district=x")
    session.add(response)
    session.flush()
    session.add_all(
        [
            SurveyAnswer(response_id=response.id, step="q1", question="q1", value="satisfied"),
            SurveyAnswer(
                response_id=response.id, step="q2", question="q2", value=f"住5栋, 电话{PHONE}"
            ),
        ]
    )
    window = add_window(session=session, agency="tax", hall="市民中心", number=str(citizen.id))
    rating = rate_window(
        session=session,
        window=window,
        citizen_id=citizen.id,
        day="2026-05-20",
        scale="stars",
        score="2",
        now=now,
    )
    assert rating is not None
    rating.comment = f"叫我回电 {PHONE}"
    session.flush()
    return ticket


def _rows_of(session: Session, citizen_id: int) -> dict[str, int]:
    """How many rows still point at the citizen, per table."""
    counted = {}
    for model in (
        ChannelAddress,
        Notification,
        Handoff,
        TicketFollower,
        FrameMember,
        SurveyResponse,
        WindowRating,
        Ticket,
    ):
        column = model.__table__.c.citizen_id  # type: ignore[attr-defined]
        counted[model.__tablename__] = len(
            session.execute(select(column).where(column == citizen_id)).all()
        )
    return counted


def test_erasure_forgets_the_person_everywhere_and_keeps_the_anonymous_ticket(
    session: Session, tmp_path: Path
) -> None:
    media = MediaStore(tmp_path / "media")
    photo = media.save(PNG)
    now = utcnow()
    bystander = _citizen(session, "2002", "web-bystander")
    their_ticket = _ticket(session, bystander, None)
    citizen = _citizen(session, "1001", "web-citizen")
    ticket = _everything_of(session, citizen, their_ticket, photo, now)
    _everything_of(session, bystander, ticket, None, now)
    session.commit()
    before = _rows_of(session, citizen.id)
    assert all(before.values()), before

    erasure = erase_citizen(session=session, citizen=citizen)
    session.commit()
    assert delete_photos(media=media, photos=erasure.photos) == 1

    session.expire_all()
    assert _rows_of(session, citizen.id) == dict.fromkeys(before, 0)
    stored = session.get(Citizen, citizen.id)
    assert stored is not None
    assert (stored.phone, stored.erased_at is not None) == (None, True)
    assert addresses_of(session=session, citizen_id=citizen.id) == []
    assert (
        session.scalars(
            select(OutboundMessage.address).where(OutboundMessage.address == "web-citizen")
        ).all()
        == []
    )
    # What is left of the transcripts is the bystander's.
    owners = session.scalars(select(Handoff.citizen_id).join(HandoffMessage)).all()
    assert owners == [bystander.id] * 4
    # Rows found through the citizen's: answers and the ticket's staff notes, redacted.
    answers = session.scalars(
        select(SurveyAnswer.value).join(SurveyResponse).where(SurveyResponse.citizen_id.is_(None))
    ).all()
    assert sorted(answers) == ["satisfied", "住***, 电话***"]
    comments = session.scalars(
        select(WindowRating.comment).where(WindowRating.citizen_id.is_(None))
    ).all()
    assert comments == ["叫我回电 ***"]

    kept = session.get(Ticket, ticket.id)
    assert kept is not None
    assert {
        "citizen_id": kept.citizen_id,
        "description": kept.description,
        "address_text": kept.address_text,
        "position": (kept.lat, kept.long),
        "photo": kept.photo,
        "contact": kept.contact,
    } == {
        "citizen_id": None,
        "description": "延安路***门口的路灯坏了, 电话***",
        "address_text": "延安路",
        "position": (30.258, 120.169),
        "photo": None,
        "contact": "anonymous",
    }
    assert (kept.number, kept.category, kept.district, kept.status) == (
        ticket.number,
        "street-light",
        "shangcheng",
        "routed",
    )
    assert [e.note for e in kept.events] == [None, None, "rang ***, ***"]
    assert media.path_of(photo or "") is None
    assert erasure.rows["notifications"] == 1 and erasure.rows["handoff_messages"] == 4


def test_the_bystander_keeps_everything(session: Session, tmp_path: Path) -> None:
    now = utcnow()
    bystander = _citizen(session, "2002", "web-bystander")
    citizen = _citizen(session, "1001", "web-citizen")
    their_ticket = _everything_of(session, bystander, _ticket(session, citizen, None), None, now)
    _everything_of(session, citizen, their_ticket, None, now)
    session.commit()
    before = _rows_of(session, bystander.id)

    erase_citizen(session=session, citizen=citizen)
    session.commit()

    session.expire_all()
    assert _rows_of(session, bystander.id) == before
    kept = session.get(Ticket, their_ticket.id)
    assert kept is not None
    assert (kept.description, kept.lat, kept.citizen_id) == (
        DESCRIPTION,
        30.2581234,
        bystander.id,
    )
    assert session.scalars(
        select(OutboundMessage.body).where(OutboundMessage.address == "web-bystander")
    ).all() == ['{"text": "你好"}']
    stored = session.get(Citizen, bystander.id)
    assert stored is not None and stored.phone == f"+86 {PHONE}"
    strata = session.scalars(
        select(FrameMember.strata).where(FrameMember.citizen_id == bystander.id)
    ).one()
    assert json.loads(strata) == {"age_band": "30-39", "gender": "f"}


def test_erasing_twice_or_a_citizen_with_nothing_is_harmless(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="web", address="s-1")
    session.commit()
    first = erase_citizen(session=session, citizen=citizen)
    again = erase_citizen(session=session, citizen=citizen)
    session.commit()
    assert (first.rows["channel_addresses"], again.rows["channel_addresses"]) == (1, 0)
    assert again.photos == ()


@pytest.mark.parametrize("name", ["../civic.db", "never-stored.png"])
def test_deleting_photos_touches_only_stored_ones(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "civic.db"
    outside.write_text("keep")
    assert delete_photos(media=MediaStore(tmp_path / "media"), photos=[name]) == 0
    assert outside.read_text() == "keep"
