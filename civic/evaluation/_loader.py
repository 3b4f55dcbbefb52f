"""Loading a year's evaluation scheme from the city profile, checked on the way in.

An error names the file and the entry at fault, as the profile's own errors do: the
component maxima add up to 100, the blend's and the targets' weights to 1, caps and
maxima are not negative, every indicator and assurance level is one we know, and every
band is either a top or a bottom with a sensible threshold.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from civic.city import Profile
from civic.errors import ProfileError
from civic.evaluation._indicators import BUILTIN
from civic.evaluation._scheme import (
    AGGREGATES,
    BAND_BASES,
    DIRECTIONS,
    FULL_MARKS,
    SOURCES,
    UNITS,
    AdjustmentItem,
    Adjustments,
    AgencyIndicator,
    Band,
    DistrictScorecardSpec,
    LeadersComponent,
    PublicComponent,
    Scheme,
    Source,
    SurveySource,
    TargetIndicator,
    TargetsComponent,
)
from civic.i18n import LANGUAGES
from civic.identity import INVITED, LEVELS

# Weights that must add up to 1 may be off by rounding this much.
WEIGHT_TOLERANCE = 1e-6
_RATING_SCALES = {
    "hangzhou": ("satisfied", "basically_satisfied", "dissatisfied"),
    "stars": ("1", "2", "3", "4", "5"),
}


class SchemeError(ProfileError):
    """The evaluation scheme is missing or wrong; the message names the file and entry."""


def scheme_path(profile: Profile, year: int) -> Path:
    return profile.path / "evaluation" / f"{year}.yml"


def load_scheme(path: Path, profile: Profile) -> Scheme:
    """Load and check the scheme in `path` against the profile's agencies; raise
    SchemeError naming the file and entry when it is wrong."""
    if not path.is_file():
        raise SchemeError(f"{path}: file is missing")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemeError(f"{path}: not valid yml: {exc}") from exc
    return _Reader(path, profile).scheme(_mapping(path, data, "top level"), text)


def _mapping(path: Path, value: Any, entry: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemeError(f"{path}: {entry}: expected a mapping, got {type(value).__name__}")
    return value


class _Reader:
    """Reads the scheme's sections, each check naming its entry."""

    def __init__(self, path: Path, profile: Profile) -> None:
        self.path = path
        self.profile = profile

    def fail(self, entry: str, problem: str) -> SchemeError:
        return SchemeError(f"{self.path}: {entry}: {problem}")

    def mapping(self, value: Any, entry: str) -> dict[str, Any]:
        return _mapping(self.path, value, entry)

    def section(self, data: dict[str, Any], key: str, entry: str) -> dict[str, Any]:
        if key not in data:
            raise self.fail(entry, f"'{key}' is required")
        return self.mapping(data[key], f"{entry}.{key}" if entry != "top level" else key)

    def number(
        self, data: dict[str, Any], key: str, entry: str, *, default: float | None = None
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(entry, f"'{key}' must be a number")
        if value < 0:
            raise self.fail(entry, f"'{key}' must not be negative")
        return float(value)

    def whole(self, data: dict[str, Any], key: str, entry: str, *, default: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(entry, f"'{key}' must be a whole number above 0")
        return value

    def texts(self, data: dict[str, Any], key: str, entry: str) -> dict[str, str]:
        value = data.get(key)
        if not isinstance(value, dict):
            raise self.fail(entry, f"'{key}' needs a text in each of {', '.join(LANGUAGES)}")
        for lang in LANGUAGES:
            if not isinstance(value.get(lang), str) or not value[lang].strip():
                raise self.fail(entry, f"'{key}' needs a non-empty '{lang}' text")
        return {lang: value[lang] for lang in LANGUAGES}

    def choice(self, data: dict[str, Any], key: str, entry: str, options: Iterable[str]) -> str:
        allowed = tuple(options)
        if data.get(key) not in allowed:
            raise self.fail(entry, f"'{key}' must be one of {', '.join(allowed)}")
        return str(data[key])

    def items(self, data: dict[str, Any], key: str, entry: str) -> list[dict[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(entry, f"expected a non-empty list under '{key}'")
        return [self.mapping(item, f"{entry}.{key}[{i}]") for i, item in enumerate(value)]

    def agency(self, code: Any, entry: str) -> str:
        if code not in self.profile.agencies:
            raise self.fail(entry, f"unknown agency '{code}'")
        return str(code)

    def weights_sum_to_one(self, weights: Iterable[float], entry: str) -> None:
        total = sum(weights)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise self.fail(entry, f"the weights sum to {total:g}, not 1")

    # -- the sections ----------------------------------------------------------------

    def scheme(self, data: dict[str, Any], text: str) -> Scheme:
        year = data.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise self.fail("top level", "'year' must be a year such as 2026")
        if self.path.stem != str(year):
            raise self.fail("top level", f"'year' is {year} but the file is {self.path.name}")
        components = self.section(data, "components", "top level")
        counted = self.levels(data)
        agency_indicators = self.agency_indicators(data)
        public = self.public(self.section(components, "public", "components"))
        if INVITED not in counted:
            raise self.fail(
                "counted_levels", "the sampled survey's answers are 'invited': count that level"
            )
        targets = self.targets(self.section(components, "targets", "components"), agency_indicators)
        leaders_data = self.section(components, "leaders", "components")
        leaders = LeadersComponent(
            name=self.texts(leaders_data, "name", "components.leaders"),
            max_points=self.number(leaders_data, "max_points", "components.leaders"),
        )
        maxima = public.max_points + targets.max_points + leaders.max_points
        if abs(maxima - FULL_MARKS) > WEIGHT_TOLERANCE:
            raise self.fail("components", f"the maxima sum to {maxima:g}, not {FULL_MARKS:g}")
        return Scheme(
            year=year,
            revision=self.whole(data, "revision", "top level", default=1),
            name=self.texts(data, "name", "top level"),
            path=self.path,
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            agencies=self.assessed(data),
            counted_levels=counted,
            public=public,
            targets=targets,
            leaders=leaders,
            agency_indicators=agency_indicators,
            bonus=self.adjustments(data, "bonus"),
            penalty=self.adjustments(data, "penalty"),
            bands=self.bands(data),
            districts=self.district_scorecard(data),
        )

    def assessed(self, data: dict[str, Any]) -> tuple[str, ...]:
        value = data.get("agencies", "all")
        if value == "all":
            return tuple(self.profile.agencies)
        if not isinstance(value, list) or not value:
            raise self.fail("agencies", "must be 'all' or a list of agency codes")
        codes = [self.agency(code, f"agencies[{i}]") for i, code in enumerate(value)]
        if len(set(codes)) != len(codes):
            raise self.fail("agencies", "an agency is listed twice")
        return tuple(codes)

    def levels(self, data: dict[str, Any]) -> frozenset[str]:
        value = data.get("counted_levels")
        if value is None:
            return self.profile.integrity.counted_levels
        if not isinstance(value, list) or not value:
            raise self.fail("counted_levels", "must be a list of assurance levels")
        unknown = sorted({str(v) for v in value} - set(LEVELS))
        if unknown:
            raise self.fail(
                "counted_levels",
                f"unknown assurance level '{unknown[0]}' (known: {', '.join(LEVELS)})",
            )
        return frozenset(str(v) for v in value)

    def public(self, data: dict[str, Any]) -> PublicComponent:
        entry = "components.public"
        survey = self.section(data, "survey", entry)
        where = f"{entry}.survey"
        for key in ("key", "question"):
            if not isinstance(survey.get(key), str) or not survey[key].strip():
                raise self.fail(where, f"'{key}' is required")
        campaign = survey.get("campaign")
        if campaign is not None and not isinstance(campaign, str):
            raise self.fail(where, "'campaign' must be a campaign's name")
        sources_data = self.section(data, "sources", entry)
        if "survey" not in sources_data:
            raise self.fail(f"{entry}.sources", "the survey is the base: give it a weight")
        sources = {}
        for code, item in sources_data.items():
            at = f"{entry}.sources.{code}"
            if code not in SOURCES:
                raise self.fail(at, f"unknown source (known: {', '.join(SOURCES)})")
            item = self.mapping(item, at)
            weight = self.number(item, "weight", at)
            sources[code] = Source(code, weight, self.whole(item, "min_count", at, default=1))
        self.weights_sum_to_one((s.weight for s in sources.values()), f"{entry}.sources")
        return PublicComponent(
            name=self.texts(data, "name", entry),
            max_points=self.number(data, "max_points", entry),
            survey=SurveySource(
                key=survey["key"],
                question=survey["question"],
                campaign=campaign,
                min_n=self.whole(survey, "min_n", where, default=1),
            ),
            sources=sources,
            scores=self.scores(data.get("scores") or {}, f"{entry}.scores"),
        )

    def scores(self, data: Any, entry: str) -> dict[str, dict[str, float]]:
        data = self.mapping(data, entry)
        defaults = {
            "hangzhou": {"satisfied": 100, "basically_satisfied": 80, "dissatisfied": 0},
            "stars": {"1": 0, "2": 25, "3": 50, "4": 75, "5": 100},
        }
        scales = {}
        for scale, answers in _RATING_SCALES.items():
            given = self.mapping(data.get(scale, defaults[scale]), f"{entry}.{scale}")
            given = {str(k): v for k, v in given.items()}
            if sorted(given) != sorted(answers):
                raise self.fail(
                    f"{entry}.{scale}", f"give a score for each of {', '.join(answers)}"
                )
            for answer in answers:
                score = self.number(given, answer, f"{entry}.{scale}")
                if score > 100:
                    raise self.fail(f"{entry}.{scale}", f"'{answer}' must be from 0 to 100")
            scales[scale] = {answer: float(given[answer]) for answer in answers}
        return scales

    def targets(
        self, data: dict[str, Any], agency_indicators: dict[str, AgencyIndicator]
    ) -> TargetsComponent:
        entry = "components.targets"
        indicators: list[TargetIndicator] = []
        for i, item in enumerate(self.items(data, "indicators", entry)):
            code = item.get("code")
            at = f"{entry}.indicators[{i}]"
            if code not in BUILTIN and code not in agency_indicators:
                raise self.fail(at, f"unknown indicator '{code}'")
            at = f"{entry}.indicator '{code}'"
            if any(found.code == code for found in indicators):
                raise self.fail(at, "listed twice")
            target = self.number(item, "target", at)
            if target == 0:
                raise self.fail(at, "'target' must be above 0")
            overrides = self.mapping(item.get("targets") or {}, f"{at}.targets")
            per_agency = {}
            for agency in overrides:
                per_agency[self.agency(agency, f"{at}.targets")] = self.number(
                    overrides, agency, f"{at}.targets"
                )
                if per_agency[agency] == 0:
                    raise self.fail(f"{at}.targets", f"the target for '{agency}' must be above 0")
            indicators.append(
                TargetIndicator(
                    code=str(code),
                    weight=self.number(item, "weight", at),
                    target=target,
                    targets=per_agency,
                    min_n=self.whole(item, "min_n", at, default=1),
                )
            )
        self.weights_sum_to_one((i.weight for i in indicators), f"{entry}.indicators")
        return TargetsComponent(
            name=self.texts(data, "name", entry),
            max_points=self.number(data, "max_points", entry),
            indicators=tuple(indicators),
        )

    def agency_indicators(self, data: dict[str, Any]) -> dict[str, AgencyIndicator]:
        found: dict[str, AgencyIndicator] = {}
        if not data.get("agency_indicators"):
            return found
        for i, item in enumerate(self.items(data, "agency_indicators", "top level")):
            code = item.get("code")
            if not isinstance(code, str) or not code.strip():
                raise self.fail(f"agency_indicators[{i}]", "'code' is required")
            entry = f"agency indicator '{code}'"
            if code in found or code in BUILTIN:
                raise self.fail(entry, "the code is already an indicator")
            found[code] = AgencyIndicator(
                code=code,
                name=self.texts(item, "name", entry),
                unit=self.choice(item, "unit", entry, UNITS),
                direction=self.choice(item, "direction", entry, DIRECTIONS),
                aggregate=self.choice(item, "aggregate", entry, AGGREGATES),
            )
        return found

    def adjustments(self, data: dict[str, Any], kind: str) -> Adjustments:
        section = self.section(data, kind, "top level")
        cap = self.number(section, "cap", kind)
        items: dict[str, AdjustmentItem] = {}
        for i, item in enumerate(self.items(section, "items", kind)):
            code = item.get("code")
            if not isinstance(code, str) or not code.strip():
                raise self.fail(f"{kind}.items[{i}]", "'code' is required")
            entry = f"{kind} item '{code}'"
            if code in items:
                raise self.fail(entry, "duplicate code")
            max_points = self.number(item, "max_points", entry)
            item_cap = self.number(item, "cap", entry, default=max_points)
            if max_points == 0 or max_points > item_cap:
                raise self.fail(entry, "'max_points' must be above 0 and at most 'cap'")
            name = self.texts(item, "name", entry)
            items[code] = AdjustmentItem(code, name, max_points, item_cap)
        return Adjustments(kind, self.texts(section, "name", kind), cap, items)

    def bands(self, data: dict[str, Any]) -> tuple[Band, ...]:
        if not data.get("bands"):
            return ()
        bands: list[Band] = []
        for i, item in enumerate(self.items(data, "bands", "top level")):
            code = item.get("code")
            if not isinstance(code, str) or not code.strip():
                raise self.fail(f"bands[{i}]", "'code' is required")
            entry = f"band '{code}'"
            if any(band.code == code for band in bands):
                raise self.fail(entry, "duplicate code")
            bands.append(self.band(item, code, entry))
        return tuple(bands)

    def band(self, item: dict[str, Any], code: str, entry: str) -> Band:
        if ("top" in item) == ("bottom" in item):
            raise self.fail(entry, "give either 'top' or 'bottom' (how many agencies)")
        side = "top" if "top" in item else "bottom"
        count = self.whole(item, side, entry, default=0)
        limit_key, other = ("min", "max") if side == "top" else ("max", "min")
        if other in item:
            raise self.fail(entry, f"a {side} band takes '{limit_key}', not '{other}'")
        limit = self.number(item, limit_key, entry) if limit_key in item else None
        return Band(
            code=code,
            name=self.texts(item, "name", entry),
            by=self.choice(item | {"by": item.get("by", "total")}, "by", entry, BAND_BASES),
            top=count if side == "top" else None,
            bottom=count if side == "bottom" else None,
            min=limit if side == "top" else None,
            max=limit if side == "bottom" else None,
        )

    def district_scorecard(self, data: dict[str, Any]) -> DistrictScorecardSpec:
        entry = "district_scorecard"
        section = self.section(data, entry, "top level")
        question = section.get("survey_question")
        if not isinstance(question, str) or not question.strip():
            raise self.fail(entry, "'survey_question' is required")
        codes = section.get("indicators")
        if not isinstance(codes, list) or not codes:
            raise self.fail(entry, "expected a non-empty list under 'indicators'")
        for i, code in enumerate(codes):
            if code not in BUILTIN:
                raise self.fail(
                    f"{entry}.indicators[{i}]",
                    f"unknown indicator '{code}' (a district has the ticket indicators: "
                    f"{', '.join(BUILTIN)})",
                )
        return DistrictScorecardSpec(
            survey_question=question,
            min_n=self.whole(section, "min_n", entry, default=1),
            indicators=tuple(str(code) for code in codes),
        )
