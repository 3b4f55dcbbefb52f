"""The comment store: every free text a citizen gave, redacted, with where it came from
and the codes of the public-opinion analysis (civic.opinion)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Comment(Base):
    """One free text: a complaint's description (`source` complaint, `source_id` the
    ticket), a survey's open answer (survey, the answer), a window rating's comment
    (window, the rating) or the reason a ticket was reopened (reopen, the event). The
    source row is how erasure finds the citizen's comments; the text is stored redacted,
    never as typed. `month` is the city's calendar month ("2026-05"), for trends."""

    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    district: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    month: Mapped[str] = mapped_column(String(7), index=True)
    language: Mapped[str | None] = mapped_column(String(5), default=None)
    # The author's assurance level (civic.identity); "staff" for a reason staff gave.
    assurance: Mapped[str] = mapped_column(String(16), default="anonymous")
    text: Mapped[str] = mapped_column(Text, info={"personal": "redact"})
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

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
