"""Figures entered on the desk: each agency's own indicators (monthly, by the agency's
coordinator or the evaluation office), the leaders' evaluation and the bonus and penalty
items (by the evaluation office, with evidence).

Every figure counts only once a second person of the evaluation office has approved it:
whoever entered (or last corrected) a figure may not approve it. A correction clears the
approval. Every entry, correction, approval and withdrawal is written to the audit log
with the values, in the same transaction.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.evaluation._errors import EntryRefused, NotPermitted, SecondPersonRequired
from civic.evaluation._scheme import Scheme
from storage.models import (
    AgencyUser,
    EvaluationAdjustment,
    EvaluationAudit,
    IndicatorEntry,
    utcnow,
)

LEADERS, BONUS, PENALTY = "leaders", "bonus", "penalty"
ADJUSTMENT_KINDS = (LEADERS, BONUS, PENALTY)
MAX_TEXT = 4000
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _is_office(user: AgencyUser) -> bool:
    return user.disabled_at is None and user.agency is None and user.role == "staff"


def _check_office(user: AgencyUser) -> None:
    if not _is_office(user):
        raise NotPermitted("office_only")


def _audit(
    session: Session, user: AgencyUser, action: str, subject: str, row: Any, **details: Any
) -> None:
    session.add(
        EvaluationAudit(
            at=utcnow(),
            actor=user.username,
            action=action,
            subject=subject,
            subject_id=row.id,
            agency=row.agency,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
        )
    )
    session.flush()


def _text(value: str | None, *, required: bool, key: str) -> str | None:
    text = (value or "").strip()
    if (required and not text) or len(text) > MAX_TEXT:
        raise EntryRefused(key, limit=MAX_TEXT)
    return text or None


def _number(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EntryRefused("not_a_number")
    return float(value)


def _check_agency(scheme: Scheme, agency: str) -> None:
    if agency not in scheme.agencies:
        raise EntryRefused("unknown_agency", agency=agency)


# -- each agency's own indicators ------------------------------------------------------


def enter_indicator_value(
    *,
    session: Session,
    scheme: Scheme,
    user: AgencyUser,
    agency: str,
    indicator: str,
    period: str,
    value: float,
    note: str | None = None,
) -> IndicatorEntry:
    """Enter (or correct) one month's value of one of the agency's indicators. The
    agency's coordinator or the evaluation office may; a correction needs approving
    again."""
    number = _checked_value(scheme, user, agency, indicator, period, value)
    text = _text(note, required=False, key="note_too_long")
    entry = session.scalars(
        select(IndicatorEntry).where(
            IndicatorEntry.agency == agency,
            IndicatorEntry.indicator == indicator,
            IndicatorEntry.period == period,
        )
    ).first()
    now = utcnow()
    if entry is None:
        entry = IndicatorEntry(agency=agency, indicator=indicator, period=period, value=number)
        session.add(entry)
        action, previous = "enter", None
    else:
        action, previous = "correct", entry.value
    entry.value, entry.note = number, text
    entry.entered_by, entry.entered_at = user.username, now
    entry.approved_by = entry.approved_at = None
    session.flush()
    _audit(
        session,
        user,
        action,
        "indicator",
        entry,
        indicator=indicator,
        period=period,
        value=number,
        previous=previous,
        note=text,
    )
    return entry


def _checked_value(
    scheme: Scheme, user: AgencyUser, agency: str, indicator: str, period: str, value: float
) -> float:
    if user.disabled_at is not None or not (
        _is_office(user) or (user.role == "coordinator" and user.agency == agency)
    ):
        raise NotPermitted("not_coordinator", agency=agency)
    _check_agency(scheme, agency)
    if indicator not in scheme.agency_indicators:
        raise EntryRefused("unknown_indicator", indicator=indicator)
    match = _PERIOD.match(period)
    if match is None or int(match.group(1)) != scheme.year:
        raise EntryRefused("bad_period", period=period, year=scheme.year)
    number = _number(value)
    if number < 0:
        raise EntryRefused("negative")
    return number


def approve_indicator_value(
    *, session: Session, user: AgencyUser, entry: IndicatorEntry
) -> IndicatorEntry:
    """The evaluation office's second person approves the value; it counts from now."""
    _check_office(user)
    if entry.approved_at is not None:
        raise EntryRefused("already_approved")
    if entry.entered_by == user.username:
        raise SecondPersonRequired("second_person")
    entry.approved_by, entry.approved_at = user.username, utcnow()
    _audit(
        session,
        user,
        "approve",
        "indicator",
        entry,
        indicator=entry.indicator,
        period=entry.period,
        value=entry.value,
    )
    return entry


# -- leaders' evaluation, bonus and penalty items ---------------------------------------


