"""A notice's steps after its proposal, each by the people it belongs to:

    proposed --issue (office)--> issued --commit (coordinator)--> committed
    proposed --dismiss (office)--> dismissed
    committed --report_progress (coordinator)--> committed
    committed --report_rectified (coordinator)--> rectified
    rectified --verify (office)--> verified
    rectified --return_rectification (office)--> committed

The office is the evaluation office's staff (no agency, role "staff"); the coordinator
is the notice's agency's own. Each step checks everything before it writes anything,
then changes the notice and adds one event (who, what, the note in both languages,
whether it is public); a refusal (`NotPermitted`, `NoticeRefused`, `NoticeClosed` once
verified or dismissed) leaves the session as it was. The caller commits: one step, one
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.notices._errors import NoticeClosed, NoticeRefused, NotPermitted
from civic.notices._published import COMMITTED, VERIFIED, notice_published
from storage.models import AgencyUser, Notice, NoticeEvent, NoticeMilestone, utcnow

PROPOSED, DISMISSED, ISSUED = "proposed", "dismissed", "issued"
RECTIFIED = "rectified"
STATUSES = (PROPOSED, DISMISSED, ISSUED, COMMITTED, RECTIFIED, VERIFIED)
CLOSED = (DISMISSED, VERIFIED)
MAX_TEXT = 4000
MAX_MILESTONES = 10


@dataclass(frozen=True)
class MilestoneInput:
    text_zh: str
    text_en: str
    due: date | None


@dataclass(frozen=True)
class Step:
    """A step taken: the notice as it now is, the stage it reached, and its event."""

    notice: Notice
    stage: str
    event: NoticeEvent


def is_office(user: AgencyUser) -> bool:
    return user.disabled_at is None and user.agency is None and user.role == "staff"


def is_coordinator_of(user: AgencyUser, agency: str) -> bool:
    return user.disabled_at is None and user.role == "coordinator" and user.agency == agency


def may_read(user: AgencyUser, notice: Notice) -> bool:
    """The office reads every notice; an agency's people read theirs once issued."""
    if is_office(user):
        return True
    issued = notice.status not in (PROPOSED, DISMISSED)
    return user.disabled_at is None and user.agency == notice.agency and issued


def list_notices(*, session: Session, user: AgencyUser) -> list[Notice]:
    """The notices `user` may read, newest first."""
    query = select(Notice).order_by(Notice.proposed_at.desc(), Notice.id.desc())
    if not is_office(user):
        if user.agency is None or user.disabled_at is not None:
            return []
        query = query.where(
            Notice.agency == user.agency, Notice.status.not_in([PROPOSED, DISMISSED])
        )
    return list(session.scalars(query))


def _office(user: AgencyUser) -> None:
    if not is_office(user):
        raise NotPermitted("office_only")


def _coordinator(user: AgencyUser, notice: Notice) -> None:
    if not is_coordinator_of(user, notice.agency):
        raise NotPermitted("coordinator_only", agency=notice.agency)


def _at(notice: Notice, *statuses: str) -> None:
    if notice.status in CLOSED:
        raise NoticeClosed("closed", number=notice.number, status=notice.status)
    if notice.status not in statuses:
        raise NoticeRefused("wrong_status", number=notice.number, status=notice.status)


def _bilingual(
    zh: str | None, en: str | None, key: str, *, required: bool = True
) -> tuple[str, str]:
    """Both texts, trimmed: both given (or, when not required, both empty), each within
    MAX_TEXT."""
    texts = ((zh or "").strip(), (en or "").strip())
    if any(len(text) > MAX_TEXT for text in texts):
        raise NoticeRefused("too_long", limit=MAX_TEXT)
    if all(texts) or (not required and not any(texts)):
        return texts
    raise NoticeRefused(key)


def _record(
    session: Session,
    notice: Notice,
    user: AgencyUser | None,
    action: str,
    notes: tuple[str, str] = ("", ""),
    *,
    public: bool = True,
) -> NoticeEvent:
    event = NoticeEvent(
        notice_id=notice.id,
        at=utcnow(),
        user_id=user.id if user is not None else None,
        action=action,
        note_zh=notes[0],
        note_en=notes[1],
        public=public,
    )
    session.add(event)
    session.flush()
    return event


def issue(
    *,
    session: Session,
    user: AgencyUser,
    notice: Notice,
    problem_zh: str,
    problem_en: str,
    response_due: date | None,
    today: date,
) -> Step:
    """The office issues a proposal to its agency: the problem in both languages and the
    date the agency must answer by (after `today`, the city's date)."""
    _office(user)
    _at(notice, PROPOSED)
    problem = _bilingual(problem_zh, problem_en, "problem_required")
    if response_due is None or response_due <= today:
        raise NoticeRefused("due_in_future")
    notice.problem_zh, notice.problem_en = problem
    notice.response_due = response_due
    notice.status, notice.issued_at = ISSUED, utcnow()
    return Step(notice, ISSUED, _record(session, notice, user, ISSUED, problem))


