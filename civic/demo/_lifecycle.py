"""One demo ticket's life, from filing to where it stands at the year's end: the same
moves, actors, notes and flags the system itself records, at plausible times.

The first fix's time is drawn first, from a log-normal handling time whose tail past
the due time is the agency's planned overdue share; the steps before it (routing,
a reroute, acceptance, work started) are placed inside that span, so the share of
tickets fixed late is what the plan says. Every move is checked against the
lifecycle's own table of legal moves (`civic.tickets.TRANSITIONS`), and what the
scheduler's jobs would have done is done too: the overdue flag (with its internal
event), the reminder after 3 days without an answer and the unconfirmed closing
after 7. Whatever lies past the year's end is cut off.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

from civic.demo._calendar import HOUR
from civic.demo._plans import AgencyPlan
from civic.tickets import (
    CLOSE_AFTER,
    JOBS,
    OPEN_STATUSES,
    OVERDUE_NOTE,
    REMIND_AFTER,
    TRANSITIONS,
    UNCONFIRMED_NOTE,
    Status,
)

# (at, actor, from_status, to_status, note, public)
Event = tuple[float, str, str | None, str, str | None, bool]

LEGAL = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
UNFINISHED = frozenset(s.value for s in OPEN_STATUSES if s != Status.RECTIFIED)
_EVERY = {job.id: job.every.total_seconds() for job in JOBS}
OVERDUE_EVERY = _EVERY["overdue-check"]
FOLLOWUP_EVERY = _EVERY["rectification-followup"]
# The spread of handling times (log-normal sigma) and of the citizen's answer.
HANDLING_SIGMA = 0.8
NO_ANSWER = 0.15
ANSWER_MEDIAN_HOURS = 6.0
SECOND_NO_ANSWER = 0.1
WORKED_ON = 0.7  # share of tickets with a "work started" step before the fix

CITIZEN, ROUTER, SYSTEM = "citizen", "router", "system"
SUBMITTED, ROUTED, ACCEPTED = Status.SUBMITTED.value, Status.ROUTED.value, Status.ACCEPTED.value
IN_PROGRESS, RECTIFIED = Status.IN_PROGRESS.value, Status.RECTIFIED.value
CLOSED, REOPENED, REROUTED = Status.CLOSED.value, Status.REOPENED.value, Status.REROUTED.value


@dataclass
class Life:
    """A ticket's events in order and the fields they leave on it."""

    events: list[Event]
    status: str
    agency: str | None
    updated_at: float
    overdue_at: float | None = None
    fixed_confirmed: bool | None = None
    satisfaction: str | None = None
    reminded_at: float | None = None
    # for the report: the first fix came after the due time (or never, once due)
    late: bool = False
    reopened: bool = False


@dataclass
class _Story:
    """The full life before it is cut at the year's end: events and timed facts."""

    agency: str | None
    events: list[Event] = field(default_factory=list)
    facts: list[tuple[float, str, object]] = field(default_factory=list)
    fixed: float | None = None

    def move(
        self, at: float, actor: str, to: str, note: str | None = None, public: bool = True
    ) -> float:
        current = self.events[-1][3] if self.events else None
        if current is not None and (current, to) not in LEGAL:
            raise AssertionError(f"the lifecycle has no move {current} → {to}")
        at = max(at, self.events[-1][0] + 1.0) if self.events else at
        self.events.append((at, actor, current, to, note, public))
        return at


@dataclass(frozen=True)
class Ticket:
    """What the life of a ticket depends on."""

    created: float
    due: float
    category: str
    # the agency that handles it; with `triage`, the one the evaluation office routes
    # it to (the category names none)
    agency: str
    triage: bool
    language: str


# (rng, kind, what it is about: a category or agency code, language) → the note
Notes = Callable[[random.Random, str, str, str], str]


