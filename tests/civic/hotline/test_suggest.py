"""The suggestion for a caller's complaint: Rasa's ranking of complaint kinds (as
`/model/parse` returns it) and the profile's places, read by the routing a citizen's chat
gets; nothing but the district when Rasa could not be asked."""

from __future__ import annotations

from civic.city import Profile
from civic.hotline import Choice, Suggestion, suggest
from civic.routing import Gazetteer
from tests.fakes.rasa import complaint_parse

RANKING = [
    ("street-light", 0.81),
    ("road-damage", 0.09),
    ("water-outage", 0.05),
    ("illegal-parking", 0.03),
    ("bus-service", 0.02),
]


def test_the_best_kind_its_agency_and_the_next_three_are_suggested(profile: Profile) -> None:
    text = "江南大道的路灯一到晚上就不亮"
    found = suggest(
        profile,
        Gazetteer(profile),
        description=text,
        place="",
        parsed=complaint_parse(text, RANKING),
    )
    assert found == Suggestion(
        category="street-light",
        agency="urban-management",
        district="binjiang",
        confidence=0.81,
        alternatives=[
            Choice("road-damage", "construction", 0.09),
            Choice("water-outage", "water", 0.05),
            Choice("illegal-parking", "traffic-police", 0.03),
        ],
    )


def test_the_place_the_operator_typed_wins_over_one_said_in_passing(profile: Profile) -> None:
    text = "我家在西湖区，上班路上那盏路灯坏了"  # a district's own name: routing alone takes it
    found = suggest(
        profile,
        Gazetteer(profile),
        description=text,
        place="江南大道 88 号",
        parsed=complaint_parse(text, RANKING[:1]),
    )
    assert (found.category, found.agency, found.district) == (
        "street-light",
        "urban-management",
        "binjiang",
    )
    assert found.alternatives == []


def test_without_rasa_only_the_district_is_suggested(profile: Profile) -> None:
    found = suggest(
        profile, Gazetteer(profile), description="路灯不亮", place="滨江区江南大道", parsed=None
    )
    assert found == Suggestion(None, None, "binjiang", 0.0)


def test_an_unranked_complaint_goes_to_the_office(profile: Profile) -> None:
    found = suggest(
        profile,
        Gazetteer(profile),
        description="something odd",
        place="",
        parsed=complaint_parse("something odd", []),
    )
    assert (found.category, found.agency, found.district) == ("other", None, None)
