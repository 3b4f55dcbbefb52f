"""The comment counts the trends read, on SQLite and PostgreSQL: they follow what changes
the comments after collection (an analyst's code, a rerouted ticket), not what leaves
the counts alone (an erasure, which redacts the text), and a rebuild gives the same rows
however often it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.opinion import (
    Codebook,
    accept_codes,
    codebook_path,
    collect_comments,
    load_codebook,
    rebuild_counts,
    refresh_counts,
    trend_table,
)
from civic.privacy import erase_citizen
from storage.models import Citizen, Comment, CommentCount, CommentCountCell, Ticket


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


@pytest.fixture
def collected(session: Session, profile: Profile, codebook: Codebook) -> Citizen:
    """A citizen's two complaints of May 2026, collected: one to health, one to transport."""
    citizen = Citizen(public_id="c1", assurance="verified_phone")
    session.add(citizen)
    session.flush()
    for text, agency, category in [
        ("医院挂号排队三个小时，电话13812345678", "health", "hospital-service"),
        ("公交车太少，等了四十分钟", "transport", "bus-service"),
    ]:
        session.add(
            Ticket(
                citizen_id=citizen.id,
                description=text,
                language="zh",
                category=category,
                agency=agency,
                district="xihu",
                status="received",
                created_at=datetime(2026, 5, 10, 2, 0, tzinfo=UTC),
            )
        )
    session.commit()
    collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    return citizen


def _table(session: Session, codebook: Codebook) -> list[tuple[object, ...]]:
    rows = trend_table(session=session, codebook=codebook, year=2026, by=("code", "agency"))
    return [(r.period, r.cell["code"], r.cell["agency"], r.count, r.accepted) for r in rows]


def _stored(session: Session) -> list[tuple[object, ...]]:
    """Every count row, in key order."""
    rows = session.scalars(select(CommentCount)).all()
    return sorted(
        (r.level, r.month, r.agency, r.district, r.source, r.assurance, r.code, r.counted, r.n)
        for r in rows
    )


def _dirty(session: Session) -> list[str]:
    """The cells to rebuild, as "month agency district"."""
    cells = session.scalars(select(CommentCountCell).where(CommentCountCell.dirty.is_(True)))
    return sorted(f"{c.month} {c.agency} {c.district}" for c in cells)


@pytest.mark.usefixtures("collected")
def test_counts_follow_a_code_accepted_after_collection(
    session: Session, codebook: Codebook
) -> None:
    assert _table(session, codebook) == [
        ("2026-05", "bus-frequency", "transport", 1, 0),
        ("2026-05", "hospital-registration", "health", 1, 0),
    ]
    comment = session.scalars(select(Comment).where(Comment.agency == "health")).one()
    accept_codes(session=session, comment=comment, codes=["medical-cost"], codebook=codebook)
    session.commit()
    assert _dirty(session) == ["2026-05 health xihu"]
    assert _table(session, codebook) == [
        ("2026-05", "bus-frequency", "transport", 1, 0),
        ("2026-05", "medical-cost", "health", 1, 1),
    ]
    assert _dirty(session) == []


@pytest.mark.usefixtures("collected")
def test_a_rerouted_tickets_comment_moves_in_the_counts(
    session: Session, profile: Profile, codebook: Codebook
) -> None:
    assert _table(session, codebook)[1] == ("2026-05", "hospital-registration", "health", 1, 0)
    ticket = session.scalars(select(Ticket).where(Ticket.agency == "health")).one()
    ticket.agency, ticket.category = "transport", "bus-service"
    session.commit()
    assert collect_comments(session=session, profile=profile, codebook=codebook).moved == 1
    session.commit()
    # it keeps the code its text suggests and gains the one its new category does
    assert _table(session, codebook) == [
        ("2026-05", "bus-frequency", "transport", 1, 0),
        ("2026-05", "hospital-registration", "transport", 1, 0),
        ("2026-05", "public-transport", "transport", 1, 0),
    ]


