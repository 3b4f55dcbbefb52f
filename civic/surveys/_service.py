"""Survey definitions and responses in the database.

Definitions come from the profile's `surveys/*.yml` (synced at start-up) or the admin API;
each is checked by `civic.surveys.parse_survey` before it is stored. A response keeps its
answers server-side, so a respondent can stop and resume on any channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civic.surveys._loader import parse_survey
from civic.surveys._model import Survey
from storage.models import SurveyAnswer, SurveyDefinition, SurveyResponse, utcnow

_parsed: dict[tuple[str, int], Survey] = {}


def save_definition(
    *, session: Session, key: str | None, source: str, origin: str, name: str, agencies: Any
) -> SurveyDefinition:
    """Check and store a survey; a changed text gets the next version. Raises
    civic.surveys.SurveyError (with the line) when the survey is not valid."""
    survey = parse_survey(source, source=name, agencies=agencies)
    if key is not None and key != survey.key:
        raise ValueError(f"the survey's key is {survey.key!r}, not {key!r}")
    row = session.get(SurveyDefinition, survey.key)
    if row is None:
        row = SurveyDefinition(key=survey.key, version=1, source=source, origin=origin)
        session.add(row)
    elif row.source != source:
        row.version += 1
        row.source, row.origin, row.updated_at = source, origin, utcnow()
    session.flush()
    return row


def sync_profile_surveys(*, session: Session, directory: Path, agencies: Any) -> list[str]:
    """Store the profile's surveys (admin uploads of the same key are left alone)."""
    keys = []
    for path in sorted(directory.glob("*.yml")) if directory.is_dir() else []:
        source = path.read_text(encoding="utf-8")
        survey = parse_survey(source, source=path.name, agencies=agencies)
        existing = session.get(SurveyDefinition, survey.key)
        if existing is not None and existing.origin == "admin":
            continue
        save_definition(
            session=session,
            key=None,
            source=source,
            origin="profile",
            name=path.name,
            agencies=agencies,
        )
        keys.append(survey.key)
    return keys


def get_survey(*, session: Session, key: str, agencies: Any) -> Survey | None:
    row = session.get(SurveyDefinition, key)
    if row is None:
        return None
    cached = _parsed.get((key, row.version))
    if cached is None:
        cached = parse_survey(row.source, source=f"{key} v{row.version}", agencies=agencies)
        _parsed[(key, row.version)] = cached
    return cached


def list_definitions(*, session: Session) -> list[SurveyDefinition]:
    return list(session.scalars(select(SurveyDefinition).order_by(SurveyDefinition.key)))


# -- responses ------------------------------------------------------------------


def start_response(
    *,
    session: Session,
    survey_key: str,
    version: int,
    citizen_id: int,
    language: str,
    invitation_id: int | None = None,
    stratum: str | None = None,
    assurance: str = "anonymous",
) -> SurveyResponse:
    response = SurveyResponse(
        assurance=assurance,
        survey_key=survey_key,
        survey_version=version,
        invitation_id=invitation_id,
        citizen_id=citizen_id,
        self_selected=invitation_id is None,
        stratum=stratum,
        language=language,
    )
    session.add(response)
    session.flush()
    return response


def current_response(*, session: Session, citizen_id: int) -> SurveyResponse | None:
    """The citizen's survey in progress, the most recently touched one first."""
    query = (
        select(SurveyResponse)
        .where(SurveyResponse.citizen_id == citizen_id, SurveyResponse.status == "in_progress")
        .order_by(SurveyResponse.updated_at.desc(), SurveyResponse.id.desc())
    )
    return session.scalars(query).first()


def response_for_invitation(*, session: Session, invitation_id: int) -> SurveyResponse | None:
    query = select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
    return session.scalars(query).first()


def answers_of(*, session: Session, response: SurveyResponse) -> dict[str, str | None]:
    rows = session.scalars(select(SurveyAnswer).where(SurveyAnswer.response_id == response.id))
    return {row.step: row.value for row in rows}


def record_answer(
    *,
    session: Session,
    response: SurveyResponse,
    step: str,
    question: str,
    agency: str | None,
    value: str | None,
    now: datetime | None = None,
) -> None:
    """Answer (or re-answer) one step; the step joins the path used by "back"."""
    row = session.scalars(
        select(SurveyAnswer).where(
            SurveyAnswer.response_id == response.id, SurveyAnswer.step == step
        )
    ).first()
    if row is None:
        row = SurveyAnswer(response_id=response.id, step=step, question=question, agency=agency)
        session.add(row)
    row.value, row.answered_at = value, now or utcnow()
    path = [s for s in json.loads(response.path) if s != step]
    response.path = json.dumps([*path, step])
    response.updated_at = now or utcnow()
    session.flush()


def undo_last(*, session: Session, response: SurveyResponse) -> str | None:
    """Forget the last answered step ("back"); returns it, or None at the start."""
    path: list[str] = json.loads(response.path)
    if not path:
        return None
    step = path.pop()
    session.execute(
        delete(SurveyAnswer).where(
            SurveyAnswer.response_id == response.id, SurveyAnswer.step == step
        )
    )
    response.path = json.dumps(path)
    response.updated_at = utcnow()
    session.flush()
    return step


def prune_answers(
    *, session: Session, response: SurveyResponse, keep: Mapping[str, object]
) -> None:
    """Drop answers to steps that no longer apply after an earlier answer changed."""
    session.execute(
        delete(SurveyAnswer).where(
            SurveyAnswer.response_id == response.id, SurveyAnswer.step.not_in(list(keep))
        )
    )
    path = [s for s in json.loads(response.path) if s in keep]
    response.path = json.dumps(path)


def complete(*, session: Session, response: SurveyResponse, now: datetime | None = None) -> None:
    response.status = "completed"
    response.completed_at = response.updated_at = now or utcnow()
    session.flush()
