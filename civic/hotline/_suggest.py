"""The assistant's suggestion for a caller's complaint: the routing a citizen's own
message would get (`civic.routing.route` over Rasa's ranking of complaint kinds and the
profile's gazetteer), with the next few categories as alternatives, each with the
agency it belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from civic.city import Profile
from civic.routing import Gazetteer, category_ranking, route

ALTERNATIVES = 3


@dataclass(frozen=True)
class Choice:
    category: str
    agency: str | None
    confidence: float


@dataclass(frozen=True)
class Suggestion:
    """`category` is None when there was no ranking (Rasa did not answer): the district
    still comes from the place."""

    category: str | None
    agency: str | None
    district: str | None
    confidence: float
    alternatives: list[Choice] = field(default_factory=list)


def suggest(
    profile: Profile,
    gazetteer: Gazetteer,
    *,
    description: str,
    place: str,
    parsed: Mapping[str, Any] | None,
) -> Suggestion:
    """The routing of `description` at `place`, from Rasa's parse of the description
    (None when Rasa could not be asked). The place is read first, so a district the
    operator typed there wins over one the caller mentioned in passing."""
    text = f"{place}\n{description}".strip()
    if parsed is None:
        district = gazetteer.find_district(place) or gazetteer.find_district(description)
        return Suggestion(None, None, district.code if district else None, 0.0)
    decision = route(profile, gazetteer, text=text, ranking=category_ranking(parsed))
    found = gazetteer.find_district(place) if place.strip() else None
    alternatives = [
        Choice(a.category, profile.categories[a.category].agency, a.confidence)
        for a in decision.alternatives[:ALTERNATIVES]
    ]
    return Suggestion(
        category=decision.category,
        agency=decision.agency,
        district=found.code if found else decision.district,
        confidence=decision.confidence,
        alternatives=alternatives,
    )
