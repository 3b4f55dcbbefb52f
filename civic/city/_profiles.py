"""City profiles: everything city-specific, loaded from `profiles/<city>/` and validated.

A profile error names the file and the entry at fault, so whoever edits the data can fix it
without reading this code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from civic.city._office_hours import OfficeHours, parse_office_hours
from civic.errors import ProfileError
from civic.i18n import LANGUAGES, localised
from civic.identity import DEFAULT_COUNTED, parse_levels

PLACE_KINDS = ("road", "landmark", "area")
# The intent of every complaint; its kind is the retrieval intent `complaint/<category>`.
COMPLAINT_INTENT = "complaint"


@dataclass(frozen=True)
class Agency:
    code: str
    name: dict[str, str]
    # What citizens call it: short names, its staff, its offices ("城管", "cops").
    aliases: tuple[str, ...] = ()
    # What it looks after, per language ("地铁", "metro"): where an idea that names no
    # agency goes. Complaint kinds' keywords count too; these add what ideas are about.
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)


@dataclass(frozen=True)
class Category:
    code: str
    agency: str | None
    target_hours: int
    name: dict[str, str]
    description: dict[str, str]
    keywords: dict[str, list[str]]

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)

    @property
    def intent(self) -> str:
        """The retrieval intent that stands for this category: `complaint/<code>`, chosen by
        the ResponseSelector for complaints (the intent classifier only says `complaint`)."""
        return COMPLAINT_INTENT + "/" + self.code.replace("-", "_")


@dataclass(frozen=True)
class District:
    code: str
    name: dict[str, str]
    aliases: tuple[str, ...]
    geometry: BaseGeometry = field(repr=False, compare=False)

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)


@dataclass(frozen=True)
class Place:
    name: dict[str, str]
    aliases: tuple[str, ...]
    kind: str
    district: str
    lat: float | None
    long: float | None


@dataclass(frozen=True)
class Integrity:
    """What counts in published figures: the assurance levels whose ratings and answers
    feed a department's score, and how many window ratings an hour a window can plausibly
    receive (more are held for review)."""

    counted_levels: frozenset[str] = DEFAULT_COUNTED
    window_ratings_per_hour: int = 60


def _load_integrity(reader: _Reader, meta: dict[str, Any]) -> Integrity:
    raw = meta.get("integrity")
    if raw is None:
        return Integrity()
    section = reader.mapping(raw, "integrity")
    levels = section.get("counted_levels", sorted(DEFAULT_COUNTED))
    if not isinstance(levels, list):
        raise reader.fail("integrity.counted_levels", "must be a list of assurance levels")
    try:
        counted = parse_levels(levels, "integrity.counted_levels")
    except ValueError as exc:
        raise ProfileError(f"{reader.path}: {exc}") from exc
    per_hour = section.get("window_ratings_per_hour", 60)
    if not isinstance(per_hour, int) or isinstance(per_hour, bool) or per_hour < 1:
        raise reader.fail("integrity.window_ratings_per_hour", "must be a whole number above 0")
    return Integrity(counted_levels=counted, window_ratings_per_hour=per_hour)


@dataclass(frozen=True)
class Profile:
    code: str
    name: dict[str, str]
    ticket_prefix: str
    timezone: str
    center: tuple[float, float]
    agencies: dict[str, Agency]
    categories: dict[str, Category]
    districts: dict[str, District]
    places: tuple[Place, ...]
    path: Path
    office_hours: OfficeHours | None = None
    integrity: Integrity = field(default_factory=lambda: Integrity())
    # The city's telephone hotline, named where the assistant must send a citizen on.
    hotline: str | None = None

    def category_for_intent(self, intent: str | None) -> Category | None:
        """The category of a `complaint/<code>` retrieval intent, None for anything else."""
        prefix = COMPLAINT_INTENT + "/"
        if not intent or not intent.startswith(prefix):
            return None
        return self.categories.get(intent.removeprefix(prefix).replace("_", "-"))

    def district_at(self, lat: float, long: float) -> District | None:
        """The district whose boundary holds the point, or None outside the city."""
        point = Point(long, lat)
        for district in self.districts.values():
            if district.geometry.covers(point):
                return district
        return None


class _Reader:
    """Reads one file of a profile and reports errors with its path and entry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, entry: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.path}: {entry}: {problem}")

    def load(self) -> Any:
        if not self.path.is_file():
            raise ProfileError(f"{self.path}: file is missing")
        text = self.path.read_text(encoding="utf-8")
        try:
            if self.path.suffix == ".geojson":
                return json.loads(text)
            return yaml.safe_load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            raise ProfileError(f"{self.path}: not valid {self.path.suffix[1:]}: {exc}") from exc

    def mapping(self, value: Any, entry: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(entry, f"expected a mapping, got {type(value).__name__}")
        return value

    def required(self, item: dict[str, Any], key: str, entry: str) -> Any:
        if item.get(key) in (None, ""):
            raise self.fail(entry, f"'{key}' is required")
        return item[key]

    def texts(self, item: dict[str, Any], key: str, entry: str) -> dict[str, str]:
        value = self.mapping(self.required(item, key, entry), f"{entry}.{key}")
        for lang in LANGUAGES:
            if not isinstance(value.get(lang), str) or not value[lang].strip():
                raise self.fail(entry, f"'{key}' needs a non-empty '{lang}' text")
        return {lang: value[lang] for lang in LANGUAGES}

    def items(self, data: Any, key: str) -> list[dict[str, Any]]:
        data = self.mapping(data, "top level")
        items = data.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail("top level", f"expected a non-empty list under '{key}'")
        return [self.mapping(item, f"{key}[{i}]") for i, item in enumerate(items)]


def _load_agencies(path: Path) -> dict[str, Agency]:
    reader = _Reader(path)
    agencies: dict[str, Agency] = {}
    for i, item in enumerate(reader.items(reader.load(), "agencies")):
        code = str(reader.required(item, "code", f"agencies[{i}]"))
        entry = f"agency '{code}'"
        if code in agencies:
            raise reader.fail(entry, "duplicate code")
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise reader.fail(entry, "'aliases' must be a list of names")
        topics = reader.mapping(item.get("topics") or {}, f"{entry}.topics")
        for lang, words in topics.items():
            if lang not in LANGUAGES or not isinstance(words, list):
                raise reader.fail(entry, "'topics' maps zh and en to lists of words")
        agencies[code] = Agency(
            code=code,
            name=reader.texts(item, "name", entry),
            aliases=tuple(aliases),
            topics={lang: tuple(str(w) for w in topics.get(lang) or []) for lang in LANGUAGES},
        )
    return agencies


def _load_categories(path: Path, agencies: dict[str, Agency]) -> dict[str, Category]:
    reader = _Reader(path)
    categories: dict[str, Category] = {}
    for i, item in enumerate(reader.items(reader.load(), "categories")):
        code = str(reader.required(item, "code", f"categories[{i}]"))
        entry = f"category '{code}'"
        if code in categories:
            raise reader.fail(entry, "duplicate code")
        agency = item.get("agency")
        if agency is not None and agency not in agencies:
            raise reader.fail(entry, f"unknown agency '{agency}'")
        hours = item.get("target_hours")
        if not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0:
            raise reader.fail(entry, "'target_hours' must be a positive whole number")
        keywords = reader.mapping(item.get("keywords") or {}, f"{entry}.keywords")
        categories[code] = Category(
            code=code,
            agency=agency,
            target_hours=hours,
            name=reader.texts(item, "name", entry),
            description=reader.texts(item, "description", entry),
            keywords={lang: [str(k) for k in keywords.get(lang) or []] for lang in LANGUAGES},
        )
    if "other" not in categories:
        raise reader.fail("top level", "a category 'other' (the triage queue) is required")
    return categories


def _load_districts(path: Path) -> dict[str, District]:
    reader = _Reader(path)
    data = reader.mapping(reader.load(), "top level")
    features = data.get("features")
    if data.get("type") != "FeatureCollection" or not isinstance(features, list) or not features:
        raise reader.fail("top level", "expected a GeoJSON FeatureCollection with features")
    districts: dict[str, District] = {}
    for i, feature in enumerate(features):
        props = reader.mapping(feature.get("properties"), f"features[{i}].properties")
        code = str(reader.required(props, "code", f"features[{i}].properties"))
        entry = f"district '{code}'"
        if code in districts:
            raise reader.fail(entry, "duplicate code")
        try:
            geometry = shape(feature.get("geometry"))
        except Exception as exc:  # shapely raises several types for bad geometry
            raise reader.fail(entry, f"invalid geometry: {exc}") from exc
        if geometry.geom_type not in {"Polygon", "MultiPolygon"} or not geometry.is_valid:
            raise reader.fail(entry, "geometry must be a valid Polygon or MultiPolygon")
        name = {
            "zh": str(reader.required(props, "name_zh", entry)),
            "en": str(reader.required(props, "name_en", entry)),
        }
        aliases = tuple(str(a) for a in props.get("aliases") or [])
        districts[code] = District(code=code, name=name, aliases=aliases, geometry=geometry)
    return districts


def _load_places(path: Path, districts: dict[str, District]) -> tuple[Place, ...]:
    if not path.exists():
        return ()
    reader = _Reader(path)
    places = []
    for i, item in enumerate(reader.items(reader.load(), "places")):
        entry = f"places[{i}]"
        name = reader.texts(item, "name", entry)
        entry = f"place '{name['zh']}'"
        district = reader.required(item, "district", entry)
        if district not in districts:
            raise reader.fail(entry, f"unknown district '{district}'")
        kind = item.get("kind", "landmark")
        if kind not in PLACE_KINDS:
            raise reader.fail(entry, f"'kind' must be one of {', '.join(PLACE_KINDS)}")
        lat, long = item.get("lat"), item.get("long")
        places.append(
            Place(
                name=name,
                aliases=tuple(str(a) for a in item.get("aliases") or []),
                kind=kind,
                district=district,
                lat=float(lat) if lat is not None else None,
                long=float(long) if long is not None else None,
            )
        )
    return tuple(places)


def load_profile(path: Path) -> Profile:
    """Load and validate the profile in folder `path`; raise ProfileError when it is wrong."""
    if not path.is_dir():
        raise ProfileError(f"{path}: profile folder not found")
    reader = _Reader(path / "profile.yml")
    meta = reader.mapping(reader.load(), "top level")
    center = reader.mapping(reader.required(meta, "center", "top level"), "center")
    try:
        lat = float(reader.required(center, "lat", "center"))
        long = float(reader.required(center, "long", "center"))
    except (TypeError, ValueError) as exc:
        raise reader.fail("center", "'lat' and 'long' must be numbers") from exc
    agencies = _load_agencies(path / "agencies.yml")
    districts = _load_districts(path / "districts.geojson")
    return Profile(
        code=str(reader.required(meta, "code", "top level")),
        name=reader.texts(meta, "name", "top level"),
        ticket_prefix=str(reader.required(meta, "ticket_prefix", "top level")),
        timezone=str(meta.get("timezone") or "UTC"),
        center=(lat, long),
        agencies=agencies,
        categories=_load_categories(path / "categories.yml", agencies),
        districts=districts,
        places=_load_places(path / "gazetteer.yml", districts),
        path=path,
        office_hours=parse_office_hours(
            meta.get("office_hours"), str(meta.get("timezone") or "UTC"), str(path / "profile.yml")
        ),
        integrity=_load_integrity(reader, meta),
        hotline=str(meta["hotline"]) if meta.get("hotline") else None,
    )


@lru_cache(maxsize=4)
def get_profile(profiles_dir: Path, name: str) -> Profile:
    return load_profile(profiles_dir / name)