def enter_adjustment(
    *,
    session: Session,
    scheme: Scheme,
    user: AgencyUser,
    agency: str,
    kind: str,
    points: float,
    evidence: str,
    item: str | None = None,
) -> EvaluationAdjustment:
    """The evaluation office enters the leaders' points for an agency (one a year:
    withdraw it to enter another), or a bonus or penalty item of the scheme, with the
    evidence."""
    _check_office(user)
    _check_agency(scheme, agency)
    number = _checked_points(session, scheme, agency, kind, item, points)
    item = None if kind == LEADERS else item
    text = _text(evidence, required=True, key="evidence_required")
    row = EvaluationAdjustment(
        agency=agency,
        year=scheme.year,
        kind=kind,
        item=item,
        points=number,
        evidence=text,
        entered_by=user.username,
        entered_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _audit(session, user, "enter", "adjustment", row, kind=kind, item=item, points=number)
    return row


def _checked_points(
    session: Session, scheme: Scheme, agency: str, kind: str, item: str | None, points: float
) -> float:
    number = _number(points)
    if kind == LEADERS:
        most = scheme.leaders.max_points
        if not 0 <= number <= most:
            raise EntryRefused("points_range", least=0, most=f"{most:g}")
        if _active_leaders(session, agency, scheme.year) is not None:
            raise EntryRefused("leaders_entered", agency=agency, year=scheme.year)
    elif kind in (BONUS, PENALTY):
        spec = scheme.adjustments(kind).items.get(item or "")
        if spec is None:
            raise EntryRefused("unknown_item", kind=kind, item=item or "")
        if not 0 < number <= spec.max_points:
            raise EntryRefused("points_above", most=f"{spec.max_points:g}")
    else:
        raise EntryRefused("unknown_kind", kind=kind)
    return number


def _active_leaders(session: Session, agency: str, year: int) -> EvaluationAdjustment | None:
    return session.scalars(
        select(EvaluationAdjustment).where(
            EvaluationAdjustment.agency == agency,
            EvaluationAdjustment.year == year,
            EvaluationAdjustment.kind == LEADERS,
            EvaluationAdjustment.withdrawn_at.is_(None),
        )
    ).first()


def approve_adjustment(
    *, session: Session, user: AgencyUser, adjustment: EvaluationAdjustment
) -> EvaluationAdjustment:
    """A second person of the evaluation office approves the points; they count from
    now."""
    _check_office(user)
    if adjustment.withdrawn_at is not None:
        raise EntryRefused("withdrawn")
    if adjustment.approved_at is not None:
        raise EntryRefused("already_approved")
    if adjustment.entered_by == user.username:
        raise SecondPersonRequired("second_person")
    adjustment.approved_by, adjustment.approved_at = user.username, utcnow()
    _audit(
        session,
        user,
        "approve",
        "adjustment",
        adjustment,
        kind=adjustment.kind,
        item=adjustment.item,
        points=adjustment.points,
    )
    return adjustment


def withdraw_adjustment(
    *, session: Session, user: AgencyUser, adjustment: EvaluationAdjustment, reason: str
) -> EvaluationAdjustment:
    """Take the points back (entered in error, evidence withdrawn), saying why; the row
    stays, marked, and stops counting."""
    _check_office(user)
    if adjustment.withdrawn_at is not None:
        raise EntryRefused("withdrawn")
    text = _text(reason, required=True, key="withdraw_reason")
    adjustment.withdrawn_by, adjustment.withdrawn_at = user.username, utcnow()
    _audit(
        session,
        user,
        "withdraw",
        "adjustment",
        adjustment,
        kind=adjustment.kind,
        item=adjustment.item,
        points=adjustment.points,
        reason=text,
    )
    return adjustment


# -- reading them back -----------------------------------------------------------------


def indicator_entries(
    *, session: Session, year: int, agency: str | None = None
) -> list[IndicatorEntry]:
    """The year's entered values (approved or not), by agency, indicator and month."""
    query = select(IndicatorEntry).where(IndicatorEntry.period.like(f"{year}-%"))
    if agency is not None:
        query = query.where(IndicatorEntry.agency == agency)
    order = (IndicatorEntry.agency, IndicatorEntry.indicator, IndicatorEntry.period)
    return list(session.scalars(query.order_by(*order)))


def adjustments(
    *, session: Session, year: int, agency: str | None = None
) -> list[EvaluationAdjustment]:
    """The year's leaders', bonus and penalty entries (withdrawn ones too), in order."""
    query = select(EvaluationAdjustment).where(EvaluationAdjustment.year == year)
    if agency is not None:
        query = query.where(EvaluationAdjustment.agency == agency)
    return list(session.scalars(query.order_by(EvaluationAdjustment.id)))


def audit_trail(*, session: Session, agency: str | None = None) -> list[EvaluationAudit]:
    """Every change to entered figures, oldest first."""
    query = select(EvaluationAudit)
    if agency is not None:
        query = query.where(EvaluationAudit.agency == agency)
    return list(session.scalars(query.order_by(EvaluationAudit.id)))
