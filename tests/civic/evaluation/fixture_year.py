"""The hand-worked year 2026 of the fixture city (`fixture_city/`): three agencies, two
districts, a handful of tickets, one survey campaign, window ratings, and figures entered
and approved on the desk. `test_compute.py` works out every point it gives by hand; the
command-line test computes it end to end.

Times are UTC; the city is on Asia/Shanghai time (UTC+8).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from civic.city import Profile, load_profile
from civic.evaluation import (
    Scheme,
    approve_adjustment,
    approve_indicator_value,
    enter_adjustment,
    enter_indicator_value,
    load_scheme,
    scheme_path,
    withdraw_adjustment,
)
from civic.surveys import sync_profile_surveys
from storage.models import (
    AgencyUser,
    Campaign,
    EvaluationAdjustment,
    FrameMember,
    IndicatorEntry,
    Invitation,
    ServiceWindow,
    SurveyAnswer,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

CITY = Path(__file__).resolve().parent / "fixture_city"
AS_OF = datetime(2027, 1, 15, tzinfo=UTC)
SURVEY = "fixture_survey"
SAT, BASIC, DIS = "satisfied", "basically_satisfied", "dissatisfied"
WATER, TRANSPORT, URBAN = "water", "transport", "urban-management"
TARGET_HOURS = {"water-outage": 6, "bus-service": 72, "garbage-collection": 24, "other": 120}
CATEGORY = {WATER: "water-outage", TRANSPORT: "bus-service", URBAN: "garbage-collection"}

# The five households of each district, and their answers, one list per question.
ANSWERS = {
    "xihu": {
        "overall": [SAT, SAT, SAT, BASIC, BASIC],
        WATER: [SAT, SAT, SAT, SAT, SAT],
        TRANSPORT: [SAT, SAT, BASIC, BASIC, BASIC],
        URBAN: [BASIC, BASIC, BASIC, BASIC, BASIC],
    },
    "binjiang": {
        "overall": [SAT, BASIC, BASIC, BASIC, BASIC],
        WATER: [SAT, SAT, BASIC, BASIC, BASIC],
        TRANSPORT: [SAT, BASIC, BASIC, DIS, DIS],
        URBAN: [SAT, SAT, SAT, SAT, SAT],
    },
}


def fixture_profile() -> Profile:
    return load_profile(CITY)


def fixture_scheme(profile: Profile) -> Scheme:
    return load_scheme(scheme_path(profile, 2026), profile)


def user(session: Session, username: str, role: str, agency: str | None = None) -> AgencyUser:
    row = AgencyUser(
        username=username, password_hash="-", display_name=username, agency=agency, role=role
    )
    session.add(row)
    session.flush()
    return row


def ticket(
    session: Session,
    agency: str | None,
    district: str,
    filed: datetime,
    *,
    status: str,
    rectified: Sequence[float] = (),
    reopened: float | None = None,
    overdue: bool = False,
    confirmed: bool | None = None,
    rating: tuple[str, str] | None = None,
    category: str | None = None,
) -> Ticket:
    """A ticket as its lifecycle would have left it: rectified so many hours after filing
    (each time), reopened at an hour, flagged overdue at its due time, the citizen's
    answer and rating (answer, assurance level)."""
    category = category or CATEGORY[agency or ""]
    due = filed + timedelta(hours=TARGET_HOURS[category])
    row = Ticket(
        description="-",
        category=category,
        agency=agency,
        district=district,
        status=status,
        created_at=filed,
        updated_at=filed,
        due_at=due,
        overdue_at=due if overdue else None,
        fixed_confirmed=confirmed,
        satisfaction=rating[0] if rating else None,
        satisfaction_assurance=rating[1] if rating else None,
    )
    session.add(row)
    session.flush()
    moves = [("submitted", 0.0), *(("rectified", h) for h in rectified)]
    if reopened is not None:
        moves.append(("reopened", reopened))
    for to_status, hours in sorted(moves, key=lambda move: move[1]):
        at = filed + timedelta(hours=hours)
        session.add(TicketEvent(ticket_id=row.id, actor="x", to_status=to_status, at=at))
    session.flush()
    return row


VP, INV, ANON = "verified_phone", "invited", "anonymous"
# The year's tickets: agency, district, filed (UTC), status, hours from filing to each
# rectification, hour reopened, flagged overdue, the citizen's "is it solved?" answer and
# rating (answer, assurance level). Targets: water 6 h, transport 72 h, urban 24 h.
TICKETS: list[tuple[Any, ...]] = [
    (WATER, "xihu", (2026, 3, 10, 2), "closed", [4], None, False, True, (SAT, VP)),
    (WATER, "binjiang", (2026, 3, 20, 2), "closed", [8], None, True, True, (BASIC, INV)),
    (WATER, "xihu", (2026, 7, 1, 2), "rectified", [5, 40], 30, False, False, None),
    (WATER, "xihu", (2026, 7, 5, 2), "closed", [2], None, False, True, (SAT, ANON)),
    (WATER, "xihu", (2026, 4, 1, 2), "merged", [], None, False, None, None),
    (TRANSPORT, "binjiang", (2026, 5, 1, 2), "closed", [24], None, False, True, (DIS, VP)),
    (TRANSPORT, "binjiang", (2026, 5, 2, 2), "rectified", [60], None, False, None, None),
    (TRANSPORT, "xihu", (2026, 8, 1, 2), "accepted", [], None, True, None, None),
    (URBAN, "xihu", (2026, 2, 1, 2), "closed", [10], None, False, True, (DIS, INV)),
    (URBAN, "binjiang", (2026, 2, 3, 2), "closed", [30], None, True, True, (SAT, VP)),
    # 01:00 on 1 January 2026 city time, and 23:00 on 31 December 2025
    (URBAN, "xihu", (2025, 12, 31, 17), "rectified", [12], None, False, None, None),
    (URBAN, "xihu", (2025, 12, 31, 15), "rectified", [1], None, False, None, None),
]


def tickets(session: Session) -> None:
    for agency, district, filed, status, rectified, reopened, late, fixed, rating in TICKETS:
        ticket(
            session,
            agency,
            district,
            datetime(*filed).replace(tzinfo=UTC),
            status=status,
            rectified=rectified,
            reopened=reopened,
            overdue=late,
            confirmed=fixed,
            rating=rating,
        )
    # Waiting for triage in Binjiang: no agency's, but the district's.
    filed = datetime(2026, 6, 1, 2, tzinfo=UTC)
    ticket(session, None, "binjiang", filed, status="submitted", category="other")


def campaign(session: Session, name: str, starts: datetime) -> Campaign:
    row = Campaign(
        name=name,
        survey_key=SURVEY,
        design="{}",
        starts_at=starts,
        ends_at=starts + timedelta(days=30),
        status="closed",
    )
    session.add(row)
    session.flush()
    return row


def respond(session: Session, run: Campaign | None, district: str | None) -> SurveyResponse:
    """A completed response: invited (a household of `district` sampled by `run`) or,
    without a campaign, through the open link."""
    invitation_id = None
    if run is not None:
        member = FrameMember(kind="household", district=district)
        session.add(member)
        session.flush()
        invitation = Invitation(
            campaign_id=run.id,
            member_id=member.id,
            stratum=f"district={district}",
            channel="sms",
            nonce=secrets.token_hex(8),
        )
        session.add(invitation)
        session.flush()
        invitation_id = invitation.id
    response = SurveyResponse(
        survey_key=SURVEY,
        invitation_id=invitation_id,
        self_selected=run is None,
        assurance="invited" if run else "anonymous",
        status="completed",
        started_at=run.starts_at if run else datetime(2026, 11, 5, tzinfo=UTC),
    )
    session.add(response)
    session.flush()
    return response


def answer(
    session: Session, response: SurveyResponse, question: str, agency: str | None, value: str
) -> None:
    step = f"{question}@{agency}" if agency else question
    session.add(
        SurveyAnswer(
            response_id=response.id, step=step, question=question, agency=agency, value=value
        )
    )


def survey(session: Session) -> None:
    run = campaign(session, "2026 annual", datetime(2026, 11, 1, tzinfo=UTC))
    for district, answers in ANSWERS.items():
        for i in range(5):
            response = respond(session, run, district)
            answer(session, response, "overall", None, answers["overall"][i])
            for agency in (WATER, TRANSPORT, URBAN):
                answer(session, response, "agency_satisfaction", agency, answers[agency][i])
    # Not counted: last year's campaign, and the open link.
    last_year = campaign(session, "2025 annual", datetime(2025, 11, 1, tzinfo=UTC))
    answer(session, respond(session, last_year, "xihu"), "agency_satisfaction", WATER, DIS)
    answer(session, respond(session, None, None), "agency_satisfaction", WATER, DIS)
    session.flush()


def windows(session: Session) -> None:
    def rate(window: ServiceWindow, scale: str, score: str, level: str, **extra: object) -> None:
        day = str(extra.pop("day", "2026-06-01"))
        session.add(
            WindowRating(
                window_id=window.id, day=day, scale=scale, score=score, assurance=level, **extra
            )
        )

    water, transport, urban = (
        ServiceWindow(code=f"{agency}:hall:1", agency=agency, hall="hall", number="1")
        for agency in (WATER, TRANSPORT, URBAN)
    )
    session.add_all([water, transport, urban])
    session.flush()
    for score, level in [
        ("5", "verified_phone"),
        ("5", "invited"),
        ("4", "verified_phone"),
        ("3", "verified_phone"),
    ]:
        rate(water, "stars", score, level)
    rate(water, "stars", "1", "anonymous")  # not a counted level
    rate(water, "stars", "1", "verified_phone", held=True)  # held for review
    rate(water, "stars", "1", "verified_phone", day="2025-12-31")  # last year
    rate(transport, "hangzhou", SAT, "verified_phone")
    rate(transport, "hangzhou", DIS, "verified_phone")
    for score in (SAT, BASIC, BASIC):
        rate(urban, "hangzhou", score, "verified_phone")
    session.flush()


def entries(session: Session, scheme: Scheme) -> None:
    """Figures entered on the desk by the coordinators and the office's Zhang, approved
    by the office's Li, except where said."""
    zhang, li = user(session, "zhang", "staff"), user(session, "li", "staff")
    coordinators = {
        a: user(session, f"{a}.coord", "coordinator", a) for a in (WATER, TRANSPORT, URBAN)
    }

    def value(agency: str, period: str, number: float, *, approve: bool = True) -> None:
        entry = enter_indicator_value(
            session=session,
            scheme=scheme,
            user=coordinators[agency],
            agency=agency,
            indicator="key_tasks_completion",
            period=period,
            value=number,
        )
        if approve:
            approve_indicator_value(session=session, user=li, entry=entry)

    value(WATER, "2026-06", 80)
    value(WATER, "2026-11", 99, approve=False)
    value(WATER, "2026-12", 96)
    value(TRANSPORT, "2026-12", 90, approve=False)
    value(URBAN, "2026-12", 105)
    # Last year's, approved then (for the trend).
    session.add(
        IndicatorEntry(
            agency=WATER,
            indicator="key_tasks_completion",
            period="2025-12",
            value=50,
            entered_by="water.coord",
            approved_by="li",
            approved_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
    )

    def points(
        agency: str, kind: str, number: float, item: str | None = None, *, approve: bool = True
    ) -> EvaluationAdjustment:
        row = enter_adjustment(
            session=session,
            scheme=scheme,
            user=zhang,
            agency=agency,
            kind=kind,
            points=number,
            item=item,
            evidence=f"{kind} {item or ''} for {agency}",
        )
        if approve:
            approve_adjustment(session=session, user=li, adjustment=row)
        return row

    points(WATER, "leaders", 4.5)
    points(TRANSPORT, "leaders", 3.0)
    points(URBAN, "leaders", 4.0, approve=False)
    points(WATER, "bonus", 2.0, "innovation")
    points(WATER, "bonus", 1.5, "innovation")
    points(WATER, "bonus", 1.0, "commendation")
    withdrawn = points(WATER, "bonus", 2.0, "innovation")
    withdraw_adjustment(session=session, user=li, adjustment=withdrawn, reason="counted twice")
    points(URBAN, "bonus", 1.0, "innovation")
    points(TRANSPORT, "bonus", 2.0, "innovation", approve=False)
    points(TRANSPORT, "penalty", 1.0, "accountability")


def build(session: Session, profile: Profile, scheme: Scheme) -> None:
    sync_profile_surveys(session=session, directory=CITY / "surveys", agencies=profile.agencies)
    tickets(session)
    survey(session)
    windows(session)
    entries(session, scheme)
    session.commit()
