"""Routing a complaint to a category, an agency and a district."""

from __future__ import annotations

from typing import Any

import pytest

from civic.city import Profile
from civic.routing import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Alternative,
    Gazetteer,
    RoutingDecision,
    category_ranking,
    is_unsure,
    route,
)

STREET_LIGHT_RANKING: list[dict[str, Any]] = [
    {"name": "complaint/street_light", "confidence": 0.9},
    {"name": "complaint/property_management", "confidence": 0.05},
    {"name": "greet", "confidence": 0.05},
]


@pytest.fixture
def gazetteer(profile: Profile) -> Gazetteer:
    return Gazetteer(profile)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("滨江区江南大道路灯坏了三盏", "binjiang"),
        ("three street lights are out on Jiangnan Avenue in Binjiang", "binjiang"),
        ("西湖文化广场有人摆摊", "gongshu"),
        ("小区垃圾三天没人收了", None),
        ("garbage piles up in XIHU DISTRICT", "xihu"),
        ("the pavement is broken on Jiangnan Avenue", "binjiang"),
    ],
)
def test_find_district(gazetteer: Gazetteer, text: str, expected: str | None) -> None:
    district = gazetteer.find_district(text)
    assert (district.code if district else None) == expected


def test_english_alias_needs_word_boundaries(gazetteer: Gazetteer) -> None:
    assert gazetteer.find_district("my neighbour Binjiangxyz is loud") is None


def test_find_places(gazetteer: Gazetteer) -> None:
    assert gazetteer.find_places("滨江区江南大道路灯坏了三盏") == ["江南大道"]


def test_route_with_a_category_intent(profile: Profile, gazetteer: Gazetteer) -> None:
    decision = route(
        profile, gazetteer, text="滨江区江南大道路灯坏了三盏", ranking=STREET_LIGHT_RANKING
    )
    assert decision == RoutingDecision(
        category="street-light",
        agency="urban-management",
        district="binjiang",
        confidence=0.9,
        alternatives=[Alternative("property-management", 0.05)],
        decided_by="nlu",
    )


def test_route_keeps_at_most_three_alternatives(profile: Profile, gazetteer: Gazetteer) -> None:
    codes = ["street-light", "road-damage", "pollution", "water-outage", "bus-service"]
    ranking = [
        {"name": "complaint/" + code.replace("-", "_"), "confidence": 0.5 - i / 10}
        for i, code in enumerate(codes)
    ]
    decision = route(profile, gazetteer, text="", ranking=ranking)
    assert [a.category for a in decision.alternatives] == codes[1:4]


def test_route_without_a_category_intent(profile: Profile, gazetteer: Gazetteer) -> None:
    ranking = [{"name": "greet", "confidence": 0.8}, {"name": "thanks", "confidence": 0.2}]
    decision = route(profile, gazetteer, text="小区垃圾三天没人收了", ranking=ranking)
    assert (decision.category, decision.agency, decision.district) == ("other", None, None)
    assert (decision.confidence, decision.alternatives) == (0.0, [])
    assert decision.decided_by == "nlu-unsure"


def test_route_below_the_threshold_is_unsure(profile: Profile, gazetteer: Gazetteer) -> None:
    ranking = [{"name": "complaint/pollution", "confidence": 0.3}]
    decision = route(profile, gazetteer, text="", ranking=ranking)
    assert (decision.category, decision.agency) == ("pollution", "environment")
    assert (decision.decided_by, is_unsure(decision)) == ("nlu-unsure", True)


def _decision(confidence: float) -> RoutingDecision:
    return RoutingDecision(category="other", agency=None, district=None, confidence=confidence)


def test_is_unsure_at_the_threshold() -> None:
    assert is_unsure(_decision(DEFAULT_CONFIDENCE_THRESHOLD)) is False
    assert is_unsure(_decision(DEFAULT_CONFIDENCE_THRESHOLD - 0.001)) is True
    assert is_unsure(_decision(0.7), threshold=0.8) is True


def test_route_at_the_threshold_is_decided(profile: Profile, gazetteer: Gazetteer) -> None:
    ranking = [{"name": "complaint/pollution", "confidence": DEFAULT_CONFIDENCE_THRESHOLD}]
    assert route(profile, gazetteer, text="", ranking=ranking).decided_by == "nlu"


def test_as_dict(profile: Profile, gazetteer: Gazetteer) -> None:
    ranking = [
        {"name": "complaint/street_light", "confidence": 0.912345678},
        {"name": "complaint/road_damage", "confidence": 0.0123456},
    ]
    decision = route(profile, gazetteer, text="Binjiang", ranking=ranking)
    assert decision.as_dict() == {
        "category": "street-light",
        "agency": "urban-management",
        "district": "binjiang",
        "confidence": 0.9123,
        "alternatives": [{"category": "road-damage", "confidence": 0.0123}],
    }


def test_category_ranking_reads_the_complaint_kinds_of_a_parse() -> None:
    parsed = {
        "intent": {"name": "suggestion", "confidence": 0.7},
        "response_selector": {
            "all_retrieval_intents": ["faq", "complaint"],
            "faq": {"ranking": [{"intent_response_key": "faq/privacy", "confidence": 0.9}]},
            "complaint": {
                "ranking": [
                    {"intent_response_key": "complaint/street_light", "confidence": 0.8},
                    {"intent_response_key": "complaint/road_damage", "confidence": 0.1},
                ]
            },
        },
    }
    assert category_ranking(parsed) == [
        {"name": "complaint/street_light", "confidence": 0.8},
        {"name": "complaint/road_damage", "confidence": 0.1},
    ]
    assert category_ranking({"intent": {"name": "greet"}}) == []


def test_a_parse_routes_by_its_complaint_kinds(profile: Profile, gazetteer: Gazetteer) -> None:
    parsed = {
        "response_selector": {
            "complaint": {
                "ranking": [{"intent_response_key": "complaint/bus_service", "confidence": 0.7}]
            }
        }
    }
    decision = route(profile, gazetteer, text="", ranking=category_ranking(parsed))
    assert (decision.category, decision.agency, decision.decided_by) == (
        "bus-service",
        "transport",
        "nlu",
    )
