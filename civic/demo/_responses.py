"""Survey responses and their answers as the survey chat stores them
(`civic.surveys._service`): the path of steps answered, the status, and one answer row
per step, each at its own moment; an invited respondent a citizen of their own who
arrived with the invitation's token."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from civic.demo._answers import Answer
from civic.demo._calendar import moment
from civic.demo._citizens import COLUMNS as CITIZEN_COLUMNS
from civic.demo._citizens import citizen_row
from storage.bulk import BulkLoad
from storage.models import Citizen, SurveyAnswer, SurveyResponse

RESPONSE_COLUMNS = (
    "id", "survey_key", "survey_version", "invitation_id", "citizen_id", "self_selected",
    "assurance", "stratum", "language", "path", "status", "started_at", "updated_at",
    "completed_at",
)  # fmt: skip
ANSWER_COLUMNS = ("id", "response_id", "step", "question", "agency", "value", "answered_at")


@dataclass(frozen=True)
class Response:
    """One respondent's response: invited (`invitation_id`, `stratum`) or through the
    open link (neither); `citizen_id` None for someone new, written with it."""

    invitation_id: int | None
    stratum: str | None
    assurance: str
    citizen_id: int | None
    language: str
    started: float
    answers: list[Answer]
    complete: bool


def write_responses(
    *,
    load: BulkLoad,
    rng: random.Random,
    survey: tuple[str, int],
    responses: Sequence[Response],
) -> None:
    """The responses to `survey` (key, version) with their answers and new citizens."""
    new_ids = iter(load.ids(Citizen, sum(r.citizen_id is None for r in responses)))
    citizens: list[tuple[object, ...]] = []
    rows: list[tuple[object, ...]] = []
    answers: list[tuple[object, ...]] = []
    for response_id, r in zip(load.ids(SurveyResponse, len(responses)), responses, strict=True):
        citizen_id = r.citizen_id
        if citizen_id is None:
            citizen_id = next(new_ids)
            joined = r.started - rng.uniform(5, 60)  # opened the invitation's link
            citizens.append(citizen_row(rng, citizen_id, r.language, r.assurance, joined))
        end = r.answers[-1].at if r.answers else r.started
        rows.append((
            response_id, survey[0], survey[1], r.invitation_id, citizen_id,
            r.invitation_id is None, r.assurance, r.stratum, r.language,
            json.dumps([a.step for a in r.answers]),
            "completed" if r.complete else "in_progress", moment(r.started), moment(end),
            moment(end) if r.complete else None,
        ))  # fmt: skip
        answers.extend(
            (response_id, a.step, a.question, a.agency, a.value, moment(a.at)) for a in r.answers
        )
    answer_ids = load.ids(SurveyAnswer, len(answers))
    load.insert(Citizen, CITIZEN_COLUMNS, citizens)
    load.insert(SurveyResponse, RESPONSE_COLUMNS, rows)
    load.insert(
        SurveyAnswer, ANSWER_COLUMNS, [(i, *a) for i, a in zip(answer_ids, answers, strict=True)]
    )
