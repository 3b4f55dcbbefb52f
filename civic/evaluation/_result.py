"""What a computation returns: each agency's score with every component's points and the
data behind them, the ranking, the bands, each district's scorecard, and the inputs the
figures were made from. `as_json()` is what a snapshot freezes; the digests say whether
two computations differ in their inputs or in their figures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from civic.i18n import localised

COMPONENT_ORDER = ("public", "targets", "leaders", "bonus", "penalty")
# A snapshot's JSON layout; raise it when the layout changes.
RESULT_FORMAT = 1


def digest(value: Any) -> str:
    """SHA-256 of the value as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ComponentScore:
    """One component's points (None: it could not be scored, see `details`), its maximum
    (for bonus and penalty, the cap), the rule it was scored by, and the figures behind
    it."""

    code: str
    points: float | None
    max_points: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "max_points": self.max_points,
            "method": self.method,
            **self.details,
        }


@dataclass
class AgencyScore:
    """An agency's score. `total` is None when a component could not be scored (no
    survey index, say): such an agency is listed, but not ranked or banded."""

    agency: str
    name: dict[str, str]
    components: dict[str, ComponentScore]
    indicators: list[dict[str, Any]]
    rank: int | None = None
    band: str | None = None

    @property
    def total(self) -> float | None:
        """Public + targets + leaders + bonus − penalty, each as published (2 decimals),
        so the published parts add up to the published total."""
        points = {code: c.points for code, c in self.components.items()}
        if any(value is None for value in points.values()):
            return None
        signs = {"penalty": -1.0}
        return round(sum(signs.get(code, 1.0) * (v or 0.0) for code, v in points.items()), 2)

    def points(self, component: str) -> float | None:
        return self.components[component].points

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)

    def as_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "name": self.name,
            "rank": self.rank,
            "band": self.band,
            "total": self.total,
            "components": {
                code: self.components[code].as_json()
                for code in COMPONENT_ORDER
                if code in self.components
            },
            "indicators": self.indicators,
        }


@dataclass(frozen=True)
class DistrictScorecard:
    """A district's or county's scorecard: its residents' satisfaction (the survey's
    index from the answers of those living there) and the indicators of the tickets
    filed there, against the targets where the scheme has them."""

    district: str
    name: dict[str, str]
    satisfaction: dict[str, Any]
    indicators: list[dict[str, Any]]

    def indicator(self, code: str) -> dict[str, Any]:
        return next(i for i in self.indicators if i["code"] == code)

    def as_json(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "name": self.name,
            "satisfaction": self.satisfaction,
            "indicators": self.indicators,
        }


@dataclass(frozen=True)
class EvaluationResult:
    """A year's evaluation. `agencies` are in ranking order (unranked ones last);
    `bands` maps each band's code to its agencies; `inputs` holds the figures every
    score was made from, per agency and district, and the scheme's digest."""

    year: int
    scheme: dict[str, Any]
    computed_at: str
    as_of: str
    counted_levels: tuple[str, ...]
    agencies: list[AgencyScore]
    districts: list[DistrictScorecard]
    bands: dict[str, list[str]]
    inputs: dict[str, Any]
    # What the office should know before publishing: {"code": ..., and its parameters}.
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def agency(self, code: str) -> AgencyScore:
        return next(score for score in self.agencies if score.agency == code)

    def district(self, code: str) -> DistrictScorecard:
        return next(card for card in self.districts if card.district == code)

    @property
    def ranking(self) -> list[str]:
        return [score.agency for score in self.agencies if score.rank is not None]

    @property
    def inputs_digest(self) -> str:
        return digest(self.inputs)

    @property
    def results_digest(self) -> str:
        """Of the figures only: when and as of when they were computed is left out."""
        figures = self.as_json()
        for key in ("computed_at", "as_of"):
            figures.pop(key)
        return digest(figures)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": RESULT_FORMAT,
            "year": self.year,
            "scheme": self.scheme,
            "computed_at": self.computed_at,
            "as_of": self.as_of,
            "counted_levels": list(self.counted_levels),
            "ranking": self.ranking,
            "bands": self.bands,
            "agencies": [score.as_json() for score in self.agencies],
            "districts": [card.as_json() for card in self.districts],
            "inputs": self.inputs,
            "warnings": self.warnings,
        }
