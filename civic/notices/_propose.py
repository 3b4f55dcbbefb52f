"""Proposing notices: each rule of the profile looks at a year's figures and proposes a
notice per agency that meets it, with the evidence frozen as JSON when proposed.

- code_growth: per code × agency, from the comment store (civic.opinion's
  `year_over_year` over the agency's comments): the code's share of the agency's comments
  grew by `min_growth` or more (0.5: to at least 1.5 times last year's), on at least
  `min_count` comments, and, when the rule says so, with a p-value under `significance`.
  A code with no comments last year has no growth to measure and is left to the next
  year. The evidence holds the counts, totals, shares, change, p-value, the months'
  counts for a chart and the ids of up to five sample comments (their redacted texts are
  read from the comment store when shown, so an erasure reaches them too).
- satisfaction_below_target, reopen_rate, overdue_rate: per agency, from the latest frozen
  version of the year's evaluation (civic.evaluation): its public-evaluation index under
  the target, or its ticket rate over the limit on enough tickets.

Proposing again proposes nothing twice: a notice is one per rule, agency, subject and
period (the table's unique constraint), whatever became of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from civic.city import Profile
from civic.evaluation import latest_snapshot, snapshot_result
from civic.notices._rules import (
    CODE_GROWTH,
    DEFAULT_MIN_N,
    SATISFACTION,
    SUBJECTS,
    NoticeRule,
    NoticeRules,
)
from civic.opinion import ACCEPTED, SUGGESTED, Codebook, YearOverYear, trend_table, year_over_year
from storage.models import Comment, CommentCode, Notice, NoticeEvent, utcnow

SAMPLE_SIZE = 5
PROPOSED = "proposed"


@dataclass(frozen=True)
class Finding:
    """What a rule found about one agency: the subject and the evidence."""

    agency: str
    subject: str
    evidence: dict[str, Any]


def propose_notices(
    *, session: Session, profile: Profile, codebook: Codebook, rules: NoticeRules, year: int
) -> list[Notice]:
    """The new proposals the rules make from `year`'s figures, numbered and each with a
    `proposed` event; those proposed before are skipped. Nothing is committed."""
    created = []
    for rule in rules.rules:
        for finding in _findings(session, profile, codebook, rule, year):
            if finding.agency not in profile.agencies or _exists(session, rule, finding, year):
                continue
            notice = Notice(
                number=_next_number(session, rules.number_prefix, year),
                agency=finding.agency,
                rule=rule.rule,
                subject=finding.subject,
                period=str(year),
                status=PROPOSED,
                evidence=json.dumps(
                    {"rule": rule.as_json(), "year": year, **finding.evidence},
                    ensure_ascii=False,
                    sort_keys=True,
                ),
                proposed_at=utcnow(),
            )
            session.add(notice)
            session.flush()
            session.add(NoticeEvent(notice_id=notice.id, action=PROPOSED, public=False))
            session.flush()
            created.append(notice)
    return created


def _exists(session: Session, rule: NoticeRule, finding: Finding, year: int) -> bool:
    query = select(Notice.id).where(
        Notice.rule == rule.rule,
        Notice.agency == finding.agency,
        Notice.subject == finding.subject,
        Notice.period == str(year),
    )
    return session.scalar(query) is not None


def _next_number(session: Session, prefix: str, year: int) -> str:
    start = f"{prefix}-{year}-"
    numbers = session.scalars(select(Notice.number).where(Notice.number.like(f"{start}%")))
    last = max((int(n[len(start) :]) for n in numbers if n[len(start) :].isdigit()), default=0)
    return f"{start}{last + 1:03d}"


def _findings(
    session: Session, profile: Profile, codebook: Codebook, rule: NoticeRule, year: int
) -> Iterator[Finding]:
    if rule.kind == CODE_GROWTH:
        yield from _code_growth(session, codebook, rule, year)
    else:
        yield from _evaluation_findings(session, profile, rule, year)


# -- code growth, from the comment store -------------------------------------------------


def _code_growth(
    session: Session, codebook: Codebook, rule: NoticeRule, year: int
) -> Iterator[Finding]:
    agencies = session.scalars(
        select(Comment.agency)
        .where(Comment.agency.is_not(None), Comment.month.like(f"{year:04d}-%"))
        .distinct()
        .order_by(Comment.agency)
    )
    for agency in list(agencies):
        assert agency is not None
        changes = year_over_year(session=session, codebook=codebook, year=year, agency=agency)
        for change in changes:
            if rule.codes and change.code not in rule.codes:
                continue
            growth = _growth(change)
            if growth is None or not _grew(rule, change, growth):
                continue
            yield Finding(
                agency, change.code, _growth_evidence(session, codebook, change, agency, year)
            )


def _growth(change: YearOverYear) -> float | None:
    if not change.last_count or not change.last_share:
        return None
    return change.share / change.last_share - 1.0


def _grew(rule: NoticeRule, change: YearOverYear, growth: float) -> bool:
    significance = rule.number("significance")
    if significance is not None and (change.p_value is None or change.p_value >= significance):
        return False
    return change.count >= (rule.number("min_count") or 0) and growth >= (
        rule.number("min_growth") or 0
    )


def _growth_evidence(
    session: Session, codebook: Codebook, change: YearOverYear, agency: str, year: int
) -> dict[str, Any]:
    growth = _growth(change)
    return {
        "code": change.code,
        "label": change.label,
        "count": change.count,
        "total": change.total,
        "share": round(change.share, 4),
        "last_count": change.last_count,
        "last_total": change.last_total,
        "last_share": round(change.last_share, 4),
        "change": change.change,
        "growth": None if growth is None else round(growth, 4),
        "p_value": None if change.p_value is None else round(change.p_value, 6),
        "accepted": change.accepted,
        "monthly": _monthly(session, codebook, change.code, agency, year),
        "samples": _samples(session, change.code, agency, year),
    }


def _monthly(
    session: Session, codebook: Codebook, code: str, agency: str, year: int
) -> list[dict[str, Any]]:
    rows = trend_table(session=session, codebook=codebook, year=year, by=("code",), agency=agency)
    counts = {row.period: row.count for row in rows if row.cell["code"] == code}
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    return [{"month": month, "count": counts.get(month, 0)} for month in months]


def _samples(session: Session, code: str, agency: str, year: int) -> list[int]:
    """The newest comments counted under the code (accepted, or suggested on comments with
    no accepted code), by id."""
    other = aliased(CommentCode)
    has_accepted = exists().where(other.comment_id == Comment.id, other.kind == ACCEPTED)
    coded = exists().where(
        CommentCode.comment_id == Comment.id,
        CommentCode.code == code,
        or_(CommentCode.kind == ACCEPTED, and_(CommentCode.kind == SUGGESTED, ~has_accepted)),
    )
    query = (
        select(Comment.id)
        .where(Comment.agency == agency, Comment.month.like(f"{year:04d}-%"), coded)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(SAMPLE_SIZE)
    )
    return list(session.scalars(query))


# -- figures of the frozen evaluation ----------------------------------------------------


def _evaluation_findings(
    session: Session, profile: Profile, rule: NoticeRule, year: int
) -> Iterator[Finding]:
    snapshot = latest_snapshot(session=session, year=year)
    if snapshot is None:
        return
    result = snapshot_result(snapshot)
    frozen = {"snapshot_version": snapshot.version}
    for agency in result.get("agencies", []):
        code = str(agency.get("agency"))
        if rule.kind == SATISFACTION:
            found = _below_target(rule, code, agency)
        else:
            found = _rate_over(rule, agency)
        if found is not None:
            yield Finding(code, SUBJECTS[rule.kind], {**frozen, **found})


def _below_target(rule: NoticeRule, code: str, agency: dict[str, Any]) -> dict[str, Any] | None:
    public = agency.get("components", {}).get("public", {})
    index = public.get("index")
    target = rule.targets.get(code, rule.number("target"))
    if index is None or target is None or index >= target:
        return None
    return {"index": index, "target": target, "sources": public.get("sources", {})}


def _rate_over(rule: NoticeRule, agency: dict[str, Any]) -> dict[str, Any] | None:
    indicator = SUBJECTS[rule.kind]
    row = next((r for r in agency.get("indicators", []) if r.get("code") == indicator), None)
    limit = rule.number("over")
    min_n = rule.number("min_n", DEFAULT_MIN_N) or 0
    if row is None or row.get("value") is None or limit is None:
        return None
    if row.get("n", 0) < min_n or row["value"] <= limit:
        return None
    trend = [{"year": t["year"], "value": t["value"], "n": t["n"]} for t in row.get("trend", [])]
    return {"value": row["value"], "n": row["n"], "over": limit, "trend": trend}
