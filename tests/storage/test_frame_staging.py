"""The staging table of a registry import and its merge into the frame, on SQLite and
PostgreSQL: one table per connection, repeated ids found, the merge counted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from storage.db import session_factory
from storage.frame_staging import (
    _STAGING,
    close_staging,
    merge_staged,
    open_staging,
    repeated_ids,
    stage_rows,
)
from storage.models import FrameMember

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def row(line: int, external_id: str, district: str = "xihu", email: str | None = None) -> tuple:
    return (line, external_id, district, '{"age_band": "60+"}', None, email, f"Road {line}")


def test_merge_adds_in_file_order_updates_and_leaves_the_rest(session: Session) -> None:
    moved = FrameMember(kind="household", external_id="B", district="xihu", strata="{}")
    session.add(moved)
    kept = FrameMember(
        kind="household",
        external_id="C",
        district="xihu",
        strata='{"age_band": "60+"}',
        postal_address="Road 4",
        opted_out_at=NOW,
    )
    session.add(kept)
    session.commit()
    open_staging(session=session)
    stage_rows(session=session, rows=[row(2, "Z"), row(3, "B", "chunan")])
    stage_rows(session=session, rows=[row(4, "C"), row(5, "A", email="a@example.cn")])
    assert merge_staged(session=session, now=NOW) == (2, 1, 1)
    # The objects the session holds show the stored values.
    assert (moved.district, moved.postal_address) == ("chunan", "Road 3")
    close_staging(session=session)
    session.commit()
    members = session.scalars(select(FrameMember).order_by(FrameMember.id)).all()
    assert [(m.external_id, m.district, m.email) for m in members] == [
        ("B", "chunan", None),
        ("C", "xihu", None),
        ("Z", "xihu", None),
        ("A", "xihu", "a@example.cn"),
    ]
    assert kept.opted_out_at is not None  # the registry does not undo an opt-out
    assert members[0].strata == '{"age_band": "60+"}'
    assert (members[2].kind, members[2].created_at is not None) == ("household", True)


def test_repeated_ids_in_line_order_with_their_first_line(session: Session) -> None:
    open_staging(session=session)
    rows = [row(2, "A"), row(3, "B"), row(5, "A"), row(6, "C"), row(7, "B"), row(9, "A")]
    stage_rows(session=session, rows=rows)
    assert repeated_ids(session=session, limit=10) == ([(5, 2), (7, 3), (9, 2)], 3)
    assert repeated_ids(session=session, limit=2) == ([(5, 2), (7, 3)], 3)
    close_staging(session=session)


def test_each_connection_has_its_own_staging_table(database_url: str) -> None:
    make = session_factory(database_url)
    with make() as one, make() as two:
        open_staging(session=one)
        open_staging(session=two)
        stage_rows(session=one, rows=[row(2, "A"), row(3, "B")])
        stage_rows(session=two, rows=[row(2, "B"), row(3, "C"), row(4, "D")])
        count = select(func.count()).select_from(_STAGING)
        assert (one.scalar(count), two.scalar(count)) == (2, 3)
        assert repeated_ids(session=one, limit=5) == ([], 0)
        close_staging(session=one)
        assert inspect(one.connection()).get_temp_table_names() == []
        assert inspect(two.connection()).get_temp_table_names() == ["frame_import_staging"]
        close_staging(session=two)
        one.rollback()
        two.rollback()


def test_a_rolled_back_import_leaves_no_staging_table(session: Session) -> None:
    open_staging(session=session)
    stage_rows(session=session, rows=[row(2, "A")])
    session.rollback()
    assert inspect(session.connection()).get_temp_table_names() == []
    open_staging(session=session)  # and a new one can start on the same connection
    close_staging(session=session)