def dismiss(
    *, session: Session, user: AgencyUser, notice: Notice, reason_zh: str, reason_en: str
) -> Step:
    """The office decides a proposal needs no notice, saying why (kept on the desk)."""
    _office(user)
    _at(notice, PROPOSED)
    reason = _bilingual(reason_zh, reason_en, "reason_required")
    notice.status = DISMISSED
    return Step(notice, DISMISSED, _record(session, notice, user, DISMISSED, reason, public=False))


def commit(
    *,
    session: Session,
    user: AgencyUser,
    notice: Notice,
    commitment_zh: str,
    commitment_en: str,
    milestones: Sequence[MilestoneInput],
    today: date,
) -> Step:
    """The agency's coordinator answers with its rectification plan: a public commitment
    in both languages and 1 to MAX_MILESTONES milestones, each with its texts and a date
    not before `today`. The commitment is published."""
    _coordinator(user, notice)
    _at(notice, ISSUED)
    commitment = _bilingual(commitment_zh, commitment_en, "commitment_required")
    steps = _milestones(milestones, today)
    notice.commitment_zh, notice.commitment_en = commitment
    for position, (text_zh, text_en, due) in enumerate(steps, start=1):
        notice.milestones.append(
            NoticeMilestone(position=position, text_zh=text_zh, text_en=text_en, due=due)
        )
    notice.status, notice.committed_at = COMMITTED, utcnow()
    step = Step(notice, COMMITTED, _record(session, notice, user, COMMITTED, commitment))
    notice_published(session=session, notice=notice, stage=COMMITTED)
    return step


def _milestones(milestones: Sequence[MilestoneInput], today: date) -> list[tuple[str, str, date]]:
    if not 1 <= len(milestones) <= MAX_MILESTONES:
        raise NoticeRefused("milestone_count", most=MAX_MILESTONES)
    checked = []
    for number, milestone in enumerate(milestones, start=1):
        texts = (milestone.text_zh.strip(), milestone.text_en.strip())
        if not all(texts):
            raise NoticeRefused("milestone_text", number=number)
        if any(len(text) > MAX_TEXT for text in texts):
            raise NoticeRefused("too_long", limit=MAX_TEXT)
        if milestone.due is None or milestone.due < today:
            raise NoticeRefused("milestone_due", number=number)
        checked.append((*texts, milestone.due))
    return checked


def report_progress(
    *,
    session: Session,
    user: AgencyUser,
    notice: Notice,
    note_zh: str,
    note_en: str,
    done: Sequence[int] = (),
) -> Step:
    """The coordinator reports progress in both languages, and may mark milestones
    (by id) done."""
    _coordinator(user, notice)
    _at(notice, COMMITTED)
    note = _bilingual(note_zh, note_en, "note_required")
    mine = {milestone.id: milestone for milestone in notice.milestones}
    unknown = [str(m) for m in done if m not in mine]
    if unknown:
        raise NoticeRefused("unknown_milestone", milestone=", ".join(unknown))
    now = utcnow()
    for milestone_id in done:
        if mine[milestone_id].done_at is None:
            mine[milestone_id].done_at = now
    return Step(notice, COMMITTED, _record(session, notice, user, "progress", note))


def report_rectified(
    *, session: Session, user: AgencyUser, notice: Notice, note_zh: str, note_en: str
) -> Step:
    """The coordinator reports the problem rectified, saying what was done; the office
    verifies it next."""
    _coordinator(user, notice)
    _at(notice, COMMITTED)
    note = _bilingual(note_zh, note_en, "note_required")
    notice.status, notice.rectified_at = RECTIFIED, utcnow()
    return Step(notice, RECTIFIED, _record(session, notice, user, RECTIFIED, note))


def verify(
    *, session: Session, user: AgencyUser, notice: Notice, note_zh: str = "", note_en: str = ""
) -> Step:
    """The office verifies the rectification and closes the notice; the verification is
    published."""
    _office(user)
    _at(notice, RECTIFIED)
    note = _bilingual(note_zh, note_en, "note_both", required=False)
    notice.status, notice.verified_at = VERIFIED, utcnow()
    step = Step(notice, VERIFIED, _record(session, notice, user, VERIFIED, note))
    notice_published(session=session, notice=notice, stage=VERIFIED)
    return step


def return_rectification(
    *, session: Session, user: AgencyUser, notice: Notice, reason_zh: str, reason_en: str
) -> Step:
    """The office finds the rectification not done and sends the notice back to the
    agency's commitment, saying why."""
    _office(user)
    _at(notice, RECTIFIED)
    reason = _bilingual(reason_zh, reason_en, "reason_required")
    notice.status, notice.rectified_at = COMMITTED, None
    return Step(notice, COMMITTED, _record(session, notice, user, "returned", reason))
