"""The annual evaluation: figures entered on the desk (agencies' own indicators, leaders'
scores, bonus and penalty items), their audit trail, and the frozen snapshots of each
year's scores.

Nothing here is about a citizen: the people named are desk users (by username), so no
column is personal data in `civic.privacy`'s sense.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class IndicatorEntry(Base):
    """One month's value of one of an agency's own indicators, entered by its
    coordinator. A correction changes the value and clears the approval; the audit log
    keeps what it was. Only approved values count."""

    __tablename__ = "indicator_entries"
    __table_args__ = (UniqueConstraint("agency", "indicator", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    indicator: Mapped[str] = mapped_column(String(64))
    # The city-time month, "2026-03".
    period: Mapped[str] = mapped_column(String(7), index=True)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class EvaluationAdjustment(Base):
    """Points entered by the evaluation office for one agency and year: the leaders'
    evaluation (`kind` leaders), or one bonus or penalty item of the scheme (`kind`
    bonus | penalty, `item` its code), with the evidence. It counts once a second person
    has approved it, and stops counting when withdrawn."""

    __tablename__ = "evaluation_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    item: Mapped[str | None] = mapped_column(String(64), default=None)
    points: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class EvaluationAudit(Base):
    """One change to an entered figure: who did what, when, and the values (JSON)."""

    __tablename__ = "evaluation_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    # enter | correct | approve | withdraw
    action: Mapped[str] = mapped_column(String(16))
    # indicator (an IndicatorEntry) | adjustment (an EvaluationAdjustment)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")


class EvaluationSnapshot(Base):
    """One frozen version of a year's evaluation: the full result as JSON, the digests
    of its inputs and of its figures, and for a recomputation the operator's reason and
    the machine-readable diff from the version before. Rows are only ever added."""

    __tablename__ = "evaluation_snapshots"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    scheme_digest: Mapped[str] = mapped_column(String(64))
    inputs_digest: Mapped[str] = mapped_column(String(64))
    results_digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    diff: Mapped[str | None] = mapped_column(Text, default=None)
