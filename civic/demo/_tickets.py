"""A year of complaints: filed day by day (with the month's and the hour's rhythm), each
from a citizen, about a category and a place, lived through its lifecycle, and written
in batches: the new citizens, the tickets, their events.

The rows are those the system writes itself (`civic.tickets.create_ticket`,
`transition`, the follow-up and overdue jobs): the number from the city's prefix, year
and id, the due time from the category's target hours, the routing decision, the
assistant's wording of the place. What is left out is what a demo must not have:
photos, phone numbers, and outbox rows that would send anything to anyone.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from civic.city import Profile
from civic.demo._calendar import (
    HOUR,
    Year,
    day_weights,
    moment,
    moment_or_none,
    spread,
    times_in_day,
)
from civic.demo._citizens import COLUMNS as CITIZEN_COLUMNS
from civic.demo._citizens import Reporters
from civic.demo._lifecycle import CLOSED, Event, Life, Lifecycle, Ticket
from civic.demo._places import CityMap
from civic.demo._plans import CategoryMix
from civic.demo._texts import Texts
from civic.tickets import ticket_number
from storage.bulk import BulkLoad
from storage.models import Citizen, TicketEvent
from storage.models import Ticket as TicketRow

TICKET_COLUMNS = (
    "id", "number", "citizen_id", "description", "language", "category", "agency",
    "district", "status", "confidence", "routed_by", "address_text", "road", "photo",
    "contact", "lat", "long", "created_at", "updated_at", "due_at", "overdue_at",
    "fixed_confirmed", "satisfaction", "satisfaction_assurance", "reminded_at",
)  # fmt: skip
EVENT_COLUMNS = ("id", "ticket_id", "at", "actor", "from_status", "to_status", "note", "public")
CHUNK = 10_000
UNSURE = 0.15  # routed from buttons the citizen tapped, the model being unsure
ANONYMOUS_CONTACT = 0.2  # the agency may not contact the citizen

Progress = Callable[[str, int, int], None]


@dataclass
class Tally:
    """What one agency's tickets came to, to compare with its plan."""

    tickets: int = 0
    due: int = 0  # due before the year's end
    late: int = 0  # of those, first fixed after the due time or not at all
    answered: int = 0  # first fixes the reporter answered
    reopened: int = 0  # of those, answered "not yet"
    overdue: int = 0  # flagged overdue
    still_open: int = 0


@dataclass(frozen=True)
class Keepsake:
    """A ticket remembered for the praise and suggestions that follow it."""

    ticket_id: int
    citizen_id: int
    language: str
    assurance: str
    agency: str
    district: str
    filed: float
    closed: float | None
    satisfaction: str | None


@dataclass
class TicketReport:
    tickets: int = 0
    events: int = 0
    tally: dict[str, Tally] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    keepsakes: list[Keepsake] = field(default_factory=list)
    reporters: Reporters = field(default_factory=Reporters)


class AgencyNotes:
    """What agencies, the evaluation office and the assistant write in a history."""

    def __init__(self, texts: Texts, profile: Profile) -> None:
        self.texts, self.profile = texts, profile

    def __call__(self, rng: random.Random, kind: str, about: str, lang: str) -> str:
        texts = self.texts
        if kind == "triage":
            return texts.one("demo.triage", lang, agency=self.profile.agencies[about].label(lang))
        if kind == "progress":
            return texts.pick(rng, "demo.progress", lang)
        if kind == "rectified":
            if texts.has(f"demo.rectified.{about}"):
                return texts.one(f"demo.rectified.{about}", lang)
            label = self.profile.categories[about].label(lang)
            return texts.one("demo.rectified.generic", lang, category=label)
        return texts.one(
            {"reroute": "demo.reroute.reason", "back": "demo.reroute.back"}.get(
                kind, f"demo.{kind}"
            ),
            lang,
        )


