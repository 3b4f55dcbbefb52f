"""Topics: the uncoded comments (no accepted code) grouped into topics a person can read
through, for the codebook's gaps to be found and filled. A run (`TopicRun`) groups the
comments matching a filter (year, agency, source, language) with the topic model
(`_topic_model.py`) and stores each topic with its top terms in both languages, its size
and sample comments; each grouped comment points at its topic (`Comment.topic_id`).
Comments of a topic already accepted are left out of later runs: staff have decided.

Then staff act on a run's topics:

    accept   give its comments a codebook code (as a suggested code: they count in trends)
    rename   label it in both languages
    merge    move its comments into another topic of the same run
    split    group its comments again, into two new topics of the same run

Each checks everything before it writes, and raises TopicError (with a message key of
`opinion.topics.error.*`, said in zh or en by `text(lang)`) for what it cannot do.
The caller commits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from civic.errors import InvalidInput
from civic.i18n import t
from civic.opinion._codebook import Codebook
from civic.opinion._collect import ACCEPTED, SUGGESTED, Progress
from civic.opinion._counts import Cell, mark_dirty
from civic.opinion._topic_model import (
    Doc,
    Group,
    Grouping,
    describe,
    features,
    group_features,
)
from storage.models import Comment, CommentCode, Topic, TopicRun

PROPOSED, ACCEPTED_TOPIC, MERGED, SPLIT = "proposed", "accepted", "merged", "split"
LABEL_LENGTH = 128
_CHUNK = 5000  # comment ids per UPDATE


class TopicError(InvalidInput):
    """A topic action that cannot be done; `key` names its text, `text(lang)` says it."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(self.text("en"))

    def text(self, lang: str | None) -> str:
        return t(f"opinion.topics.error.{self.key}", lang, **self.params)


@dataclass(frozen=True)
class TopicFilter:
    """Which comments a run groups; None is any."""

    year: int | None = None
    agency: str | None = None
    source: str | None = None
    language: str | None = None


def _uncoded(where: TopicFilter) -> Any:
    """The comments to group: matching the filter, with no accepted code, and not in a
    topic staff accepted."""
    topic, code = aliased(Topic), aliased(CommentCode)
    accepted_code = exists().where(code.comment_id == Comment.id, code.kind == ACCEPTED)
    in_accepted_topic = exists().where(topic.id == Comment.topic_id, topic.status == ACCEPTED_TOPIC)
    conditions = [~accepted_code, ~in_accepted_topic]
    if where.year is not None:
        conditions.append(Comment.month.like(f"{where.year:04d}-%"))
    for column in ("agency", "source", "language"):
        value = getattr(where, column)
        if value is not None:
            conditions.append(getattr(Comment, column) == value)
    return and_(*conditions)


def group_topics(
    *,
    session: Session,
    codebook: Codebook,
    where: TopicFilter | None = None,
    k: int | None = None,
    created_by: int | None = None,
    progress: Progress | None = None,
    random_state: int = 0,
) -> TopicRun:
    """Group the uncoded comments matching `where` into `k` topics (automatic when None)
    and store the run; `progress(step, n)` is called as it reads ("read"), tokenises
    ("tokenised") and stores ("stored") comments."""
    if k is not None and not 2 <= k <= 100:
        raise TopicError("bad_k", k=k)
    where = where or TopicFilter()
    started = time.perf_counter()
    ids, docs = _read(session, where)
    if progress is not None:
        progress("read", len(ids))
    grouping = Grouping([], [], 0)
    if docs:
        found = features(docs, codebook, progress)
        grouping = group_features(docs, found, codebook, k=k, random_state=random_state)
    run = TopicRun(created_by=created_by, comments=len(ids))
    session.add(run)
    session.flush()
    _point(session, [ids[i] for i in grouping.ungrouped], None)
    stored = 0
    for number, group in enumerate(grouping.groups, start=1):
        topic = _new_topic(session, run, number, group, ids)
        _point(session, [ids[i] for i in group.members], topic.id)
        stored += len(group.members)
        if progress is not None:
            progress("stored", stored)
    params = {**asdict(where), "k": grouping.k, "asked_k": k, "random_state": random_state}
    run.params = json.dumps({**params, "ungrouped": len(grouping.ungrouped)})
    run.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    return run


