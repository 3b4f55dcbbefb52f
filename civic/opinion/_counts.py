"""The comment counts: the trends read `comment_counts`, a summary of the comment store,
instead of counting millions of comments and codes on every page.

A row counts the comments of one month, agency, district, source, category and assurance
level: all of them (the n of a share), those under a code, or those under a theme (each
comment once per theme); under a code a comment counts on its accepted codes, or on its
suggested ones when none was accepted, and the row says which.

How they stay current: marked, then refreshed before they are read, a cell (month,
agency and district, `comment_count_cells`) at a time, so that an analyst's code costs
the next page a few hundred comments to recount, not a month's.

- Any change to a comment or its codes written through a session (collecting, a rerouted
  ticket's comment moving, an analyst's or coder's codes, an adjudication, a comment
  deleted) marks its cell dirty, the old and the new one when it moved, in the same flush
  and transaction (`_mark_changed_cells`). A change to the text alone (erasure) marks
  nothing: the counts do not read it. Rows written around the session (a bulk load by
  COPY) are counted with `rebuild_counts` by whoever loads them.
- Every trend function calls `refresh_counts` before reading; it rebuilds the dirty cells
  from the comments with one set-based statement per level and month, so a figure is
  never stale. The daily `collect-comments` job refreshes after collecting, so the pages
  seldom have to. Theme rows depend on the codebook's themes: a cell remembers those its
  theme rows were built for, and is rebuilt when the codebook's differ.

The cells being rebuilt are locked (their `comment_count_cells` rows), so two readers
never rebuild one at once; a writer marking one waits for the rebuild and marks it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from itertools import groupby
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
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
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from civic.opinion._codebook import Codebook
from civic.opinion._collect import ACCEPTED, SUGGESTED
from storage.models import Comment, CommentCode, CommentCount, CommentCountCell, utcnow

TOTAL, CODE, THEME = "", "code", "theme"  # the levels of a count row
# The comment's columns a count row is keyed by; a change to any of them moves the comment.
KEYED = ("month", "agency", "district", "source", "category", "assurance")
_NONE: Any = literal_column("''")  # an absent agency, district or category, as keys store it


class Cell(NamedTuple):
    """The unit the counts are rebuilt in: '' for no agency or district."""

    month: str
    agency: str
    district: str


def theme_key(codebook: Codebook) -> str:
    """A short fingerprint of the codebook's themes: which code rolls up to which."""
    pairs = sorted(f"{c.code}>{c.parent}" for c in codebook.codes.values() if c.parent)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:16]


def mark_dirty(*, session: Session, cells: Iterable[Cell]) -> None:
    """The cells' counts are to be rebuilt before they are read next."""
    values = [{**cell._asdict(), "dirty": True, "themes": ""} for cell in sorted(set(cells))]
    if not values:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(CommentCountCell.__table__).values(values)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=list(Cell._fields), set_={"dirty": True, "themes": ""}
        )
    )


def refresh_counts(*, session: Session, codebook: Codebook | None = None) -> list[str]:
    """Rebuild the dirty cells; with a codebook also the cells whose theme rows were built
    for other themes. Returns the months of the cells rebuilt."""
    stale: ColumnElement[bool] = CommentCountCell.dirty.is_(True)
    if codebook is not None:
        stale = or_(stale, CommentCountCell.themes != theme_key(codebook))
    query = select(*(getattr(CommentCountCell, name) for name in Cell._fields)).where(stale)
    cells = [Cell(*row) for row in session.execute(query.order_by(*Cell._fields).with_for_update())]
    for month, of_month in groupby(cells, key=lambda cell: cell.month):
        places = [(cell.agency, cell.district) for cell in of_month]
        _rebuild(session, codebook, month, places)
    return sorted({cell.month for cell in cells})


def rebuild_counts(
    *, session: Session, months: Iterable[str], codebook: Codebook | None = None
) -> None:
    """Count the months again from the comments and their codes: the totals and code rows,
    and with a codebook the theme rows (without one they are left for the next refresh
    that has one). Running it twice gives the same rows."""
    for month in sorted(set(months)):
        _rebuild(session, codebook, month, None)


