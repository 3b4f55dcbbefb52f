"""Trends over two years of hand-built comments, on SQLite and PostgreSQL: counts and
shares per code, agency, district and month; a comment counted under its accepted codes
in place of its suggested ones; the change on the year before with its p-value; the top
problems.

The data (cell = agency, district, month):

    2026  health/shangcheng/01   50: 20 suggested hospital-registration,
                                     20 suggested medical-cost,
                                     10 suggested medical-cost but accepted
                                        hospital-registration
          health/xihu/02         10: suggested hospital-registration
          transport/shangcheng/01 140: 100 suggested bus-frequency, 40 with no code
    2025  health/shangcheng/01   10: suggested hospital-registration
          transport/shangcheng/03 90: suggested bus-frequency

Hospital registration, worked by hand: 40 of 200 comments in 2026 (0.20), 10 of 100 in
2025 (0.10). Pooled p = 50/300 = 1/6; standard error = sqrt(1/6 × 5/6 × (1/200 + 1/100))
= sqrt(0.0020833) = 0.045644; z = (0.20 − 0.10) / 0.045644 = 2.1909; two-sided p-value =
2 × (1 − Φ(2.1909)) = 2 × (1 − 0.98577) = 0.02846.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.opinion import (
    Codebook,
    TrendRow,
    codebook_path,
    comment_totals,
    load_codebook,
    normal_cdf,
    top_problems,
    trend_table,
    two_proportion_p_value,
    year_over_year,
)
from storage.models import Comment, CommentCode

Spec = tuple[str, str, str, int, list[str], list[str]]
SPEC: list[Spec] = [
    # (agency, district, month, how many, suggested, accepted)
    ("health", "shangcheng", "2026-01", 20, ["hospital-registration"], []),
    ("health", "shangcheng", "2026-01", 20, ["medical-cost"], []),
    ("health", "shangcheng", "2026-01", 10, ["medical-cost"], ["hospital-registration"]),
    ("health", "xihu", "2026-02", 10, ["hospital-registration"], []),
    ("transport", "shangcheng", "2026-01", 100, ["bus-frequency"], []),
    ("transport", "shangcheng", "2026-01", 40, [], []),
    ("health", "shangcheng", "2025-01", 10, ["hospital-registration"], []),
    ("transport", "shangcheng", "2025-03", 90, ["bus-frequency"], []),
]


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


def _add(session: Session, spec: list[Spec], first_id: int = 1) -> None:
    source_id = first_id
    for agency, district, month, count, suggested, accepted in spec:
        year, number = (int(part) for part in month.split("-"))
        for _ in range(count):
            comment = Comment(
                source="complaint",
                source_id=source_id,
                agency=agency,
                district=district,
                created_at=datetime(year, number, 15, tzinfo=UTC),
                month=month,
                language="zh",
                assurance="anonymous",
                text="…",
            )
            source_id += 1
            session.add(comment)
            session.flush()
            session.add_all(
                [CommentCode(comment_id=comment.id, kind="suggested", code=c) for c in suggested]
                + [CommentCode(comment_id=comment.id, kind="accepted", code=c) for c in accepted]
            )
    session.commit()


@pytest.fixture
def comments(session: Session) -> Session:
    _add(session, SPEC)
    return session


def _rows(table: list[TrendRow]) -> list[tuple[object, ...]]:
    return [
        (row.period, *row.cell.values(), row.count, row.accepted, row.total, round(row.share, 4))
        for row in table
    ]


def test_counts_and_shares_by_code_agency_district_and_month(
    comments: Session, codebook: Codebook
) -> None:
    table = trend_table(session=comments, codebook=codebook, year=2026)
    assert _rows(table) == [
        ("2026-01", "bus-frequency", "transport", "shangcheng", 100, 0, 140, 0.7143),
        ("2026-01", "hospital-registration", "health", "shangcheng", 30, 10, 50, 0.6),
        ("2026-01", "medical-cost", "health", "shangcheng", 20, 0, 50, 0.4),
        ("2026-02", "hospital-registration", "health", "xihu", 10, 0, 10, 1.0),
    ]
    assert table[1].suggested == 20


def test_by_code_per_year(comments: Session, codebook: Codebook) -> None:
    table = trend_table(session=comments, codebook=codebook, year=2026, by=("code",), grain="year")
    assert _rows(table) == [
        ("2026", "bus-frequency", 100, 0, 200, 0.5),
        ("2026", "hospital-registration", 40, 10, 200, 0.2),
        ("2026", "medical-cost", 20, 0, 200, 0.1),
    ]


def test_year_over_year_with_the_p_value_worked_out_above(
    comments: Session, codebook: Codebook
) -> None:
    changes = {c.code: c for c in year_over_year(session=comments, codebook=codebook, year=2026)}
    registration = changes["hospital-registration"]
    assert (
        registration.count,
        registration.last_count,
        registration.change,
        registration.share,
        registration.last_share,
        round(registration.share_change, 4),
        registration.accepted,
    ) == (40, 10, 30, 0.2, 0.1, 0.1, 10)
    assert registration.p_value == pytest.approx(0.02846, abs=1e-5)
    assert registration.label["en"] == "Long waits for registration"
    bus = changes["bus-frequency"]
    assert (bus.count, bus.last_count, bus.change, round(bus.share_change, 4)) == (
        100,
        90,
        10,
        -0.4,
    )
    # 0.5 against 0.9: pooled 190/300, z = −0.4 / 0.05903 = −6.776, p ≈ 1.2e-11
    assert bus.p_value is not None and bus.p_value < 1e-10
    assert (changes["medical-cost"].last_count, changes["medical-cost"].change) == (0, 20)


def test_top_problems_rank_codes_by_count(comments: Session, codebook: Codebook) -> None:
    top = top_problems(session=comments, codebook=codebook, year=2026, limit=2)
    assert [(c.code, c.count, c.change) for c in top] == [
        ("bus-frequency", 100, 10),
        ("hospital-registration", 40, 30),
    ]
    health = top_problems(session=comments, codebook=codebook, year=2026, agency="health")
    assert [(c.code, c.count, c.total, c.last_count, c.last_total) for c in health] == [
        ("hospital-registration", 40, 60, 10, 10),
        ("medical-cost", 20, 60, 0, 10),
    ]


def test_a_year_without_comments_has_no_p_value(comments: Session, codebook: Codebook) -> None:
    changes = year_over_year(session=comments, codebook=codebook, year=2025)
    assert [(c.code, c.count, c.last_total, c.p_value) for c in changes] == [
        ("bus-frequency", 90, 0, None),
        ("hospital-registration", 10, 0, None),
    ]


def test_the_z_test_and_normal_cdf() -> None:
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-6)
    assert two_proportion_p_value(40, 200, 10, 100) == pytest.approx(0.02846, abs=1e-5)
    assert two_proportion_p_value(0, 10, 0, 10) is None
    assert two_proportion_p_value(1, 0, 1, 10) is None


def test_by_must_hold_the_code(comments: Session, codebook: Codebook) -> None:
    with pytest.raises(ValueError, match="'by' must hold 'code'"):
        trend_table(session=comments, codebook=codebook, year=2026, by=("agency",))


def test_rolled_up_to_themes_a_comment_counts_once_per_theme(
    comments: Session, codebook: Codebook
) -> None:
    # five more 2026 comments, each under two codes of the health theme
    _add(
        comments,
        [("health", "xihu", "2026-02", 5, ["hospital-registration", "medical-cost"], [])],
        first_id=1000,
    )
    codes = trend_table(session=comments, codebook=codebook, year=2026, by=("code",), grain="year")
    assert [(r.cell["code"], r.count) for r in codes] == [
        ("bus-frequency", 100),
        ("hospital-registration", 45),
        ("medical-cost", 25),
    ]
    themes = trend_table(
        session=comments, codebook=codebook, year=2026, by=("code",), grain="year", level="theme"
    )
    assert _rows(themes) == [
        ("2026", "health", 65, 10, 205, 0.3171),
        ("2026", "public-transport", 100, 0, 205, 0.4878),
    ]
    top = top_problems(session=comments, codebook=codebook, year=2026, level="theme")
    assert [(c.code, c.count, c.last_count, c.label["en"]) for c in top] == [
        ("public-transport", 100, 90, "Public transport"),
        ("health", 65, 10, "Health care"),
    ]


def test_limited_to_assurance_levels(comments: Session, codebook: Codebook) -> None:
    # ten 2026 comments from verified phones; everything else is anonymous
    _add(comments, [("environment", "xihu", "2026-03", 10, ["noise"], [])], first_id=2000)
    verified = comments.scalars(select(Comment).where(Comment.source_id >= 2000)).all()
    for comment in verified:
        comment.assurance = "verified_phone"
    comments.commit()
    top = top_problems(
        session=comments, codebook=codebook, year=2026, assurance=["verified_phone", "invited"]
    )
    assert [(c.code, c.count, c.total, c.last_total, c.p_value) for c in top] == [
        ("noise", 10, 10, 0, None)
    ]
    anonymous = top_problems(
        session=comments, codebook=codebook, year=2026, assurance=["anonymous"]
    )
    assert [(c.code, c.count, c.total) for c in anonymous] == [
        ("bus-frequency", 100, 200),
        ("hospital-registration", 40, 200),
        ("medical-cost", 20, 200),
    ]


def test_one_codes_rows_and_the_n_of_every_month(comments: Session, codebook: Codebook) -> None:
    registration = trend_table(
        session=comments, codebook=codebook, year=2026, by=("code",), code="hospital-registration"
    )
    assert _rows(registration) == [
        ("2026-01", "hospital-registration", 30, 10, 190, 0.1579),
        ("2026-02", "hospital-registration", 10, 0, 10, 1.0),
    ]
    # at the theme level a theme's rows hold its codes' comments, each comment once
    health = trend_table(
        session=comments,
        codebook=codebook,
        year=2026,
        by=("code",),
        grain="year",
        level="theme",
        code="health",
    )
    assert _rows(health) == [("2026", "health", 60, 10, 200, 0.3)]
    assert comment_totals(session=comments, year=2026) == {"2026-01": 190, "2026-02": 10}
    assert comment_totals(session=comments, year=2025, grain="year", agency="health") == {
        "2025": 10
    }
    assert comment_totals(session=comments, year=2024) == {}
