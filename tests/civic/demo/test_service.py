"""A seeded demo year, read back from the database as the system would read it: every
agency, category and district there; each ticket's history consistent with the
lifecycle and its own fields; overdue and reopen rates as planned; the survey's
published index recovering the truth the generator set; nothing queued to be sent.
Seeded on SQLite (2,000 tickets, 600 responses) and on PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.city import Profile, load_profile
from civic.demo import DatabaseNotEmpty, SeedOptions, SeedReport, seed_demo
from civic.i18n import detect_language
from civic.settings import PROJECT_ROOT
from civic.surveys import get_survey, survey_report, sync_profile_surveys
from civic.tickets import OVERDUE_NOTE, TRANSITIONS, Status
from storage.db import engine_for, migrate, session_factory, session_scope
from storage.models import (
    AgencyAlert,
    Campaign,
    Citizen,
    DutyMessage,
    Feedback,
    FrameMember,
    Invitation,
    Notification,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

# A whole past year: the demo runs to its end.
NOW = datetime(2027, 1, 10, tzinfo=UTC)
YEAR_END = datetime(2026, 12, 31, 16, 0)  # 2027-01-01 00:00 in Hangzhou, as stored (UTC)
LEGAL = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}


def hangzhou() -> Profile:
    return load_profile(PROJECT_ROOT / "profiles" / "hangzhou")


def seed(url: str, now: datetime = NOW, **options: Any) -> SeedReport:
    profile = hangzhou()
    migrate(url)
    with session_scope(url) as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
    with session_scope(url) as session:
        return seed_demo(
            session=session,
            profile=profile,
            options=SeedOptions(year=2026, **options),
            now=now,
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SeedReport]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    report = seed(url, tickets=2000, responses=600, seed=7)
    yield url, report
    engine_for(url).dispose()


@pytest.fixture
def db(seeded: tuple[str, SeedReport]) -> Iterator[Session]:
    with session_factory(seeded[0])() as session:
        yield session


def naive(moment: datetime) -> datetime:
    """Stored times compared as SQLite gives them back: UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def histories(session: Session) -> dict[int, list[TicketEvent]]:
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in session.scalars(select(TicketEvent).order_by(TicketEvent.id)):
        events[event.ticket_id].append(event)
    return events


def test_the_counts_are_those_asked_for(db: Session, seeded: tuple[str, SeedReport]) -> None:
    report = seeded[1]
    assert report.survey is not None
    completed_invited = select(func.count()).where(
        SurveyResponse.status == "completed", SurveyResponse.invitation_id.is_not(None)
    )
    assert db.scalar(select(func.count()).select_from(Ticket)) == 2000
    assert db.scalar(completed_invited) == 600
    assert db.scalar(select(func.count()).select_from(TicketEvent)) == report.events
    assert db.scalar(select(func.count()).select_from(Citizen)) == report.citizens
    assert db.scalar(select(func.count()).select_from(WindowRating)) == 500 == report.ratings
    assert db.scalar(select(func.count()).select_from(Feedback)) == report.feedback > 0
    assert db.scalar(select(func.count()).select_from(Invitation)) == report.survey.invited
    assert db.scalar(select(func.count()).select_from(FrameMember)) == report.survey.frame


def test_every_agency_category_and_district_is_there(db: Session) -> None:
    profile = hangzhou()
    assert set(db.scalars(select(Ticket.agency).distinct())) - {None} == set(profile.agencies)
    assert set(db.scalars(select(Ticket.category).distinct())) == set(profile.categories)
    assert set(db.scalars(select(Ticket.district).distinct())) == set(profile.districts)


