"""Which comments a page or a sample is about: one filter over the comment store (year,
month, source, agency, district, language, whether an analyst has coded it, a code), as a
query the database runs. Checking the values a user typed is the edge's job; this module
takes them as given."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from civic.opinion._collect import ACCEPTED, SUGGESTED
from storage.models import Comment, CommentCode


@dataclass(frozen=True)
class CommentFilter:
    year: int | None = None
    month: str | None = None  # "2026-05"
    source: str | None = None
    agency: str | None = None
    district: str | None = None
    language: str | None = None
    coded: bool | None = None  # has accepted codes (an analyst's), or has none yet
    code: str | None = None  # counts under this code: accepted, else suggested

    def values(self) -> dict[str, Any]:
        """The filter's set values, for storing with a sample."""
        return {name: value for name, value in asdict(self).items() if value is not None}


def _has_accepted(comment_id: Any) -> Any:
    return exists().where(CommentCode.comment_id == comment_id, CommentCode.kind == ACCEPTED)


def _counts_under(code: str) -> Any:
    """The comment counts under `code`: an accepted code, or a suggested one of a comment
    with no accepted codes (as the trends count)."""
    row = aliased(CommentCode)
    return exists().where(
        row.comment_id == Comment.id,
        row.code == code,
        or_(
            row.kind == ACCEPTED,
            and_(row.kind == SUGGESTED, ~_has_accepted(Comment.id)),
        ),
    )


def filtered(query: Select[Any], chosen: CommentFilter) -> Select[Any]:
    """`query` (over comments) limited to the comments the filter chooses."""
    equal = {
        Comment.month: chosen.month,
        Comment.source: chosen.source,
        Comment.agency: chosen.agency,
        Comment.district: chosen.district,
        Comment.language: chosen.language,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if chosen.year is not None:
        query = query.where(Comment.month.like(f"{chosen.year:04d}-%"))
    if chosen.coded is not None:
        has = _has_accepted(Comment.id)
        query = query.where(has if chosen.coded else ~has)
    if chosen.code is not None:
        query = query.where(_counts_under(chosen.code))
    return query


def find_comments(
    *, session: Session, chosen: CommentFilter, page: int = 1, size: int = 10
) -> tuple[list[Comment], int]:
    """One page of the chosen comments, newest first, and how many there are in all."""
    total = session.scalar(filtered(select(func.count(Comment.id)), chosen)) or 0
    query = filtered(select(Comment), chosen).order_by(Comment.created_at.desc(), Comment.id.desc())
    found = session.scalars(query.offset((page - 1) * size).limit(size)).all()
    return list(found), total
