"""`seed_demo`: fill an empty database with a plausible year, and say what was set.

Everything is written in the caller's transaction (all or nothing), each part from its
own random stream derived from the seed, so a bigger or smaller part leaves the others
as they were. The few rows that are accounts rather than data (the evaluation office's
demo user, the agencies' systems named in the tickets' histories, the service windows)
are made by the same functions the commands use.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.agencies import actor_of, create_api_key, create_user
from civic.city import Profile, load_population
from civic.demo._calendar import Year, moment, year_span
from civic.demo._feedback import write_feedback
from civic.demo._lifecycle import Lifecycle
from civic.demo._places import CityMap
from civic.demo._plans import AgencyPlan, agency_plans, category_mix
from civic.demo._survey import SurveyTruth, SurveyWriter
from civic.demo._texts import Texts
from civic.demo._tickets import AgencyNotes, Tally, TicketReport, TicketWriter
from civic.demo._windows import service_windows, write_ratings
from civic.errors import CivicError
from civic.i18n import DEFAULT_LANGUAGE
from civic.surveys import Survey, get_survey
from storage.bulk import BulkLoad
from storage.models import (
    AgencyUser,
    ApiKey,
    Citizen,
    SurveyResponse,
    Ticket,
)

OFFICE_USER = "demo-office"
FEEDBACK_SHARE = 0.02  # praise, and as many suggestions, per ticket
RATINGS_SHARE = 0.25  # window ratings per ticket, unless told
POINTS = 2_000  # distinct positions per district, at least
Progress = Callable[[str, int, int], None]


class DatabaseNotEmpty(CivicError):
    """The database already holds what a demo would mix with; `found` says what."""

    def __init__(self, found: dict[str, int]) -> None:
        super().__init__(", ".join(f"{n} {what}" for what, n in found.items()))
        self.found = found


@dataclass(frozen=True)
class SeedOptions:
    year: int
    tickets: int = 20_000
    responses: int = 12_000
    ratings: int | None = None  # None: a quarter of the tickets
    seed: int = 1
    force: bool = False
    survey: str = "annual_satisfaction"


@dataclass
class SeedReport:
    """What was written, and what the generator set."""

    start: datetime
    end: datetime
    tickets: int = 0
    events: int = 0
    citizens: int = 0
    feedback: int = 0
    windows: int = 0
    ratings: int = 0
    plans: dict[str, AgencyPlan] = field(default_factory=dict)
    tally: dict[str, Tally] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    survey: SurveyTruth | None = None
    office_user: str = OFFICE_USER
    # printed once; None when the user was there already
    office_password: str | None = None


def existing_data(*, session: Session) -> dict[str, int]:
    """What in the database a demo must not be mixed with, by kind (only kinds present)."""
    counts = {
        "tickets": Ticket,
        "citizens": Citizen,
        "survey responses": SurveyResponse,
    }
    found = {
        what: session.scalar(select(func.count()).select_from(m)) or 0 for what, m in counts.items()
    }
    return {what: n for what, n in found.items() if n}


def _stream(seed: int, part: str) -> random.Random:
    return random.Random(f"{seed}:{part}")


def seed_demo(
    *,
    session: Session,
    profile: Profile,
    options: SeedOptions,
    now: datetime,
    progress: Progress | None = None,
) -> SeedReport:
    """Write a year of demo data; raises DatabaseNotEmpty (unless `options.force`) and
    ValueError for options it cannot follow, before writing anything."""
    if min(options.tickets, options.responses, options.ratings or 0) < 0:
        raise ValueError("the numbers of tickets, responses and ratings must not be negative")
    found = existing_data(session=session)
    if found and not options.force:
        raise DatabaseNotEmpty(found)
    year = year_span(options.year, profile.timezone, now)
    survey = _survey(session, profile, options)
    report = SeedReport(start=moment(year.start), end=moment(year.end))
    texts, step = Texts(), progress or (lambda *_: None)
    actors, office = _accounts(session, profile, texts, report)
    report.plans = agency_plans(sorted(profile.agencies), _stream(options.seed, "plans"))
    session.flush()
    with BulkLoad(session.connection()) as load:
        tickets = _tickets(load, profile, year, options, texts, actors, office, report, step)
        report.feedback = write_feedback(
            load=load,
            profile=profile,
            year=year,
            texts=texts,
            rng=_stream(options.seed, "feedback"),
            keepsakes=tickets.keepsakes,
            count=round(FEEDBACK_SHARE * options.tickets),
        )
        load.wait()  # the session is used again below
        _ratings(session, load, profile, year, options, texts, report, step)
        if survey is not None:
            load.wait()
            writer = SurveyWriter(
                session=session,
                load=load,
                profile=profile,
                year=year,
                survey=survey,
                texts=texts,
                rng=_stream(options.seed, "survey"),
                seed=options.seed,
                reporters=tickets.reporters,
                progress=step,
            )
            report.survey = writer.run(options.responses)
    report.citizens = session.scalar(select(func.count()).select_from(Citizen)) or 0
    return report


def _survey(session: Session, profile: Profile, options: SeedOptions) -> Survey | None:
    if not options.responses:
        return None
    survey = get_survey(session=session, key=options.survey, agencies=profile.agencies)
    if survey is None:
        raise ValueError(f"no survey {options.survey!r}: see profiles/<city>/surveys/")
    load_population(profile.path, set(profile.districts))  # its errors before any write
    return survey


def _accounts(
    session: Session, profile: Profile, texts: Texts, report: SeedReport
) -> tuple[dict[str, str], str]:
    """The evaluation office's demo user (its password in the report, once) and one
    system per agency, the actors of the tickets' histories: (agency → actor, office)."""
    user = session.scalars(select(AgencyUser).where(AgencyUser.username == OFFICE_USER)).first()
    if user is None:
        report.office_password = secrets.token_urlsafe(12)
        user = create_user(
            session=session,
            username=OFFICE_USER,
            password=report.office_password,
            agency=None,
            role="staff",
            display_name=texts.one("demo.office", DEFAULT_LANGUAGE),
            known_agencies=set(profile.agencies),
        )
    actors = {}
    for agency in profile.agencies:
        name = f"demo-{agency}"[:48]
        key = session.scalars(
            select(ApiKey).where(ApiKey.name == name, ApiKey.agency == agency)
        ).first()
        if key is None:
            # the raw key is thrown away: the demo's histories name the system, nobody uses it
            key, _ = create_api_key(
                session=session,
                name=name,
                agency=agency,
                can_write=True,
                known_agencies=set(profile.agencies),
            )
        actors[agency] = actor_of(key)
    return actors, actor_of(user)


