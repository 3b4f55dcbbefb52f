"""The public list and map of reports: what anyone may see of a ticket (its number,
category, agency, district, status and dates) and where it is only to a coarse grid.
Nothing here reads a description, an address, a note, a photo or who filed it."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.models import Ticket

# The map's grid: 0.01 degree is about 1.1 km north-south and 0.96 km east-west here.
GRID_DEGREES = 0.01
MAX_POINTS = 5000


@dataclass(frozen=True)
class PublicReport:
    number: str
    category: str
    agency: str | None
    district: str | None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ReportFilter:
    district: str | None = None
    category: str | None = None
    status: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = [Ticket.number.is_not(None)]
        if self.district:
            wanted.append(Ticket.district == self.district)
        if self.category:
            wanted.append(Ticket.category == self.category)
        if self.status:
            wanted.append(Ticket.status == self.status)
        return wanted


def public_reports(
    *, session: Session, where: ReportFilter, limit: int, offset: int
) -> tuple[list[PublicReport], int]:
    """One page of the reports the filter keeps, newest first, and how many there are."""
    total = session.scalar(select(func.count(Ticket.id)).where(*where.conditions())) or 0
    rows = session.execute(
        select(
            Ticket.number,
            Ticket.category,
            Ticket.agency,
            Ticket.district,
            Ticket.status,
            Ticket.created_at,
            Ticket.updated_at,
        )
        .where(*where.conditions())
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
        .offset(offset)
    )
    reports = [
        PublicReport(
            number=number or "",
            category=category,
            agency=agency,
            district=district,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )
        for number, category, agency, district, status, created_at, updated_at in rows
    ]
    return reports, int(total)


def snap(value: float, step: float = GRID_DEGREES) -> float:
    """The centre of the grid cell holding `value`: every point in a cell looks the same."""
    return round((math.floor(value / step) + 0.5) * step, 6)


def report_points(*, session: Session, where: ReportFilter) -> list[tuple[float, float, int]]:
    """(latitude, longitude, reports) per grid cell, for the newest MAX_POINTS reports the
    filter keeps that have a position."""
    rows = session.execute(
        select(Ticket.lat, Ticket.long)
        .where(*where.conditions(), Ticket.lat.is_not(None), Ticket.long.is_not(None))
        .order_by(Ticket.id.desc())
        .limit(MAX_POINTS)
    )
    cells = Counter(
        (snap(lat), snap(long)) for lat, long in rows if lat is not None and long is not None
    )
    return [(lat, long, n) for (lat, long), n in sorted(cells.items())]
