"""Routing: from what the citizen said (the NLU's ranking of category intents and the
text itself) to a category, the responsible agency and the district."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from civic.city import COMPLAINT_INTENT, Category, District, Profile

# Below this confidence the citizen is asked to pick among the top categories.
DEFAULT_CONFIDENCE_THRESHOLD = 0.55


@dataclass(frozen=True)
class Alternative:
    category: str
    confidence: float


@dataclass(frozen=True)
class RoutingDecision:
    category: str
    agency: str | None
    district: str | None
    confidence: float
    alternatives: list[Alternative] = field(default_factory=list)
    decided_by: str = "nlu"

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "agency": self.agency,
            "district": self.district,
            "confidence": round(self.confidence, 4),
            "alternatives": [
                {"category": a.category, "confidence": round(a.confidence, 4)}
                for a in self.alternatives
            ],
        }


def _alias_pattern(alias: str) -> re.Pattern[str]:
    if re.search(r"[A-Za-z]", alias):
        return re.compile(r"(?<![A-Za-z])" + re.escape(alias) + r"(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(alias))


class Gazetteer:
    """Finds district names, aliases, roads and landmarks of a profile in free text."""

    def __init__(self, profile: Profile) -> None:
        entries: list[tuple[str, str, bool]] = []  # (alias, district, is_district_name)
        for district in profile.districts.values():
            for alias in {*district.name.values(), *district.aliases}:
                entries.append((alias, district.code, True))
        for place in profile.places:
            for alias in {*place.name.values(), *place.aliases}:
                entries.append((alias, place.district, False))
        # Longest first, so "西湖区" wins over "西湖" and "Jiangnan Avenue" over "Jiangnan".
        entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._entries = [(_alias_pattern(a), a, d, named) for a, d, named in entries if a]
        self._districts = profile.districts

    def _matches(self, text: str) -> list[tuple[str, str, bool]]:
        """(alias, district, is_district_name) for every mention, longest first. A name
        inside a longer one that matched ("西湖" in "西湖文化广场") does not count."""
        taken: list[tuple[int, int]] = []
        found = []
        for pattern, alias, district, is_district_name in self._entries:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < e and s < end for s, e in taken):
                    continue
                taken.append((start, end))
                found.append((alias, district, is_district_name))
        return found

    def find_district(self, text: str) -> District | None:
        """The district a message names: an explicit district name wins over a place."""
        matches = self._matches(text)
        for _alias, district, is_district_name in matches:
            if is_district_name:
                return self._districts[district]
        return self._districts[matches[0][1]] if matches else None

    def find_places(self, text: str) -> list[str]:
        """The place names (roads, landmarks) a message mentions, longest first."""
        return [
            alias for alias, _d, is_district_name in self._matches(text) if not is_district_name
        ]


def category_ranking(parsed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The complaint kinds of a Rasa parse result, best first, as `{"name":
    "complaint/<category>", "confidence": …}`: the ranking of the ResponseSelector trained
    on complaints alone. It scores every message, so a suggestion or an unsure message
    also has a closest kind of problem."""
    selector = (parsed.get("response_selector") or {}).get(COMPLAINT_INTENT) or {}
    return [
        {"name": item.get("intent_response_key"), "confidence": item.get("confidence")}
        for item in selector.get("ranking") or []
    ]


def rank_categories(profile: Profile, ranking: list[dict[str, Any]]) -> list[Alternative]:
    """The categories of a `category_ranking`, best first."""
    ranked = []
    for item in ranking:
        category = profile.category_for_intent(item.get("name"))
        if category is not None:
            ranked.append(Alternative(category.code, float(item.get("confidence") or 0.0)))
    return ranked


def route(
    profile: Profile,
    gazetteer: Gazetteer,
    *,
    text: str,
    ranking: list[dict[str, Any]],
    threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
) -> RoutingDecision:
    """Decide category, agency and district for one complaint message from its
    `category_ranking`.

    When no category is in the ranking the complaint goes to 'other', which the
    evaluation office triages by hand.
    """
    ranked = rank_categories(profile, ranking)
    best = ranked[0] if ranked else Alternative("other", 0.0)
    category: Category = profile.categories[best.category]
    district = gazetteer.find_district(text)
    return RoutingDecision(
        category=category.code,
        agency=category.agency,
        district=district.code if district else None,
        confidence=best.confidence,
        alternatives=ranked[1:4],
        decided_by="nlu" if best.confidence >= threshold else "nlu-unsure",
    )


def is_unsure(decision: RoutingDecision, threshold: float = DEFAULT_CONFIDENCE_THRESHOLD) -> bool:
    return decision.confidence < threshold
