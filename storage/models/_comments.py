"""The comment store: every free text a citizen gave, redacted, with where it came from
and the codes of the public-opinion analysis (civic.opinion)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Comment(Base):
    """One free text: a complaint's description (`source` complaint, `source_id` the
    ticket), a survey's open answer (survey, the answer), a window rating's comment
    (window, the rating) or the reason a ticket was reopened (reopen, the event). The
    source row is how erasure finds the citizen's comments; the text is stored redacted,
    never as typed. `month` is the city's calendar month ("2026-05"), for trends."""

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        # A month's, or one place's in a month (what the comment counts rebuild).
        Index("ix_comments_month_agency_district", "month", "agency", "district"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    district: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    month: Mapped[str] = mapped_column(String(7))
    language: Mapped[str | None] = mapped_column(String(5), default=None)
    # The author's assurance level (civic.identity); "staff" for a reason staff gave.
    assurance: Mapped[str] = mapped_column(String(16), default="anonymous")
    text: Mapped[str] = mapped_column(Text, info={"personal": "redact"})
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The topic the latest grouping put it in (civic.opinion topics); NULL when not grouped.
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"), index=True, default=None
    )

    codes: Mapped[list[CommentCode]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class CommentCode(Base):
    """A code of a comment: `suggested` by the rules when collected, or `accepted` by an
    analyst. A comment counts under its accepted codes, or its suggested ones if none."""

    __tablename__ = "comment_codes"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # suggested | accepted
    code: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class CommentCount(Base):
    """How many comments one combination of month, agency, district, source, category and
    assurance level has: in all (`level` and `code` ''), under a code (`level` "code") or
    under a theme, each comment once (`level` "theme"), `counted` on accepted or suggested
    codes. Absent values are '' rather than NULL, so that they are part of the key. Kept by
    civic.opinion from `comments` and `comment_codes`; the trends read these, not those."""

    __tablename__ = "comment_counts"

    # The level leads the key: every trend query reads one level over a range of months.
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    assurance: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    counted: Mapped[str] = mapped_column(String(16), primary_key=True)  # accepted | suggested
    n: Mapped[int] = mapped_column(Integer)


class CommentCountCell(Base):
    """A month, agency and district of `comment_counts` ('' for none) and whether its rows
    are current: `dirty` once one of its comments or their codes changed, until its
    totals and code rows are rebuilt; `themes` the codebook's themes its theme rows were
    rebuilt for ('' when they need it)."""

    __tablename__ = "comment_count_cells"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    themes: Mapped[str] = mapped_column(String(64), default="")
    rebuilt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CommentCoding(Base):
    """One coder's codes for one comment, kept per coder so that two coders of a
    double-coded sample can be compared (Cohen's kappa). `codes` is a comma-separated
    list of codebook codes; the comment's accepted codes are written from it."""

    __tablename__ = "comment_codings"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    coder_id: Mapped[int] = mapped_column(
        ForeignKey("agency_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    codes: Mapped[str] = mapped_column(String(512))
    coded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodingSample(Base):
    """A random sample of comments drawn for double coding: two coders code each
    comment of it without seeing the other's codes, and their agreement is measured."""

    __tablename__ = "coding_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    seed: Mapped[int] = mapped_column(Integer)
    # The filter it was drawn from, as JSON (year, source, agency, ...).
    drawn_from: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodingSampleItem(Base):
    __tablename__ = "coding_sample_items"

    sample_id: Mapped[int] = mapped_column(
        ForeignKey("coding_samples.id", ondelete="CASCADE"), primary_key=True
    )
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TopicRun(Base):
    """One grouping of uncoded comments into topics (TF-IDF and NMF): what it grouped,
    with which parameters, and how long it took."""

    __tablename__ = "topic_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), default=None
    )
    comments: Mapped[int] = mapped_column(Integer, default=0)
    # The parameters and the filter, as JSON.
    params: Mapped[str] = mapped_column(Text, default="{}")
    seconds: Mapped[float | None] = mapped_column(Float, default=None)


class Topic(Base):
    """A group of comments found by a run, shown with its top terms in each language and
    sample comments. Staff accept it (as a codebook code: its comments get that code),
    rename it, merge it into another or split it; `status` says which."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("topic_runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # its place in the run, from 1
    # proposed | accepted | merged | split
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    label_zh: Mapped[str | None] = mapped_column(String(128), default=None)
    label_en: Mapped[str | None] = mapped_column(String(128), default=None)
    # Top terms per language, as JSON: {"zh": [...], "en": [...]}.
    terms: Mapped[str] = mapped_column(Text, default="{}")
    size: Mapped[int] = mapped_column(Integer, default=0)
    # The ids of a few comments closest to its centre, as JSON: [12, 40, 7].
    samples: Mapped[str] = mapped_column(Text, default="[]")
    code: Mapped[str | None] = mapped_column(String(64), default=None)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
