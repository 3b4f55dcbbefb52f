"""The public reports' queries, on SQLite and PostgreSQL: filters, order, pages, and
positions only as grid cells."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civic.routing import RoutingDecision
from civic.tickets import create_ticket
from storage.reports import GRID_DEGREES, ReportFilter, public_reports, report_points, snap


def _file(session: Session, category: str, district: str, lat: float | None = None) -> str:
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description="secret words",
        language="zh",
        decision=RoutingDecision(category, "urban-management", district, 0.9),
        ticket_prefix="HZ",
        due_at=None,
        lat=lat,
        long=120.2123 if lat is not None else None,
    )
    return ticket.number or ""


def test_snapping_puts_every_point_of_a_cell_on_its_centre() -> None:
    assert snap(30.2087) == snap(30.2001) == snap(30.2099) == 30.205
    assert snap(30.2101) == 30.215
    assert snap(-0.001) == -0.005
    assert GRID_DEGREES == 0.01


def test_filters_pages_and_cells(session: Session) -> None:
    first = _file(session, "street-light", "binjiang", 30.2087)
    second = _file(session, "street-light", "binjiang", 30.2051)
    third = _file(session, "street-cleaning", "xihu")
    session.commit()

    everything, total = public_reports(session=session, where=ReportFilter(), limit=2, offset=0)
    assert total == 3 and [r.number for r in everything] == [third, second]
    rest, _ = public_reports(session=session, where=ReportFilter(), limit=2, offset=2)
    assert [r.number for r in rest] == [first]
    lights, total = public_reports(
        session=session, where=ReportFilter(category="street-light"), limit=10, offset=0
    )
    assert total == 2 and {r.district for r in lights} == {"binjiang"}
    xihu, _ = public_reports(
        session=session, where=ReportFilter(district="xihu", status="routed"), limit=10, offset=0
    )
    assert [r.number for r in xihu] == [third]

    # both positions fall in one cell: one dot, two reports, the cell's centre only
    assert report_points(session=session, where=ReportFilter()) == [(30.205, 120.215, 2)]
    assert report_points(session=session, where=ReportFilter(district="xihu")) == []