def _tickets(
    load: BulkLoad,
    profile: Profile,
    year: Year,
    options: SeedOptions,
    texts: Texts,
    actors: dict[str, str],
    office: str,
    report: SeedReport,
    step: Progress,
) -> TicketReport:
    rng = _stream(options.seed, "tickets")
    shares = load_population(profile.path, set(profile.districts)).shares["district"]
    writer = TicketWriter(
        load=load,
        profile=profile,
        year=year,
        mix=category_mix(profile.categories, rng),
        city=CityMap(profile, shares, rng, max(POINTS, options.tickets // 50)),
        lifecycle=Lifecycle(
            plans=report.plans,
            actors=actors,
            office=office,
            notes=AgencyNotes(texts, profile),
            end=year.end,
        ),
        texts=texts,
        rng=rng,
        keep=3 * round(FEEDBACK_SHARE * options.tickets),
        progress=step,
    )
    tickets = writer.run(options.tickets)
    report.tickets, report.events = tickets.tickets, tickets.events
    report.tally, report.statuses = tickets.tally, dict(tickets.statuses)
    return tickets


def _ratings(
    session: Session,
    load: BulkLoad,
    profile: Profile,
    year: Year,
    options: SeedOptions,
    texts: Texts,
    report: SeedReport,
    step: Progress,
) -> None:
    count = round(RATINGS_SHARE * options.tickets) if options.ratings is None else options.ratings
    windows = service_windows(session=session, profile=profile, texts=texts)
    session.flush()
    report.windows = len(windows)
    report.ratings = write_ratings(
        load=load,
        year=year,
        texts=texts,
        rng=_stream(options.seed, "windows"),
        windows=windows,
        count=count,
    )
    step("window ratings", report.ratings, count)