def _read(session: Session, where: TopicFilter) -> tuple[list[int], list[Doc]]:
    """The ids and texts of the comments to group, each with the codes suggested for it
    when it was collected (the rules need not run again)."""
    rows = session.execute(
        select(Comment.id, Comment.text, Comment.language, Comment.category)
        .where(_uncoded(where))
        .order_by(Comment.id)
    ).all()
    suggested: dict[int, list[str]] = {}
    for comment_id, code in session.execute(
        select(CommentCode.comment_id, CommentCode.code)
        .join(Comment, Comment.id == CommentCode.comment_id)
        .where(_uncoded(where), CommentCode.kind == SUGGESTED)
    ):
        suggested.setdefault(comment_id, []).append(code)
    docs = [
        Doc(row.text, row.language, row.category, tuple(sorted(suggested.get(row.id, []))))
        for row in rows
    ]
    return [row.id for row in rows], docs


def _new_topic(session: Session, run: TopicRun, number: int, group: Group, ids: list[int]) -> Topic:
    topic = Topic(
        run_id=run.id,
        number=number,
        status=PROPOSED,
        terms=json.dumps(group.terms, ensure_ascii=False),
        size=len(group.members),
        samples=json.dumps([ids[i] for i in group.samples]),
    )
    session.add(topic)
    session.flush()
    return topic


def _point(session: Session, comment_ids: Sequence[int], topic_id: int | None) -> None:
    for start in range(0, len(comment_ids), _CHUNK):
        chunk = list(comment_ids[start : start + _CHUNK])
        session.execute(update(Comment).where(Comment.id.in_(chunk)).values(topic_id=topic_id))


# --- Reading a run ---


def latest_run(*, session: Session) -> TopicRun | None:
    return session.scalars(select(TopicRun).order_by(TopicRun.id.desc()).limit(1)).first()


def run_topics(*, session: Session, run: TopicRun) -> list[Topic]:
    """The run's topics still standing (not merged away or split), by number."""
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.run_id == run.id, Topic.status.in_((PROPOSED, ACCEPTED_TOPIC)))
            .order_by(Topic.number)
        )
    )


def topic_terms(topic: Topic) -> dict[str, list[str]]:
    terms = json.loads(topic.terms or "{}")
    return {lang: list(terms.get(lang, [])) for lang in ("zh", "en")}