def test_each_history_is_a_legal_path_in_time_order(db: Session) -> None:
    tickets = {t.id: t for t in db.scalars(select(Ticket))}
    for ticket_id, events in histories(db).items():
        ticket = tickets[ticket_id]
        first, moves = events[0], [e for e in events if e.note != OVERDUE_NOTE]
        assert (first.from_status, first.to_status, first.actor) == (None, "submitted", "citizen")
        assert first.at == ticket.created_at
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert all((e.from_status, e.to_status) in LEGAL for e in moves[1:])
        assert all(a.to_status == b.from_status for a, b in pairwise(events))
        assert (ticket.status, ticket.updated_at) == (moves[-1].to_status, moves[-1].at)
        assert ticket.created_at <= ticket.updated_at < YEAR_END
        assert ticket.number == f"HZ-2026-{ticket.id:06d}"


def test_ticket_fields_agree_with_the_history(db: Session) -> None:
    profile = hangzhou()
    events = histories(db)
    for ticket in db.scalars(select(Ticket)):
        category = profile.categories[ticket.category]
        assert ticket.due_at == ticket.created_at + timedelta(hours=category.target_hours)
        overdue = [e for e in events[ticket.id] if e.note == OVERDUE_NOTE]
        assert [e.at for e in overdue] == ([ticket.overdue_at] if ticket.overdue_at else [])
        if ticket.overdue_at:
            assert ticket.overdue_at >= ticket.due_at
            assert overdue[0].to_status not in {"rectified", "closed"}
        closed_by_citizen = [e for e in events[ticket.id] if e.to_status == "closed"]
        rated = bool(closed_by_citizen) and closed_by_citizen[-1].actor == "citizen"
        assert (ticket.satisfaction is not None) == rated
        assert (ticket.satisfaction_assurance is not None) == rated
        if ticket.agency is None:
            assert ticket.status in {"submitted", "rerouted"}


def test_texts_are_in_the_citizens_language(db: Session) -> None:
    tickets = {t.id: t for t in db.scalars(select(Ticket))}
    assert {t.language for t in tickets.values()} == {"zh", "en"}
    for ticket in tickets.values():
        assert detect_language(ticket.description) == ticket.language
    # what the agencies and the office write; the system's own notes are English only
    written = select(TicketEvent).where(
        TicketEvent.note.is_not(None), TicketEvent.actor != "system"
    )
    for event in db.scalars(written):
        assert detect_language(event.note) == tickets[event.ticket_id].language


def test_positions_are_inside_the_tickets_districts(db: Session) -> None:
    profile = hangzhou()
    placed = list(
        db.execute(select(Ticket.lat, Ticket.long, Ticket.district).where(Ticket.lat.is_not(None)))
    )
    assert len(placed) > 500
    for lat, long, district in placed:
        found = profile.district_at(lat, long)
        assert found is not None and found.code == district


def test_late_and_reopened_shares_are_those_planned(
    db: Session, seeded: tuple[str, SeedReport]
) -> None:
    plans, tickets = seeded[1].plans, list(db.scalars(select(Ticket)))
    events = histories(db)
    due = [t for t in tickets if t.due_at and t.due_at < YEAR_END]
    late = 0
    for ticket in due:
        fixed = [e.at for e in events[ticket.id] if e.to_status == "rectified"]
        late += not fixed or fixed[0] > ticket.due_at
    answers = []
    for ticket in tickets:
        by_citizen = [
            e for e in events[ticket.id] if e.from_status == "rectified" and e.actor == "citizen"
        ]
        if by_citizen:
            answers.append((ticket, by_citizen[0].to_status == "reopened"))
    planned_late = sum(plans[handler(t, events)].overdue for t in due) / len(due)
    planned_reopen = sum(plans[handler(t, events)].reopen for t, _ in answers) / len(answers)
    assert late / len(due) == pytest.approx(planned_late, abs=0.03)
    assert sum(r for _, r in answers) / len(answers) == pytest.approx(planned_reopen, abs=0.03)
    flagged = sum(t.overdue_at is not None for t in tickets)
    assert flagged >= late * 0.9


def handler(ticket: Ticket, events: dict[int, list[TicketEvent]]) -> str:
    """The agency whose plan the ticket followed (the one it is or was with)."""
    return ticket.agency or next(
        e.actor for e in events[ticket.id] if e.actor.startswith("apikey:")
    ).removeprefix("apikey:demo-")