def test_an_erasure_redacts_the_text_and_changes_no_count(
    session: Session, collected: Citizen, codebook: Codebook
) -> None:
    before = _table(session, codebook)
    stored = _stored(session)
    session.commit()
    erase_citizen(session=session, citizen=collected)
    session.commit()
    assert _dirty(session) == []
    assert _stored(session) == stored
    assert _table(session, codebook) == before


@pytest.mark.usefixtures("collected")
def test_a_rebuild_gives_the_same_rows_however_often_it_runs(
    session: Session, codebook: Codebook
) -> None:
    assert refresh_counts(session=session, codebook=codebook) == ["2026-05"]
    stored = _stored(session)
    assert ("", "2026-05", "health", "xihu", "complaint", "verified_phone", "", "", 1) in stored
    assert ("theme", "2026-05", "health", "xihu", "complaint", "verified_phone", "health",
            "suggested", 1) in stored  # fmt: skip
    for _ in range(2):
        rebuild_counts(session=session, months=["2026-05"], codebook=codebook)
        session.commit()
        assert _stored(session) == stored
    assert refresh_counts(session=session, codebook=codebook) == []


@pytest.mark.usefixtures("collected")
def test_theme_rows_follow_the_codebooks_themes(session: Session, codebook: Codebook) -> None:
    def themes(book: Codebook) -> list[tuple[object, ...]]:
        rows = trend_table(
            session=session, codebook=book, year=2026, by=("code",), grain="year", level="theme"
        )
        return [(r.cell["code"], r.count) for r in rows]

    assert themes(codebook) == [("health", 1), ("public-transport", 1)]
    registration = replace(codebook.codes["hospital-registration"], parent="public-transport")
    regrouped = replace(codebook, codes={**codebook.codes, registration.code: registration})
    assert themes(regrouped) == [("public-transport", 2)]
    assert themes(codebook) == [("health", 1), ("public-transport", 1)]


@pytest.mark.usefixtures("collected")
def test_without_a_codebook_the_theme_rows_wait_for_one(
    session: Session, codebook: Codebook
) -> None:
    # comment_totals refreshes without a codebook: totals and code rows only
    assert refresh_counts(session=session) == ["2026-05"]
    assert refresh_counts(session=session) == []
    assert refresh_counts(session=session, codebook=codebook) == ["2026-05"]
    assert refresh_counts(session=session, codebook=codebook) == []


def test_a_comment_without_agency_or_district_is_counted_under_none(
    session: Session, collected: Citizen, profile: Profile, codebook: Codebook
) -> None:
    session.add(
        Ticket(
            citizen_id=collected.id,
            description="公交车太少",
            language="zh",
            category="other",
            status="received",
            created_at=datetime(2026, 5, 11, 2, 0, tzinfo=UTC),
        )
    )
    session.commit()
    collect_comments(session=session, profile=profile, codebook=codebook)
    session.commit()
    rows = trend_table(session=session, codebook=codebook, year=2026, by=("code", "district"))
    assert [(r.cell["code"], r.cell["district"], r.count, r.total) for r in rows] == [
        ("bus-frequency", None, 1, 1),
        ("bus-frequency", "xihu", 1, 2),
        ("hospital-registration", "xihu", 1, 2),
    ]


@pytest.mark.usefixtures("collected")
def test_one_code_at_the_theme_level_counts_its_comments_under_the_theme(
    session: Session, codebook: Codebook
) -> None:
    comment = session.scalars(select(Comment).where(Comment.agency == "transport")).one()
    accept_codes(session=session, comment=comment, codes=["medical-cost"], codebook=codebook)
    session.commit()
    rows = trend_table(
        session=session,
        codebook=codebook,
        year=2026,
        by=("code",),
        grain="year",
        level="theme",
        code="hospital-registration",
    )
    # of the health theme's two comments, the one under hospital registration
    assert [(r.cell["code"], r.count, r.accepted, r.total) for r in rows] == [("health", 1, 0, 2)]
