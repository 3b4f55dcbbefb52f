"""Bulk loading on SQLite and PostgreSQL: ids handed out that nobody else gets, values
stored exactly (NULL, empty, tabs, newlines, backslashes, Chinese), the sequences
moved past the load, and a failed batch failing the load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.bulk import BulkLoad
from storage.models import Citizen, Feedback

COLUMNS = ("id", "public_id", "language", "phone", "assurance", "created_at", "erased_at")
AT = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
TEXTS = ["plain", "", "tab\there", "line\nbreak\r\n", "back\\slash \\N", '市民之家 "quoted"']


def test_rows_come_back_as_they_went_in(session: Session) -> None:
    session.add(Citizen(public_id="before"))
    session.flush()
    with BulkLoad(session.connection()) as load:
        citizens = load.ids(Citizen, 2)
        feedback = load.ids(Feedback, len(TEXTS))
        load.insert(
            Citizen,
            COLUMNS,
            [(i, f"bulk-{i}", "zh", None, "account", AT, None) for i in citizens],
        )
        load.insert(
            Feedback,
            ("id", "kind", "citizen_id", "text", "language", "assurance", "created_at", "read_at"),
            [
                (i, "praise", citizens[0], text, "zh", "account", AT, None)
                for i, text in zip(feedback, TEXTS, strict=True)
            ],
        )
    session.commit()
    stored = session.scalars(select(Feedback).order_by(Feedback.id)).all()
    assert [f.text for f in stored] == TEXTS
    assert {f.read_at for f in stored} == {None}
    assert stored[0].created_at.replace(tzinfo=UTC) == AT
    assert list(session.scalars(select(Citizen.public_id).order_by(Citizen.id))) == [
        "before",
        f"bulk-{citizens[0]}",
        f"bulk-{citizens[1]}",
    ]


def test_the_next_insert_gets_an_id_after_the_load(session: Session) -> None:
    with BulkLoad(session.connection()) as load:
        ids = load.ids(Citizen, 3)
        load.insert(
            Citizen, COLUMNS, [(i, f"bulk-{i}", "zh", None, "account", AT, None) for i in ids]
        )
    after = Citizen(public_id="after")
    session.add(after)
    session.flush()
    assert after.id > max(ids)


def test_asking_for_no_ids_takes_none(session: Session) -> None:
    with BulkLoad(session.connection()) as load:
        assert list(load.ids(Citizen, 0)) == []
        assert load.insert(Citizen, COLUMNS, []) == 0
    session.add(Citizen(public_id="first"))
    session.flush()
    assert session.scalars(select(Citizen.id)).one() == 1


def test_a_batch_that_fails_fails_the_load(session: Session) -> None:
    """On PostgreSQL the second batch fails in the background copier: the load raises
    its error all the same, at the latest when it ends."""
    row = ("same-id", "zh", None, "account", AT, None)
    with (
        pytest.raises(Exception, match=r"(?i)unique|duplicate"),
        BulkLoad(session.connection()) as load,
    ):
        first = load.ids(Citizen, 1)[0]
        load.insert(Citizen, COLUMNS, [(first, *row)])
        load.insert(Citizen, COLUMNS, [(first, *row)])