class Lifecycle:
    def __init__(
        self,
        *,
        plans: Mapping[str, AgencyPlan],
        actors: Mapping[str, str],
        office: str,
        notes: Notes,
        end: float,
    ) -> None:
        self.plans, self.actors, self.office = plans, actors, office
        self.notes, self.end = notes, end

    def live(self, rng: random.Random, ticket: Ticket) -> Life:
        story = _Story(agency=None if ticket.triage else ticket.agency)
        story.move(ticket.created, CITIZEN, SUBMITTED)
        plan = self.plans[ticket.agency]
        fix = ticket.created + self._handling(rng, ticket, plan)
        start = self._route(rng, story, ticket, fix)
        start = self._reroute(rng, story, ticket, plan, start, fix)
        self._work(rng, story, ticket, plan, start, fix)
        self._answer(rng, story, ticket, plan, late=fix > ticket.due)
        return self._at_year_end(rng, story, ticket, fix)

    def _handling(self, rng: random.Random, ticket: Ticket, plan: AgencyPlan) -> float:
        """Seconds from filing to the first fix: log-normal, with `plan.overdue` of it
        past the target time."""
        target = ticket.due - ticket.created
        z = NormalDist().inv_cdf(1 - plan.overdue)
        return target * math.exp(rng.gauss(-HANDLING_SIGMA * z, HANDLING_SIGMA))

    def _step(self, rng: random.Random, start: float, median: float, fix: float) -> float:
        """A moment after `start`: a log-normal delay, but well before the fix."""
        delay = median * rng.lognormvariate(0, 1.0)
        return start + min(delay, 0.3 * max(fix - start, 2.0))

    def _route(self, rng: random.Random, story: _Story, ticket: Ticket, fix: float) -> float:
        """Routed as it is filed, or by the evaluation office from its triage queue."""
        if not ticket.triage:
            return story.move(ticket.created + rng.uniform(0.2, 2.0), ROUTER, ROUTED)
        at = self._step(rng, ticket.created, 3 * HOUR, fix)
        note = self.notes(rng, "triage", ticket.agency, ticket.language)
        at = story.move(at, self.office, ROUTED, note)
        story.facts.append((at, "agency", ticket.agency))
        return at

    def _reroute(
        self,
        rng: random.Random,
        story: _Story,
        ticket: Ticket,
        plan: AgencyPlan,
        start: float,
        fix: float,
    ) -> float:
        """Sent back to triage as not the agency's, then routed back to it."""
        if rng.random() >= plan.reroute:
            return start
        actor, lang = self.actors[plan.agency], ticket.language
        at = self._step(rng, start, plan.accept_hours * HOUR, fix)
        at = story.move(at, actor, REROUTED, self.notes(rng, "reroute", "", lang))
        story.facts.append((at, "agency", None))
        at = self._step(rng, at, 4 * HOUR, fix)
        at = story.move(at, self.office, ROUTED, self.notes(rng, "back", "", lang))
        story.facts.append((at, "agency", plan.agency))
        return at

    def _work(
        self,
        rng: random.Random,
        story: _Story,
        ticket: Ticket,
        plan: AgencyPlan,
        start: float,
        fix: float,
    ) -> None:
        actor, lang = self.actors[plan.agency], ticket.language
        accepted = story.move(
            self._step(rng, start, plan.accept_hours * HOUR, fix), actor, ACCEPTED
        )
        if rng.random() < WORKED_ON:
            at = accepted + (fix - accepted) * rng.uniform(0.1, 0.5)
            story.move(at, actor, IN_PROGRESS, self.notes(rng, "progress", "", lang))
        note = self.notes(rng, "rectified", ticket.category, lang)
        story.fixed = story.move(fix, actor, RECTIFIED, note)

    def _answer(
        self, rng: random.Random, story: _Story, ticket: Ticket, plan: AgencyPlan, late: bool
    ) -> None:
        """The reporter's answer to "Is the problem solved?", or the follow-up job's
        reminder and unconfirmed closing when none comes."""
        fixed = story.fixed or 0.0
        answered = self._waiting(rng, story, fixed, NO_ANSWER)
        if answered is None:
            return
        if rng.random() >= plan.reopen:
            self._rate(rng, story, answered, plan, late, reopened=False)
            return
        actor, lang = self.actors[plan.agency], ticket.language
        story.facts.append((answered, "fixed_confirmed", False))
        story.facts.append((answered, "reopened", True))
        at = story.move(answered, CITIZEN, REOPENED)
        at = story.move(
            at + 4 * HOUR * rng.lognormvariate(0, 0.8),
            actor,
            IN_PROGRESS,
            self.notes(rng, "rework", "", lang),
        )
        redo = 0.4 * (ticket.due - ticket.created) * rng.lognormvariate(0, 0.6)
        again = story.move(
            at + redo, actor, RECTIFIED, self.notes(rng, "rectified", ticket.category, lang)
        )
        # After a reopening `fixed_confirmed` is False, which the follow-up job does not
        # look at: an unanswered second fix stays rectified, as in the system.
        if rng.random() >= SECOND_NO_ANSWER:
            answer = again + HOUR * ANSWER_MEDIAN_HOURS * rng.lognormvariate(0, 1.0)
            self._rate(rng, story, answer, plan, late, reopened=True)

    def _waiting(
        self, rng: random.Random, story: _Story, fixed: float, no_answer: float
    ) -> float | None:
        """When the reporter answers the first fix; None when the 7 days pass first."""
        delay = math.inf
        if rng.random() >= no_answer:
            delay = HOUR * ANSWER_MEDIAN_HOURS * rng.lognormvariate(0, 1.3)
        remind = fixed + REMIND_AFTER.total_seconds() + rng.uniform(0, FOLLOWUP_EVERY)
        if fixed + delay > remind:
            story.facts.append((remind, "reminded_at", remind))
        closing = fixed + CLOSE_AFTER.total_seconds() + rng.uniform(0, FOLLOWUP_EVERY)
        if fixed + delay >= closing:
            story.move(closing, SYSTEM, CLOSED, UNCONFIRMED_NOTE)
            return None
        return fixed + delay

    def _rate(
        self,
        rng: random.Random,
        story: _Story,
        at: float,
        plan: AgencyPlan,
        late: bool,
        reopened: bool,
    ) -> None:
        """ "Solved", then the rating a few moments later: the ticket closes."""
        unhappy = plan.dissatisfied + (0.25 if late else 0.0) + (0.2 if reopened else 0.0)
        roll = rng.random()
        rating = (
            "dissatisfied"
            if roll < unhappy
            else "satisfied"
            if roll < unhappy + (1 - unhappy) * 0.62
            else "basically_satisfied"
        )
        story.facts.append((at, "fixed_confirmed", True))
        closed = story.move(at + rng.uniform(5, 120), CITIZEN, CLOSED)
        story.facts.append((closed, "satisfaction", rating))

    def _at_year_end(self, rng: random.Random, story: _Story, ticket: Ticket, fix: float) -> Life:
        """The life as it stands at the year's end, with the overdue flag."""
        events = [e for e in story.events if e[0] < self.end]
        life = Life(
            events=events,
            status=events[-1][3],
            agency=story.agency,
            updated_at=events[-1][0],
            late=fix > ticket.due and ticket.due < self.end,
        )
        for at, name, value in sorted(story.facts, key=lambda f: f[0]):
            if at < self.end:
                setattr(life, name, value)
        self._flag_overdue(rng, life, ticket)
        return life

    def _flag_overdue(self, rng: random.Random, life: Life, ticket: Ticket) -> None:
        """The overdue check runs every few minutes: the first time it finds the ticket
        unfinished past its due time, it flags it once, with an internal event."""
        for i, (start, _, _, status, _, _) in enumerate(life.events):
            until = life.events[i + 1][0] if i + 1 < len(life.events) else self.end
            if status not in UNFINISHED or until <= ticket.due:
                continue
            flagged = max(start, ticket.due) + rng.uniform(0, OVERDUE_EVERY)
            if flagged < until:
                life.overdue_at = flagged
                event = (flagged, SYSTEM, status, status, OVERDUE_NOTE, False)
                life.events.insert(i + 1, event)
                return