def test_the_published_index_recovers_the_true_satisfaction(
    db: Session, seeded: tuple[str, SeedReport]
) -> None:
    truth, profile = seeded[1].survey, hangzhou()
    assert truth is not None
    survey = get_survey(session=db, key=truth.survey, agencies=profile.agencies)
    assert survey is not None
    rows = survey_report(db, profile, survey, truth.campaign_id)
    city = next(r for r in rows if r.agency is None and r.question == "overall")
    assert city.index.method == "raked"
    assert city.index.ci_low is not None and city.index.ci_high is not None
    assert city.index.ci_low <= truth.city <= city.index.ci_high
    assert city.self_selected == truth.self_selected > 0
    assert {r.agency for r in rows if r.agency} == set(truth.agencies)
    assert truth.city == pytest.approx(
        sum(share * truth.districts[d] for d, share in population_shares().items()), abs=0.01
    )


def population_shares() -> dict[str, float]:
    from civic.city import load_population

    profile = hangzhou()
    shares = load_population(profile.path, set(profile.districts)).shares["district"]
    total = sum(shares.values())
    return {d: s / total for d, s in shares.items()}


def test_the_campaign_is_over_and_nothing_waits_to_be_sent(db: Session) -> None:
    campaign = db.scalars(select(Campaign)).one()
    assert (campaign.status, campaign.survey_key) == ("closed", "annual_satisfaction")
    assert set(db.scalars(select(Invitation.state).distinct())) == {"sent"}
    for outbox in (Notification, DutyMessage, AgencyAlert):
        assert db.scalar(select(func.count()).select_from(outbox)) == 0


def test_no_personal_data_is_real(db: Session) -> None:
    assert db.scalar(select(func.count()).where(Citizen.phone.is_not(None))) == 0
    assert db.scalar(select(func.count()).where(FrameMember.mobile.is_not(None))) == 0
    emails = [e for e in db.scalars(select(FrameMember.email)) if e]
    assert emails and all(e.endswith("@example.invalid") for e in emails)
    assert db.scalar(select(func.count()).where(Ticket.photo.is_not(None))) == 0


def test_a_database_with_data_is_refused_unless_forced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    seed(url, tickets=40, responses=20, ratings=5)
    with pytest.raises(DatabaseNotEmpty) as refused:
        seed(url, tickets=40, responses=20, ratings=5)
    assert set(refused.value.found) == {"tickets", "citizens", "survey responses"}
    seed(url, tickets=40, responses=20, ratings=5, force=True, seed=2)
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 80
        assert session.scalar(select(func.count()).select_from(Campaign)) == 2
    engine_for(url).dispose()


def test_a_running_year_stops_at_now(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'running.db'}"
    now = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    seed(url, now=now, tickets=300, responses=40, ratings=20)
    with session_scope(url) as session:
        latest = [
            session.scalar(select(func.max(column)))
            for column in (
                TicketEvent.at,
                Ticket.updated_at,
                WindowRating.created_at,
                Invitation.completed_at,
            )
        ]
        assert all(moment is not None and moment < naive(now) for moment in latest)
        assert session.scalar(select(Campaign.ends_at)) < naive(now)
        still_open = session.scalar(select(func.count()).where(Ticket.status != "closed"))
        assert still_open and still_open > 0
    engine_for(url).dispose()


@pytest.mark.postgres
def test_a_year_on_postgresql(postgres_url: str) -> None:
    report = seed(postgres_url, tickets=3000, responses=300, seed=3)
    with session_scope(postgres_url) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 3000
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == report.events
        first = session.execute(
            select(func.count()).where(TicketEvent.to_status == Status.SUBMITTED.value)
        ).scalar()
        assert first == 3000
        # the sequences were moved past the demo's ids: the system's own inserts go on
        citizen = Citizen(public_id="after-the-demo")
        session.add(citizen)
        session.flush()
        assert citizen.id > session.scalar(
            select(func.max(Citizen.id)).where(Citizen.public_id != "after-the-demo")
        )
