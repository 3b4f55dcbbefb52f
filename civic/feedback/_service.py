"""Praise and suggestions: recorded against what they name, never filed as complaints.

Praise is thanked and counted for the agency it names (Hangzhou's evaluation counts
positive feedback too); a suggestion is routed to the agency responsible as a suggestion,
with no deadline. Both show on the agency's desk."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.city import Profile, word_starts
from storage.models import Citizen, Feedback, utcnow

KINDS = ("praise", "suggestion")


# How citizens shorten the words agencies' names are made of ("water dept").
_ABBREVIATIONS = {r"\bdept\b\.?": "department", r"\bgovt\b\.?": "government"}


def _folded(text: str) -> str:
    folded = re.sub(r"\s+", " ", text.lower())
    for short, word in _ABBREVIATIONS.items():
        folded = re.sub(short, word, folded)
    return folded


def agency_named(profile: Profile, text: str) -> str | None:
    """The agency a message names (its name or what citizens call it), the longest
    mention winning: "西湖区城管局" names urban-management; None when it names none."""
    folded = _folded(text)
    starts: set[int] | None = None  # jieba's word starts, segmented only when needed
    best: tuple[int, str] | None = None
    for agency in profile.agencies.values():
        for name in {*agency.name.values(), *agency.aliases}:
            mention = _folded(name)
            if not mention or (best is not None and len(mention) <= best[0]):
                continue
            if mention.isascii():
                # whole English words, plural too ("traffic cops" names the traffic police)
                found = re.search(rf"\b{re.escape(mention)}s?\b", folded) is not None
            else:
                # Chinese: where a word begins ("质监" is not in "水质监测点")
                at = [m.start() for m in re.finditer(re.escape(mention), folded)]
                if at and starts is None:
                    starts = word_starts(folded)
                found = any(i in (starts or ()) for i in at)
            if found:
                best = (len(mention), agency.code)
    return best[1] if best else None


def agency_by_topic(profile: Profile, text: str) -> str | None:
    """The agency responsible for what a message is about, by the complaint categories'
    names and keywords and the agencies' topics ("夜间公交" is about buses, "later metro
    trains" about the metro: transport); the longest match wins."""
    folded = _folded(text)
    best: tuple[int, str] | None = None
    for agency, words in _topic_words(profile):
        for word in words:
            mention = _folded(word)
            if len(mention) < 2:
                continue
            # whole English words, plural too ("bin" is not in "binjiang")
            pattern = (
                rf"\b{re.escape(mention)}(s|es)?\b" if mention.isascii() else re.escape(mention)
            )
            if re.search(pattern, folded) and (best is None or len(mention) > best[0]):
                best = (len(mention), agency)
    return best[1] if best else None


def _topic_words(profile: Profile) -> Iterator[tuple[str, set[str]]]:
    """Each agency with the words that say a message is its business."""
    for category in profile.categories.values():
        if category.agency is not None:
            keywords = (w for ws in category.keywords.values() for w in ws)
            yield category.agency, {*category.name.values(), *keywords}
    for agency in profile.agencies.values():
        yield agency.code, {w for ws in agency.topics.values() for w in ws}


def record_feedback(
    *,
    session: Session,
    kind: str,
    citizen: Citizen | None,
    text: str,
    language: str,
    agency: str | None,
    district: str | None = None,
    ticket_id: int | None = None,
    now: datetime | None = None,
) -> Feedback:
    if kind not in KINDS:
        raise ValueError(f"feedback is praise or suggestion, not {kind!r}")
    feedback = Feedback(
        kind=kind,
        citizen_id=citizen.id if citizen else None,
        text=text.strip()[:4000],
        language=language,
        agency=agency,
        district=district,
        ticket_id=ticket_id,
        assurance=citizen.assurance if citizen else "anonymous",
        created_at=now or utcnow(),
    )
    session.add(feedback)
    session.flush()
    return feedback


def list_feedback(
    *, session: Session, kind: str, agency: str | None, limit: int = 100
) -> list[Feedback]:
    """The newest feedback of a kind, for one agency (None: every agency, for the office)."""
    query = select(Feedback).where(Feedback.kind == kind)
    if agency is not None:
        query = query.where(Feedback.agency == agency)
    return list(session.scalars(query.order_by(Feedback.id.desc()).limit(limit)))


def praise_counts(*, session: Session, counted: Collection[str]) -> dict[str, dict[str, int]]:
    """Per agency: praise at the counted assurance levels and in all."""
    rows = session.execute(
        select(Feedback.agency, Feedback.assurance, func.count())
        .where(Feedback.kind == "praise", Feedback.agency.is_not(None))
        .group_by(Feedback.agency, Feedback.assurance)
    )
    counts: dict[str, dict[str, int]] = {}
    for agency, level, count in rows:
        entry = counts.setdefault(str(agency), {"counted": 0, "all": 0})
        entry["all"] += count
        if level in counted:
            entry["counted"] += count
    return counts