def sample_comments(*, session: Session, topic: Topic) -> list[Comment]:
    """The topic's sample comments, closest to its centre first (their redacted text)."""
    ids = [int(i) for i in json.loads(topic.samples or "[]")]
    found = {c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# --- Staff's actions ---


def _standing(topic: Topic, *, proposed_only: bool = False) -> None:
    allowed = (PROPOSED,) if proposed_only else (PROPOSED, ACCEPTED_TOPIC)
    if topic.status not in allowed:
        raise TopicError(f"not_{'proposed' if proposed_only else 'standing'}", number=topic.number)


def accept_topic(*, session: Session, topic: Topic, code: str, codebook: Codebook) -> int:
    """Accept the topic as `code`: each of its comments gets the code as a suggested code
    (so it counts in trends, unless an analyst accepts other codes for it). Returns how
    many comments got it."""
    if code not in codebook.codes:
        raise TopicError("unknown_code", code=code)
    _standing(topic, proposed_only=True)
    comment_ids = _members(session, topic)
    have = set(
        session.scalars(
            select(CommentCode.comment_id).where(
                CommentCode.comment_id.in_(select(Comment.id).where(Comment.topic_id == topic.id)),
                CommentCode.kind == SUGGESTED,
                CommentCode.code == code,
            )
        )
    )
    new = [{"comment_id": i, "kind": SUGGESTED, "code": code} for i in comment_ids if i not in have]
    if new:
        session.execute(insert(CommentCode), new)
        # a bulk insert is not seen by the counts' own watch on the session: say so here
        places = session.execute(
            select(Comment.month, Comment.agency, Comment.district)
            .where(Comment.topic_id == topic.id)
            .distinct()
        )
        mark_dirty(
            session=session,
            cells=[Cell(month, agency or "", district or "") for month, agency, district in places],
        )
    topic.status, topic.code = ACCEPTED_TOPIC, code
    if not (topic.label_zh and topic.label_en):
        known = codebook.codes[code]
        topic.label_zh, topic.label_en = known.label["zh"], known.label["en"]
    session.flush()
    return len(new)


def rename_topic(*, session: Session, topic: Topic, label_zh: str, label_en: str) -> None:
    """Label the topic in both languages; both are required."""
    labels = {"zh": (label_zh or "").strip(), "en": (label_en or "").strip()}
    for lang, label in labels.items():
        if not label:
            raise TopicError("label_required", language=lang)
        if len(label) > LABEL_LENGTH:
            raise TopicError("label_too_long", language=lang, length=LABEL_LENGTH)
    _standing(topic)
    topic.label_zh, topic.label_en = labels["zh"], labels["en"]
    session.flush()


def merge_topics(*, session: Session, source: Topic, into: Topic, codebook: Codebook) -> None:
    """Move the comments of `source` into `into` (of the same run), describe `into` again
    from all its comments, and mark `source` merged."""
    if source.id == into.id:
        raise TopicError("merge_itself", number=source.number)
    if source.run_id != into.run_id:
        raise TopicError("other_run", number=source.number, other=into.number)
    _standing(source, proposed_only=True)
    _standing(into, proposed_only=True)
    session.execute(update(Comment).where(Comment.topic_id == source.id).values(topic_id=into.id))
    source.status, source.merged_into_id, source.size = MERGED, into.id, 0
    _describe_again(session, into, codebook)


def split_topic(
    *, session: Session, topic: Topic, codebook: Codebook, random_state: int = 0
) -> tuple[Topic, Topic]:
    """Group the topic's comments again into two new topics of its run; it is marked
    split. Refused when its comments do not fall into two groups."""
    _standing(topic, proposed_only=True)
    comments = _comments(session, topic)
    docs = [Doc(c.text, c.language, c.category) for c in comments]
    found = features(docs, codebook, max_df=1.0)
    grouping = group_features(docs, found, codebook, k=2, random_state=random_state)
    if len(grouping.groups) < 2:
        raise TopicError("cannot_split", number=topic.number)
    run = session.get(TopicRun, topic.run_id)
    assert run is not None
    last = session.scalar(select(func.max(Topic.number)).where(Topic.run_id == run.id)) or 0
    ids = [c.id for c in comments]
    halves = []
    for offset, group in enumerate(grouping.groups, start=1):
        half = _new_topic(session, run, last + offset, group, ids)
        _point(session, [ids[i] for i in group.members], half.id)
        halves.append(half)
    # texts with no features stay with the first half
    _point(session, [ids[i] for i in grouping.ungrouped], halves[0].id)
    halves[0].size += len(grouping.ungrouped)
    topic.status, topic.size = SPLIT, 0
    session.flush()
    return halves[0], halves[1]


def _members(session: Session, topic: Topic) -> list[int]:
    return list(session.scalars(select(Comment.id).where(Comment.topic_id == topic.id)))


def _comments(session: Session, topic: Topic) -> list[Comment]:
    return list(
        session.scalars(select(Comment).where(Comment.topic_id == topic.id).order_by(Comment.id))
    )


def _describe_again(session: Session, topic: Topic, codebook: Codebook) -> None:
    comments = _comments(session, topic)
    docs = [Doc(c.text, c.language, c.category) for c in comments]
    group = describe(docs, features(docs, codebook, max_df=1.0), np.arange(len(docs)))
    topic.terms = json.dumps(group.terms, ensure_ascii=False)
    topic.samples = json.dumps([comments[i].id for i in group.samples])
    topic.size = len(comments)
    session.flush()


def uncoded_count(*, session: Session, where: TopicFilter | None = None) -> int:
    """How many comments a run with this filter would group."""
    condition = _uncoded(where or TopicFilter())
    return int(session.scalar(select(func.count(Comment.id)).where(condition)) or 0)
