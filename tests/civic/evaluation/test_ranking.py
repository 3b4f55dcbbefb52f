"""Ranking and bands: shared ranks for equal totals, unranked agencies last, ties at a
band's edge all in, thresholds, and an agency in one band only."""

from __future__ import annotations

from typing import Any

from civic.evaluation import AgencyScore, Band, ComponentScore
from civic.evaluation._ranking import assign_bands, rank


def score(
    agency: str, total: float | None, public: float = 40.0, index: float = 80.0
) -> AgencyScore:
    parts = {
        "public": ComponentScore("public", public, 50, "-", {"index": index}),
        "targets": ComponentScore("targets", None if total is None else total - public, 45, "-"),
    }
    return AgencyScore(
        agency=agency, name={"zh": agency, "en": agency}, components=parts, indicators=[]
    )


def band(code: str, by: str = "total", **rule: Any) -> Band:
    return Band(code=code, name={"zh": code, "en": code}, by=by, **rule)


def test_equal_totals_share_a_rank_and_agencies_without_a_total_come_last() -> None:
    ranked = rank([score("d", None), score("a", 80), score("b", 90), score("c", 80, public=45)])
    assert [(s.agency, s.rank) for s in ranked] == [("b", 1), ("c", 2), ("a", 2), ("d", None)]


def test_ties_at_the_edge_are_all_in_and_thresholds_apply() -> None:
    ranked = rank([score("a", 95), score("b", 88), score("c", 88), score("d", 84), score("e", 60)])
    bands = assign_bands([band("good", top=2, min=85), band("poor", bottom=2, max=70)], ranked)
    assert bands == {"good": ["a", "b", "c"], "poor": ["e"]}
    assert [s.band for s in ranked] == ["good", "good", "good", None, "poor"]


def test_an_agency_stays_in_the_first_band_it_qualifies_for() -> None:
    ranked = rank([score("a", 90), score("b", 80)])
    assert assign_bands([band("good", top=2), band("poor", bottom=1)], ranked) == {
        "good": ["a", "b"],
        "poor": [],
    }


def test_a_band_by_public_evaluation() -> None:
    ranked = rank([score("a", 90, index=70), score("b", 80, index=95), score("c", None, index=99)])
    assert assign_bands([band("liked", top=1, by="public")], ranked) == {"liked": ["c"]}
