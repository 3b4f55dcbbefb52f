"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL:
a column, index or constraint added to a model without its migration (or the other way
round) fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import engine_for
from storage.models import Base, ServiceWindow, WindowRating


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    with engine_for(database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_window_rating_holds_every_answer_of_the_hangzhou_scale(session: Session) -> None:
    window = ServiceWindow(code="water:hall:1", agency="water", hall="hall", number="1")
    session.add(window)
    session.flush()
    for score in ("satisfied", "basically_satisfied", "dissatisfied"):
        session.add(
            WindowRating(window_id=window.id, day="2026-06-01", scale="hangzhou", score=score)
        )
    session.commit()
    stored = sorted(session.scalars(select(WindowRating.score)))
    assert stored == ["basically_satisfied", "dissatisfied", "satisfied"]