def _rebuild(
    session: Session, codebook: Codebook | None, month: str, places: list[tuple[str, str]] | None
) -> None:
    """Rebuild the month's counts at the (agency, district) places given, or all of them."""
    where = [Comment.month == month]
    of_counts = [CommentCount.month == month]
    if places is not None:
        where.append(or_(*(_at(agency, district) for agency, district in places)))
        of_counts.append(tuple_(CommentCount.agency, CommentCount.district).in_(places))
    levels = [TOTAL, CODE] if codebook is None else [TOTAL, CODE, THEME]
    session.execute(
        delete(CommentCount)
        .where(*of_counts, CommentCount.level.in_(levels))
        .execution_options(synchronize_session=False)
    )
    columns = [*KEYED, "level", "code", "counted", "n"]
    for query in (_totals(where), _coded(where, None)):
        session.execute(insert(CommentCount).from_select(columns, query))
    # Without a codebook the theme rows are left as they were: marked for the next refresh.
    state: dict[str, Any] = {"dirty": False, "themes": "", "rebuilt_at": utcnow()}
    if codebook is not None:
        session.execute(insert(CommentCount).from_select(columns, _coded(where, codebook)))
        state["themes"] = theme_key(codebook)
    if places is None:  # every place the month has comments at gets its cell
        places_of = select(Comment.month, _or_none(Comment.agency), _or_none(Comment.district))
        found = session.execute(places_of.where(*where).distinct())
        _ensure_cells(session, [Cell(*row) for row in found])
    cell = CommentCountCell
    chosen = [cell.month == month]
    if places is not None:
        chosen.append(tuple_(cell.agency, cell.district).in_(places))
    session.execute(update(cell).where(*chosen).values(state))


def _ensure_cells(session: Session, cells: list[Cell]) -> None:
    """A row in `comment_count_cells` for each cell, for cells rebuilt before any mark."""
    months = {cell.month for cell in cells}
    query = select(CommentCountCell).where(CommentCountCell.month.in_(months))
    known = {Cell(c.month, c.agency, c.district) for c in session.scalars(query)}
    mark_dirty(session=session, cells=set(cells) - known)


def _at(agency: str, district: str) -> ColumnElement[bool]:
    """The comments of a place, written on the columns themselves so that the index on
    (month, agency, district) finds them."""

    def equals(column: Any, value: str) -> ColumnElement[bool]:
        return column.is_(None) if value == "" else column == value

    return and_(equals(Comment.agency, agency), equals(Comment.district, district))


def _or_none(column: Any) -> ColumnElement[str]:
    return func.coalesce(column, _NONE)


def _keyed() -> list[Any]:
    """The comment's key columns as a count row stores them: '' for none."""
    return [
        Comment.month.label("month"),
        _or_none(Comment.agency).label("agency"),
        _or_none(Comment.district).label("district"),
        Comment.source.label("source"),
        _or_none(Comment.category).label("category"),
        Comment.assurance.label("assurance"),
    ]


def _totals(where: list[ColumnElement[bool]]) -> Select[Any]:
    keyed = _keyed()
    return select(*keyed, _NONE, _NONE, _NONE, func.count()).where(*where).group_by(*keyed)


def _coded(where: list[ColumnElement[bool]], codebook: Codebook | None) -> Select[Any]:
    """The code rows of the comments `where` picks, or with a codebook the theme rows: each
    comment under its accepted codes, or its suggested ones when none was accepted; under
    a theme once."""
    accepted = aliased(CommentCode)
    code: Any = CommentCode.code if codebook is None else _theme_of(CommentCode.code, codebook)
    # A suggested code is dropped when its comment has an accepted one (an anti-join:
    # accepted codes never match it, so they stay).
    found = (
        select(Comment.id, *_keyed(), code.label("code"), CommentCode.kind.label("counted"))
        .join(CommentCode, CommentCode.comment_id == Comment.id)
        .outerjoin(
            accepted,
            and_(
                accepted.comment_id == CommentCode.comment_id,
                accepted.kind == ACCEPTED,
                CommentCode.kind == SUGGESTED,
            ),
        )
        .where(*where, accepted.comment_id.is_(None))
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
def _mark_changed_cells(session: Session, _context: Any, _instances: Any) -> None:
    """Mark the cells of the comments and codes this flush adds, changes or deletes."""
    cells: set[Cell] = set()
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Comment):
            cells.add(Cell(obj.month, obj.agency or "", obj.district or ""))
    for obj in session.dirty:
        if isinstance(obj, Comment):
            cells |= _cells_moved(obj)
    coded = {
        obj.comment_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, CommentCode) and obj.comment_id is not None
    }
    if coded:
        found = select(Comment.month, _or_none(Comment.agency), _or_none(Comment.district))
        cells |= {Cell(*row) for row in session.execute(found.where(Comment.id.in_(coded)))}
    if cells:
        mark_dirty(session=session, cells=cells)


def _cells_moved(comment: Comment) -> set[Cell]:
    """A changed comment's old and new cells when a key column or its codes changed;
    none when only its text did."""
    state = inspect(comment)
    if not any(state.attrs[name].history.has_changes() for name in (*KEYED, "codes")):
        return set()

    def before(name: str) -> Any:
        history = state.attrs[name].history
        return history.deleted[0] if history.deleted else getattr(comment, name)

    now = Cell(comment.month, comment.agency or "", comment.district or "")
    return {now, Cell(before("month"), before("agency") or "", before("district") or "")}
