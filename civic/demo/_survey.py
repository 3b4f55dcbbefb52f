"""The year's survey campaign: a registry of households, a campaign drawn from it by the
campaigns' own stratified sampling (`civic.campaigns.create_campaign`, `draw_sample`),
invitations sent and reminded, and the answers of those who responded, walked through
the survey definition itself.

Who answers depends on their age band (the young less often), and what they answer on
their district and age band: an unweighted mean is therefore off, and the published
index, raked to the population's districts and age bands, has a known truth to recover.
A few people answer through the open link too; the results count them apart.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from civic.campaigns import Design, create_campaign, draw_sample, new_nonce
from civic.city import Profile, load_population
from civic.demo._answers import Answering, Respondent, block_agencies, scale_questions
from civic.demo._calendar import DAY, HOUR, Year, moment, moment_or_none
from civic.demo._citizens import Reporters
from civic.demo._frame import (
    EMAIL,
    FRAME_COLUMNS,
    Truth,
    frame_row,
    households,
    plan_truth,
    respondents,
)
from civic.demo._responses import Response, write_responses
from civic.demo._texts import Texts
from civic.i18n import DEFAULT_LANGUAGE
from civic.identity import INVITED
from civic.surveys import Survey
from storage.bulk import BulkLoad
from storage.models import (
    Campaign,
    FrameMember,
    Invitation,
    SurveyDefinition,
)

INVITATION_COLUMNS = (
    "id", "campaign_id", "member_id", "stratum", "channel", "nonce", "state", "attempts",
    "next_attempt_at", "claimed_at", "sent_at", "reminders_sent", "sending_round",
    "started_at", "completed_at", "last_error",
)  # fmt: skip
FRAME_SIZE = 3  # the registry holds this many households per one invited
REMINDERS = (2, 5)  # days after the invitation
CAMPAIGN_DAYS = 30
SENDING_DAYS = 3
WINDOW = ("09:00", "20:00")
PARTIAL = 0.03  # of the invited, started and stopped half-way
OPEN_LINK = 0.05  # self-selected answers through the open link, per invited answer
OPEN_LINK_SHIFT = -8.0  # who chooses to answer is less satisfied than the city
ENGLISH = 0.08
CHUNK = 5_000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SurveyTruth:
    """What the generator set, for the published index to be checked against: the true
    satisfaction (0-100) of the city and of each district for the questions asked once,
    and of each agency for the questions asked per agency."""

    survey: str
    campaign_id: int
    questions: tuple[str, ...]
    agency_questions: tuple[str, ...]
    city: float
    districts: dict[str, float]
    agencies: dict[str, float]
    frame: int
    invited: int
    responses: int
    partial: int
    self_selected: int


@dataclass(frozen=True)
class _Invited:
    invitation_id: int
    member_id: int
    attrs: dict[str, str | None]
    stratum: str
    channel: str
    sent: float
    answers: bool  # completes the survey
    partial: bool  # starts it and stops half-way


@dataclass
class SurveyWriter:
    session: Session
    load: BulkLoad
    profile: Profile
    year: Year
    survey: Survey
    texts: Texts
    rng: random.Random
    seed: int
    reporters: Reporters
    progress: Progress

    def __post_init__(self) -> None:
        shares = load_population(self.profile.path, set(self.profile.districts)).shares
        self.truth: Truth = plan_truth(self.rng, shares, block_agencies(self.survey))
        self.answering = Answering(self.survey, self.texts)
        definition = self.session.get(SurveyDefinition, self.survey.key)
        self.version = definition.version if definition else 1

    def run(self, wanted: int) -> SurveyTruth:
        invited = math.ceil(wanted / self.truth.expected_response())
        campaign = self._campaign(invited)
        people = self._sample(campaign, invited, wanted)
        for start in range(0, len(people), CHUNK):
            self._write_people(campaign, people[start : start + CHUNK])
            self.progress("survey", min(start + CHUNK, len(people)), len(people))
        open_link = self._open_link(campaign, round(OPEN_LINK * wanted))
        city, per_agency = scale_questions(self.survey)
        return SurveyTruth(
            survey=self.survey.key,
            campaign_id=campaign.id,
            questions=tuple(city),
            agency_questions=tuple(per_agency),
            city=round(self.truth.city, 2),
            districts=dict(self.truth.districts),
            agencies=dict(self.truth.agencies),
            frame=invited * FRAME_SIZE,
            invited=invited,
            responses=wanted,
            partial=sum(p.partial for p in people),
            self_selected=open_link,
        )

    def _span(self) -> tuple[float, float]:
        """The campaign's start (09:00) and end (20:00, CAMPAIGN_DAYS later), city time,
        ending in December or, in a year still running, the day before its end."""
        zone = self.year.zone
        last_day = datetime.fromtimestamp(self.year.end - DAY, zone).date()
        end = datetime(last_day.year, last_day.month, last_day.day, 20, tzinfo=zone)
        start = (end - timedelta(days=CAMPAIGN_DAYS)).replace(hour=9)
        return start.timestamp(), end.timestamp()

    def _campaign(self, invited: int) -> Campaign:
        start, end = self._span()
        strata = tuple(a for a in self.survey.post_strata if a in self.truth.shares)
        design = Design(
            strata=strata or ("district",),
            n=invited,
            allocation="proportional",
            seed=self.seed,
            channels=("email", "letter"),
        )
        campaign = create_campaign(
            session=self.session,
            name=self.texts.one("demo.campaign", DEFAULT_LANGUAGE, year=self.year.year),
            survey_key=self.survey.key,
            design=design,
            starts_at=moment(start),
            ends_at=moment(end),
            window=WINDOW,
            timezone=self.year.timezone,
            reminder_days=REMINDERS,
        )
        # drawn two days before it starts; closed by the sender once past its end
        campaign.created_at = moment(start - 2 * DAY)
        campaign.status, campaign.closed_at = "closed", moment(end + 60)
        self.session.flush()
        return campaign

    def _sample(self, campaign: Campaign, invited: int, wanted: int) -> list[_Invited]:
        """The registry, the campaign's stratified sample of it, who of the sample
        answers, and when each was invited."""
        design = Design.from_json(campaign.design)
        attrs = households(self.rng, self.truth, invited * FRAME_SIZE)
        ids = self.load.ids(FrameMember, len(attrs))
        units = list(zip(ids, attrs, strict=True))
        drawn = dict(
            draw_sample(
                units,
                strata=design.strata,
                n=design.n,
                allocation=design.allocation,
                seed=design.seed,
            )
        )
        contacts = self._write_frame(campaign, units, drawn)
        sample = [(i, a) for i, a in units if i in drawn]
        answering = respondents(self.rng, self.truth, sample, wanted)
        others = [i for i, _ in sample if i not in answering]
        partial = set(self.rng.sample(others, min(len(others), round(PARTIAL * invited))))
        invitation_ids = self.load.ids(Invitation, len(sample))
        start = campaign.starts_at.timestamp()
        return [
            _Invited(
                invitation_id=invitation_id,
                member_id=member_id,
                attrs=member_attrs,
                stratum=drawn[member_id],
                # the first channel of the design the household has
                channel="email" if "@" in contacts[member_id] else "letter",
                sent=start
                + self.rng.randrange(SENDING_DAYS) * DAY
                + self.rng.uniform(0, 11 * HOUR),
                answers=member_id in answering,
                partial=member_id in partial,
            )
            for invitation_id, (member_id, member_attrs) in zip(invitation_ids, sample, strict=True)
        ]

    def _write_frame(
        self,
        campaign: Campaign,
        units: Sequence[tuple[int, dict[str, str | None]]],
        drawn: dict[int, str],
    ) -> dict[int, str]:
        """The registry's households; their contacts by member id."""
        imported = moment(campaign.starts_at.timestamp() - 30 * DAY)
        contacts, rows = {}, []
        for number, (member_id, attrs) in enumerate(units, start=1):
            external = f"demo-{campaign.id}-{number:06d}"
            if self.rng.random() < EMAIL:
                contact = f"{external}@example.invalid"
            else:
                district = self.profile.districts[attrs["district"] or ""]
                contact = self.texts.one(
                    "demo.address",
                    DEFAULT_LANGUAGE,
                    district=district.label(DEFAULT_LANGUAGE),
                    number=number,
                )
            contacts[member_id] = contact
            sampled = campaign.created_at if member_id in drawn else None
            rows.append(frame_row(member_id, external, attrs, contact, sampled, imported))
        self.load.insert(FrameMember, FRAME_COLUMNS, rows)
        return contacts

    def _write_people(self, campaign: Campaign, people: Sequence[_Invited]) -> None:
        """A batch of the sample: invitations, and the citizens, responses and answers
        of those who started."""
        invitations, responses = [], []
        for person in people:
            started = self._start_time(campaign, person)
            response = None if started is None else self._respond(person, started)
            invitations.append(self._invitation_row(campaign, person, started, response))
            if response is not None:
                responses.append(response)
        self.load.insert(Invitation, INVITATION_COLUMNS, invitations)
        self._write_responses(responses)

    def _write_responses(self, responses: Sequence[Response]) -> None:
        write_responses(
            load=self.load,
            rng=self.rng,
            survey=(self.survey.key, self.version),
            responses=responses,
        )

    def _start_time(self, campaign: Campaign, person: _Invited) -> float | None:
        if not (person.answers or person.partial):
            return None
        latest = campaign.ends_at.timestamp() - HOUR
        return min(person.sent + self.rng.expovariate(1 / (1.5 * DAY)), latest)

    def _respond(self, person: _Invited, started: float) -> Response:
        """The invited person's response, to the end or, for some, half-way."""
        lang = "en" if self.rng.random() < ENGLISH else "zh"
        respondent = Respondent(
            language=lang,
            mean=self.truth.mean(person.attrs),
            agency_means=self.truth.agency_means(person.attrs),
            chosen=self.truth.chosen,
        )
        stop = None if person.answers else self.rng.randint(1, 3)
        answers = self.answering.walk(self.rng, respondent, started, stop)
        return Response(
            invitation_id=person.invitation_id,
            stratum=person.stratum,
            assurance=INVITED,
            citizen_id=None,
            language=lang,
            started=started,
            answers=answers,
            complete=person.answers,
        )

    def _invitation_row(
        self,
        campaign: Campaign,
        person: _Invited,
        started: float | None,
        response: Response | None,
    ) -> tuple[object, ...]:
        """Sent, and reminded until the person started: the sender's own bookkeeping (one
        attempt per message, the claim of the last one)."""
        waited = (math.inf if started is None else started) - person.sent
        reminders = sum(1 for days in REMINDERS if days * DAY < waited)
        last = person.sent + (REMINDERS[reminders - 1] * DAY if reminders else 0.0)
        completed = response.answers[-1].at if response and response.complete else None
        return (
            person.invitation_id, campaign.id, person.member_id, person.stratum, person.channel,
            new_nonce(), "sent", 1 + reminders, campaign.starts_at, moment(last),
            moment(person.sent), reminders, reminders, moment_or_none(started),
            moment_or_none(completed), None,
        )  # fmt: skip

    def _open_link(self, campaign: Campaign, count: int) -> int:
        """Self-selected answers (`/start s_<survey>`) from earlier reporters, who answer
        below the city's mean; counted apart and never weighted."""
        start, end = campaign.starts_at.timestamp(), campaign.ends_at.timestamp()
        reporters = self.reporters
        known = [i for i in range(len(reporters.ids)) if reporters.created[i] < start]
        chosen = self.rng.sample(known, min(count, len(known)))
        responses = []
        for index in chosen:
            respondent = Respondent(
                language=reporters.languages[index],
                mean=self.truth.city + OPEN_LINK_SHIFT,
                agency_means={a: m + OPEN_LINK_SHIFT for a, m in self.truth.agencies.items()},
                chosen=self.truth.chosen,
            )
            at = self.rng.uniform(start, end - HOUR)
            responses.append(
                Response(
                    invitation_id=None,
                    stratum=None,
                    assurance=reporters.levels[index],
                    citizen_id=reporters.ids[index],
                    language=respondent.language,
                    started=at,
                    answers=self.answering.walk(self.rng, respondent, at, None),
                    complete=True,
                )
            )
        self._write_responses(responses)
        return len(responses)
