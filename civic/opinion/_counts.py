"""The comment counts: the trends read `comment_counts`, a summary of the comment store,
instead of counting millions of comments and codes on every page.

A row counts the comments of one month, agency, district, source, category and assurance
level: all of them (the n of a share), those under a code, or those under a theme (each
comment once per theme); under a code a comment counts on its accepted codes, or on its
suggested ones when none was accepted, and the row says which.

How they stay current: marked, then refreshed before they are read.

- Any change to a comment or its codes written through a session (collecting, a rerouted
  ticket's comment moving, an analyst's or coder's codes, an adjudication, a comment
  deleted) marks its month dirty, old and new month when it moved, in the same flush and
  transaction (`_mark_changed_months`). A change to the text alone (erasure) marks
  nothing: the counts do not read it. Rows written around the session (a bulk load by
  COPY) are marked with `mark_dirty` or counted with `rebuild_counts` by whoever loads
  them.
- Every trend function calls `refresh_counts` before reading, which rebuilds the dirty
  months from the comments in one set-based statement per level, so a figure is never
  stale; the daily `collect-comments` job refreshes after collecting, so the pages
  seldom have to. Theme rows depend on the codebook's themes: a month remembers those
  its theme rows were built for, and is rebuilt when the codebook's differ.

A month being rebuilt is locked (its `comment_count_months` row), so two readers never
rebuild it at once; a writer marking it waits for the rebuild and marks it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from civic.opinion._codebook import Codebook
from civic.opinion._collect import ACCEPTED, SUGGESTED
from storage.models import Comment, CommentCode, CommentCount, CommentCountMonth, utcnow

TOTAL, CODE, THEME = "", "code", "theme"  # the levels of a count row
# The comment's columns a count row is keyed by; a change to any of them moves the comment.
KEYED = ("month", "agency", "district", "source", "category", "assurance")
_NONE: Any = literal_column("''")  # an absent agency, district or category, as the key stores it


def theme_key(codebook: Codebook) -> str:
    """A short fingerprint of the codebook's themes: which code rolls up to which."""
    pairs = sorted(f"{c.code}>{c.parent}" for c in codebook.codes.values() if c.parent)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:16]


def mark_dirty(*, session: Session, months: Iterable[str]) -> None:
    """The months' counts are to be rebuilt before they are read next."""
    values = [{"month": month, "dirty": True, "themes": ""} for month in sorted(set(months))]
    if not values:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(CommentCountMonth.__table__).values(values)
    session.execute(
        upsert.on_conflict_do_update(index_elements=["month"], set_={"dirty": True, "themes": ""})
    )


def refresh_counts(*, session: Session, codebook: Codebook | None = None) -> list[str]:
    """Rebuild the dirty months; with a codebook also the months whose theme rows were
    built for other themes. Returns the months rebuilt."""
    state = select(CommentCountMonth.month).where(
        CommentCountMonth.dirty.is_(True)
        if codebook is None
        else or_(CommentCountMonth.dirty.is_(True), CommentCountMonth.themes != theme_key(codebook))
    )
    months = list(session.scalars(state.order_by(CommentCountMonth.month).with_for_update()))
    if months:
        rebuild_counts(session=session, months=months, codebook=codebook)
    return months


def rebuild_counts(
    *, session: Session, months: Iterable[str], codebook: Codebook | None = None
) -> None:
    """Count the months again from the comments and their codes: the totals and code rows,
    and with a codebook the theme rows (without one they are left for the next refresh
    that has one). Running it twice gives the same rows."""
    chosen = sorted(set(months))
    if not chosen:
        return
    levels = [TOTAL, CODE] if codebook is None else [TOTAL, CODE, THEME]
    session.execute(
        delete(CommentCount)
        .where(CommentCount.month.in_(chosen), CommentCount.level.in_(levels))
        .execution_options(synchronize_session=False)
    )
    columns = [*KEYED, "level", "code", "counted", "n"]
    for query in (_totals(chosen), _coded(chosen, None)):
        session.execute(insert(CommentCount).from_select(columns, query))
    state: dict[str, Any] = {"dirty": False, "rebuilt_at": utcnow()}
    if codebook is not None:
        session.execute(insert(CommentCount).from_select(columns, _coded(chosen, codebook)))
        state["themes"] = theme_key(codebook)
    _ensure_months(session, chosen)
    session.execute(
        update(CommentCountMonth).where(CommentCountMonth.month.in_(chosen)).values(state)
    )