@dataclass
class TicketWriter:
    load: BulkLoad
    profile: Profile
    year: Year
    mix: CategoryMix
    city: CityMap
    lifecycle: Lifecycle
    texts: Texts
    rng: random.Random
    keep: int  # how many tickets to remember for praise and suggestions
    progress: Progress
    report: TicketReport = field(default_factory=TicketReport)

    def __post_init__(self) -> None:
        self._keep_rng = random.Random(self.rng.random())
        self._agencies = sorted(self.profile.agencies)
        self._seen = 0

    def run(self, total: int) -> TicketReport:
        """File `total` complaints over the year, in batches of about CHUNK."""
        days = self.year.days()
        batch: list[tuple[date, int]] = []
        for day, count in zip(days, spread(total, day_weights(self.year)), strict=True):
            batch.append((day, count))
            if sum(c for _, c in batch) >= CHUNK:
                self._write(batch, total)
                batch = []
        self._write(batch, total)
        return self.report

    def _filed(self, batch: list[tuple[date, int]]) -> list[tuple[float, str, str]]:
        """(when, category, district) of the batch's complaints, in time order."""
        filed: list[tuple[float, str, str]] = []
        for day, count in batch:
            times = times_in_day(self.rng, self.year, day, count)
            categories = self.mix.pick(self.rng, day.month, len(times))
            districts = self.city.districts(self.rng, len(times))
            filed.extend(zip(times, categories, districts, strict=True))
        return filed

    def _write(self, batch: list[tuple[date, int]], total: int) -> None:
        filed = self._filed(batch)
        if not filed:
            return
        reporters = self.report.reporters
        who = [reporters.reporter(self.rng, at) for at, _, _ in filed]
        citizen_ids = self.load.ids(Citizen, len(reporters.new))
        citizens = reporters.rows_of_new(self.rng, citizen_ids)
        ticket_ids = self.load.ids(TicketRow, len(filed))
        tickets: list[tuple[object, ...]] = []
        events: list[tuple[int, Event]] = []
        for ticket_id, (at, category, district), index in zip(ticket_ids, filed, who, strict=True):
            row, life = self._ticket(ticket_id, at, category, district, index)
            tickets.append(row)
            events.extend((ticket_id, event) for event in life.events)
        event_ids = self.load.ids(TicketEvent, len(events))
        event_rows = [
            (event_id, ticket_id, moment(event[0]), *event[1:])
            for event_id, (ticket_id, event) in zip(event_ids, events, strict=True)
        ]
        for model, columns, rows in (
            (Citizen, CITIZEN_COLUMNS, citizens),
            (TicketRow, TICKET_COLUMNS, tickets),
            (TicketEvent, EVENT_COLUMNS, event_rows),
        ):
            self.load.insert(model, columns, rows)
        self.report.tickets += len(tickets)
        self.report.events += len(event_rows)
        self.progress("tickets", self.report.tickets, total)

    def _ticket(
        self, ticket_id: int, at: float, code: str, district: str, index: int
    ) -> tuple[tuple[object, ...], Life]:
        rng, reporters = self.rng, self.report.reporters
        category = self.profile.categories[code]
        lang, level = reporters.languages[index], reporters.levels[index]
        agency = category.agency or rng.choice(self._agencies)
        ticket = Ticket(
            created=at,
            due=at + category.target_hours * HOUR,
            category=code,
            agency=agency,
            triage=category.agency is None,
            language=lang,
        )
        life = self.lifecycle.live(rng, ticket)
        where = self.city.where(rng, district, lang)
        unsure = rng.random() < UNSURE
        row = (
            ticket_id,
            ticket_number(self.profile.ticket_prefix, self.year.year, ticket_id),
            reporters.ids[index],
            self._description(code, lang, where.name),
            lang,
            code,
            life.agency,
            district,
            life.status,
            round(rng.uniform(0.25, 0.55) if unsure else rng.uniform(0.55, 0.99), 3),
            "nlu-unsure" if unsure else "nlu",
            where.address_text,
            where.road,
            None,
            "anonymous" if rng.random() < ANONYMOUS_CONTACT else "chat",
            where.lat,
            where.long,
            moment(at),
            moment(life.updated_at),
            moment(ticket.due),
            moment_or_none(life.overdue_at),
            life.fixed_confirmed,
            life.satisfaction,
            level if life.satisfaction else None,
            moment_or_none(life.reminded_at),
        )
        self._count(ticket, life)
        self._remember(ticket_id, reporters.ids[index], level, ticket, district, life)
        return row, life

    def _description(self, code: str, lang: str, place: str) -> str:
        group = f"demo.complaint.{code}"
        if self.texts.has(group):
            return self.texts.pick(self.rng, group, lang, place=place)
        label = self.profile.categories[code].label(lang)
        return self.texts.pick(
            self.rng, "demo.complaint.generic", lang, place=place, category=label
        )

    def _count(self, ticket: Ticket, life: Life) -> None:
        tally = self.report.tally.setdefault(ticket.agency, Tally())
        tally.tickets += 1
        if ticket.due < self.year.end:
            tally.due += 1
            tally.late += life.late
        tally.answered += life.reopened or life.fixed_confirmed is True
        tally.reopened += life.reopened
        tally.overdue += life.overdue_at is not None
        tally.still_open += life.status != CLOSED
        self.report.statuses[life.status] += 1

    def _remember(
        self, ticket_id: int, citizen_id: int, level: str, ticket: Ticket, district: str, life: Life
    ) -> None:
        """Keep a uniform sample of `keep` tickets (reservoir sampling)."""
        self._seen += 1
        seen = self._seen
        slot = seen - 1 if seen <= self.keep else self._keep_rng.randrange(seen)
        if slot >= self.keep:
            return
        closed = life.updated_at if life.status == CLOSED else None
        keepsake = Keepsake(
            ticket_id, citizen_id, ticket.language, level, ticket.agency, district,
            ticket.created, closed, life.satisfaction,
        )  # fmt: skip
        if slot < len(self.report.keepsakes):
            self.report.keepsakes[slot] = keepsake
        else:
            self.report.keepsakes.append(keepsake)
