"""Who reads which praise and suggestion on the desk, what counts as unread, reading
marks and routing. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from civic.errors import InvalidInput, NotFound
from civic.feedback import (
    UNROUTED,
    feedback_for,
    mark_read,
    record_feedback,
    route_suggestion,
    unread_suggestions,
)
from storage.models import AgencyUser, Feedback

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AGENCIES = {"urban-management", "water", "transport"}


def _user(agency: str | None, districts: str | None = None) -> AgencyUser:
    # Only `agency` and `districts` decide what a user reads; no row is needed.
    return AgencyUser(username="u", agency=agency, role="officer", districts=districts)


OFFICE = _user(None)
LI = _user("urban-management")
XIHU_LI = _user("urban-management", "xihu")
WANG = _user("water")


def _add(
    session: Session, kind: str, agency: str | None, text: str, district: str | None = None
) -> int:
    count = session.query(Feedback).count()
    item = record_feedback(
        session=session,
        kind=kind,
        citizen=None,
        text=text,
        language="zh",
        agency=agency,
        district=district,
        now=START + timedelta(minutes=count),
    )
    return item.id


@pytest.fixture
def seeded(session: Session) -> dict[str, int]:
    ids = {
        "um-xihu": _add(session, "suggestion", "urban-management", "西湖边多放垃圾桶", "xihu"),
        "um-binjiang": _add(session, "suggestion", "urban-management", "滨江多种树", "binjiang"),
        "water": _add(session, "suggestion", "water", "水费账单写清楚些"),
        "unrouted": _add(session, "suggestion", None, "市民中心开放时间延长"),
        "praise-um": _add(session, "praise", "urban-management", "城管很负责", "xihu"),
        "praise-water": _add(session, "praise", "water", "水务抢修很快"),
    }
    session.commit()
    return ids


def _texts(
    session: Session,
    viewer: AgencyUser,
    kind: str = "suggestion",
    agency: str | None = None,
    unread: bool = False,
) -> list[str]:
    found = feedback_for(session=session, viewer=viewer, kind=kind, agency=agency, unread=unread)
    return [f.text for f in found]


def test_an_agency_reads_only_its_own_and_the_office_reads_all(
    session: Session, seeded: dict[str, int]
) -> None:
    assert _texts(session, LI) == ["滨江多种树", "西湖边多放垃圾桶"]
    assert _texts(session, WANG) == ["水费账单写清楚些"]
    assert _texts(session, XIHU_LI) == ["西湖边多放垃圾桶"]  # limited to Xihu
    assert _texts(session, OFFICE) == [
        "市民中心开放时间延长",
        "水费账单写清楚些",
        "滨江多种树",
        "西湖边多放垃圾桶",
    ]
    assert _texts(session, OFFICE, agency=UNROUTED) == ["市民中心开放时间延长"]
    assert _texts(session, OFFICE, agency="water") == ["水费账单写清楚些"]
    assert _texts(session, WANG, agency="urban-management") == []  # no way around the scope
    assert _texts(session, LI, kind="praise") == ["城管很负责"]
    assert _texts(session, WANG, kind="praise") == ["水务抢修很快"]
    assert _texts(session, OFFICE, kind="praise") == ["水务抢修很快", "城管很负责"]


def test_unread_is_what_waits_for_the_reader(session: Session, seeded: dict[str, int]) -> None:
    """An agency: its own unread suggestions; the office: the unrouted ones."""
    assert unread_suggestions(session=session, viewer=LI) == 2
    assert unread_suggestions(session=session, viewer=XIHU_LI) == 1
    assert unread_suggestions(session=session, viewer=WANG) == 1
    assert unread_suggestions(session=session, viewer=OFFICE) == 1
    mark_read(session=session, viewer=LI, feedback_id=seeded["um-xihu"], now=START)
    assert unread_suggestions(session=session, viewer=LI) == 1
    assert unread_suggestions(session=session, viewer=XIHU_LI) == 0
    assert _texts(session, LI, unread=True) == ["滨江多种树"]
    assert _texts(session, OFFICE, unread=True) == ["市民中心开放时间延长"]


def test_the_first_reading_is_kept(session: Session, seeded: dict[str, int]) -> None:
    first = mark_read(session=session, viewer=LI, feedback_id=seeded["um-xihu"], now=START)
    later = START + timedelta(days=1)
    again = mark_read(session=session, viewer=LI, feedback_id=seeded["um-xihu"], now=later)
    assert first.id == again.id and again.read_at is not None
    assert again.read_at.replace(tzinfo=UTC) == START


@pytest.mark.parametrize(
    ("viewer", "key"),
    [
        (WANG, "um-xihu"),  # another agency's
        (XIHU_LI, "um-binjiang"),  # another district's
        (OFFICE, "um-xihu"),  # the agency's reading mark, not the office's
        (LI, "unrouted"),
        (LI, "praise-um"),  # praise is not marked
    ],
)
def test_only_the_suggestions_reader_marks_it(
    session: Session, seeded: dict[str, int], viewer: AgencyUser, key: str
) -> None:
    with pytest.raises(NotFound):
        mark_read(session=session, viewer=viewer, feedback_id=seeded[key])
    assert session.get(Feedback, seeded[key]).read_at is None  # type: ignore[union-attr]


def test_the_office_routes_a_suggestion_and_the_agency_has_it_unread(
    session: Session, seeded: dict[str, int]
) -> None:
    mark_read(session=session, viewer=OFFICE, feedback_id=seeded["unrouted"])
    routed = route_suggestion(
        session=session,
        viewer=OFFICE,
        feedback_id=seeded["unrouted"],
        agency="transport",
        known_agencies=AGENCIES,
    )
    assert (routed.agency, routed.read_at) == ("transport", None)
    transport = _user("transport")
    assert _texts(session, transport) == ["市民中心开放时间延长"]
    assert unread_suggestions(session=session, viewer=transport) == 1
    assert unread_suggestions(session=session, viewer=OFFICE) == 0


def test_routing_is_the_offices_and_names_a_known_agency(
    session: Session, seeded: dict[str, int]
) -> None:
    unrouted = seeded["unrouted"]
    with pytest.raises(NotFound):
        route_suggestion(
            session=session,
            viewer=LI,
            feedback_id=unrouted,
            agency="urban-management",
            known_agencies=AGENCIES,
        )
    for agency in ("", "police-academy"):
        with pytest.raises(InvalidInput):
            route_suggestion(
                session=session,
                viewer=OFFICE,
                feedback_id=unrouted,
                agency=agency,
                known_agencies=AGENCIES,
            )
    with pytest.raises(NotFound):  # praise is counted for what it names, never routed
        route_suggestion(
            session=session,
            viewer=OFFICE,
            feedback_id=seeded["praise-um"],
            agency="water",
            known_agencies=AGENCIES,
        )
    assert session.get(Feedback, unrouted).agency is None  # type: ignore[union-attr]