def _ensure_months(session: Session, months: list[str]) -> None:
    """A row per month in `comment_count_months`, for months rebuilt before any mark."""
    query = select(CommentCountMonth.month).where(CommentCountMonth.month.in_(months))
    known = set(session.scalars(query))
    mark_dirty(session=session, months=[month for month in months if month not in known])


def _keyed() -> list[Any]:
    """The comment's key columns as a count row stores them: '' for none."""
    return [
        Comment.month.label("month"),
        func.coalesce(Comment.agency, _NONE).label("agency"),
        func.coalesce(Comment.district, _NONE).label("district"),
        Comment.source.label("source"),
        func.coalesce(Comment.category, _NONE).label("category"),
        Comment.assurance.label("assurance"),
    ]


def _totals(months: list[str]) -> Select[Any]:
    keyed = _keyed()
    return (
        select(*keyed, _NONE, _NONE, _NONE, func.count())
        .where(Comment.month.in_(months))
        .group_by(*keyed)
    )


def _coded(months: list[str], codebook: Codebook | None) -> Select[Any]:
    """The code rows of the months, or with a codebook the theme rows: each comment under
    its accepted codes, or its suggested ones when none was accepted; under a theme once."""
    keyed = _keyed()
    accepted = aliased(CommentCode)
    code: Any = CommentCode.code if codebook is None else _theme_of(CommentCode.code, codebook)
    # A suggested code is dropped when its comment has an accepted one (an anti-join:
    # accepted codes never match it, so they stay).
    found = (
        select(Comment.id, *keyed, code.label("code"), CommentCode.kind.label("counted"))
        .join(CommentCode, CommentCode.comment_id == Comment.id)
        .outerjoin(
            accepted,
            and_(
                accepted.comment_id == CommentCode.comment_id,
                accepted.kind == ACCEPTED,
                CommentCode.kind == SUGGESTED,
            ),
        )
        .where(Comment.month.in_(months), accepted.comment_id.is_(None))
    )
    rows = (found if codebook is None else found.distinct()).subquery()
    key = [rows.c[name] for name in KEYED]
    level: Any = literal_column(f"'{CODE if codebook is None else THEME}'")
    return select(*key, level, rows.c.code, rows.c.counted, func.count()).group_by(
        *key, rows.c.code, rows.c.counted
    )


def _theme_of(code: Any, codebook: Codebook) -> Any:
    """The code's theme: its parent, or itself (a theme, or a code no longer known)."""
    parents = {c.code: c.parent for c in codebook.codes.values() if c.parent is not None}
    return case(parents, value=code, else_=code) if parents else code


@event.listens_for(Session, "before_flush")
def _mark_changed_months(session: Session, _context: Any, _instances: Any) -> None:
    """Mark the months of the comments and codes this flush adds, changes or deletes."""
    months: set[str] = set()
    code_of: set[int] = set()  # comments whose codes change, by id
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Comment):
            months.add(obj.month)
    for obj in session.dirty:
        if isinstance(obj, Comment):
            months |= _months_moved(obj)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, CommentCode) and obj.comment_id is not None:
            code_of.add(obj.comment_id)
    if code_of:
        months |= set(session.scalars(select(Comment.month).where(Comment.id.in_(code_of))))
    if months:
        mark_dirty(session=session, months=months)


def _months_moved(comment: Comment) -> set[str]:
    """A changed comment's old and new months when a key column or its codes changed;
    none when only its text did."""
    state = inspect(comment)
    if not any(state.attrs[name].history.has_changes() for name in (*KEYED, "codes")):
        return set()
    return {comment.month, *(month for month in state.attrs["month"].history.deleted if month)}
