"""The evaluation scheme of one year, as loaded from `profiles/<city>/evaluation/<year>.yml`
and checked (`civic.evaluation._loader`): what each component is worth, what feeds it and
how, the bonus and penalty items with their caps, the bands and the district scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from civic.i18n import localised

HIGHER, LOWER = "higher", "lower"
DIRECTIONS = (HIGHER, LOWER)
UNITS = ("share", "percent", "hours", "days", "count", "score", "points")
AGGREGATES = ("last", "mean", "sum")
SOURCES = ("survey", "windows", "tickets")
BAND_BASES = ("total", "public")
# The components every scheme has, and what their maxima must add up to.
COMPONENTS = ("public", "targets", "leaders")
FULL_MARKS = 100.0


@dataclass(frozen=True)
class SurveySource:
    """The sampled survey behind the public evaluation: its key, the question asked about
    each agency, the campaign (by name; None: the one of the survey that started in the
    year) and the fewest scored answers an index needs."""

    key: str
    question: str
    campaign: str | None
    min_n: int


@dataclass(frozen=True)
class Source:
    """One source of the public evaluation: its weight in the blend and the fewest
    ratings it needs to take part."""

    code: str
    weight: float
    min_count: int = 1


@dataclass(frozen=True)
class PublicComponent:
    name: dict[str, str]
    max_points: float
    survey: SurveySource
    sources: dict[str, Source]
    # Each rating scale's answers on 0-100: "hangzhou" (满意 …) and "stars" ("1".."5").
    scores: dict[str, dict[str, float]]


@dataclass(frozen=True)
class TargetIndicator:
    """One indicator of the targets component: its weight, its target (with per-agency
    overrides) and, for indicators computed from tickets, the fewest tickets behind a
    value that counts (fewer: the indicator does not apply and the others' weights grow)."""

    code: str
    weight: float
    target: float
    targets: dict[str, float] = field(default_factory=dict)
    min_n: int = 1

    def target_for(self, agency: str) -> float:
        return self.targets.get(agency, self.target)


@dataclass(frozen=True)
class TargetsComponent:
    name: dict[str, str]
    max_points: float
    indicators: tuple[TargetIndicator, ...]


@dataclass(frozen=True)
class LeadersComponent:
    name: dict[str, str]
    max_points: float


@dataclass(frozen=True)
class AgencyIndicator:
    """An indicator each agency's coordinator enters monthly, and how its months make the
    year's value: the last approved month, their mean or their sum."""

    code: str
    name: dict[str, str]
    unit: str
    direction: str
    aggregate: str


@dataclass(frozen=True)
class AdjustmentItem:
    """A bonus or penalty item: the most one entry may carry and the most all of an
    agency's entries of it together count for in a year."""

    code: str
    name: dict[str, str]
    max_points: float
    cap: float


@dataclass(frozen=True)
class Adjustments:
    """The bonus (or the penalty) points: the items and the cap on their sum."""

    kind: str
    name: dict[str, str]
    cap: float
    items: dict[str, AdjustmentItem]


@dataclass(frozen=True)
class Band:
    """The `top` (or `bottom`) agencies by total points or by public-evaluation index
    (`by`), among those at or above `min` (at or below `max`)."""

    code: str
    name: dict[str, str]
    by: str
    top: int | None = None
    bottom: int | None = None
    min: float | None = None
    max: float | None = None

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)


@dataclass(frozen=True)
class DistrictScorecardSpec:
    """What a district's scorecard holds: its residents' answers to `survey_question`
    (an index once `min_n` answered) and these ticket indicators."""

    survey_question: str
    min_n: int
    indicators: tuple[str, ...]


@dataclass(frozen=True)
class Scheme:
    year: int
    revision: int
    name: dict[str, str]
    path: Path
    # SHA-256 of the file's text: a snapshot says which scheme made it.
    digest: str
    agencies: tuple[str, ...]
    counted_levels: frozenset[str]
    public: PublicComponent
    targets: TargetsComponent
    leaders: LeadersComponent
    agency_indicators: dict[str, AgencyIndicator]
    bonus: Adjustments
    penalty: Adjustments
    bands: tuple[Band, ...]
    districts: DistrictScorecardSpec

    @property
    def max_bonus(self) -> float:
        return self.bonus.cap

    def adjustments(self, kind: str) -> Adjustments:
        if kind not in ("bonus", "penalty"):
            raise KeyError(kind)
        return self.bonus if kind == "bonus" else self.penalty
