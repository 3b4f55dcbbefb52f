"""Loading and validating city profiles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from shapely.geometry import Point

from civic.city import Profile, load_profile
from civic.errors import ProfileError
from civic.settings import PROJECT_ROOT

HANGZHOU = PROJECT_ROOT / "profiles" / "hangzhou"


def test_hangzhou_profile_loads(profile: Profile) -> None:
    counts = (len(profile.agencies), len(profile.categories), len(profile.districts))
    assert counts == (12, 22, 13)
    assert (profile.code, profile.ticket_prefix, profile.timezone) == (
        "hangzhou",
        "HZ",
        "Asia/Shanghai",
    )


def test_every_category_agency_exists(profile: Profile) -> None:
    agencies = {c.agency for c in profile.categories.values()} - {None}
    assert agencies - set(profile.agencies) == set()
    assert profile.categories["other"].agency is None


def test_labels_follow_the_language(profile: Profile) -> None:
    category = profile.categories["street-light"]
    assert (category.label("zh"), category.label("en-US")) == ("路灯故障", "Street lights")


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("complaint/street_light", "street-light"),
        ("complaint/taxi_ride_hailing", "taxi-ride-hailing"),
        ("complaint/other", "other"),
        ("complaint/unknown_thing", None),
        ("greet", None),
        (None, None),
    ],
)
def test_category_for_intent(profile: Profile, intent: str | None, expected: str | None) -> None:
    category = profile.category_for_intent(intent)
    assert (category.code if category else None) == expected


def test_category_intent_round_trips(profile: Profile) -> None:
    for code, category in profile.categories.items():
        assert profile.category_for_intent(category.intent) == profile.categories[code]


@pytest.mark.parametrize(
    ("lat", "long", "expected"),
    [(30.25, 120.14, "xihu"), (30.205, 120.21, "binjiang"), (31.23, 121.47, None)],
)
def test_district_at(profile: Profile, lat: float, long: float, expected: str | None) -> None:
    district = profile.district_at(lat, long)
    assert (district.code if district else None) == expected


def test_every_place_lies_in_its_district(profile: Profile) -> None:
    located = [p for p in profile.places if p.lat is not None and p.long is not None]
    wrong = [
        place.name["en"]
        for place in located
        if not profile.districts[place.district].geometry.covers(Point(place.long, place.lat))
    ]
    assert located != []
    assert wrong == []


# -- broken profiles ------------------------------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "hangzhou"
    shutil.copytree(HANGZHOU, target)
    return target


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(path: Path) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    return str(info.value)


def test_the_copy_loads(copy: Path) -> None:
    assert len(load_profile(copy).categories) == 22


def test_category_with_unknown_agency(copy: Path) -> None:
    path = copy / "categories.yml"
    _replace_once(path, "agency: urban-management", "agency: no-such-bureau")
    assert _error(copy) == f"{path}: category 'garbage-collection': unknown agency 'no-such-bureau'"


def test_agency_without_english_name(copy: Path) -> None:
    path = copy / "agencies.yml"
    _replace_once(path, "{zh: 城市管理局, en: City Management Bureau}", "{zh: 城市管理局}")
    assert _error(copy) == f"{path}: agency 'urban-management': 'name' needs a non-empty 'en' text"


def test_category_with_empty_english_name(copy: Path) -> None:
    path = copy / "categories.yml"
    _replace_once(path, "en: Street lights}", 'en: " "}')
    assert _error(copy) == f"{path}: category 'street-light': 'name' needs a non-empty 'en' text"


def test_invalid_yaml(copy: Path) -> None:
    path = copy / "categories.yml"
    path.write_text("categories: [\n  - code: x\n", encoding="utf-8")
    assert _error(copy).startswith(f"{path}: not valid yml: ")


def test_invalid_geojson(copy: Path) -> None:
    path = copy / "districts.geojson"
    path.write_text("{not json", encoding="utf-8")
    assert _error(copy).startswith(f"{path}: not valid geojson: ")


def test_missing_file(copy: Path) -> None:
    path = copy / "categories.yml"
    path.unlink()
    assert _error(copy) == f"{path}: file is missing"


def test_missing_folder(tmp_path: Path) -> None:
    assert _error(tmp_path / "atlantis") == f"{tmp_path / 'atlantis'}: profile folder not found"


def test_duplicate_category_code(copy: Path) -> None:
    path = copy / "categories.yml"
    _replace_once(path, "code: street-cleaning", "code: garbage-collection")
    assert _error(copy) == f"{path}: category 'garbage-collection': duplicate code"


def test_duplicate_agency_code(copy: Path) -> None:
    path = copy / "agencies.yml"
    _replace_once(path, "code: construction", "code: urban-management")
    assert _error(copy) == f"{path}: agency 'urban-management': duplicate code"


def test_duplicate_district_code(copy: Path) -> None:
    path = copy / "districts.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][1]["properties"]["code"] = "shangcheng"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _error(copy) == f"{path}: district 'shangcheng': duplicate code"


def test_center_without_longitude(copy: Path) -> None:
    path = copy / "profile.yml"
    _replace_once(path, "center: {lat: 30.274, long: 120.155}", "center: {lat: 30.274}")
    with pytest.raises(ProfileError) as info:
        load_profile(copy)
    assert str(info.value).startswith(f"{path}: center")


def _break_first_district(path: Path, geometry: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][0]["geometry"] = geometry
    path.write_text(json.dumps(data), encoding="utf-8")


def test_district_with_self_intersecting_polygon(copy: Path) -> None:
    path = copy / "districts.geojson"
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[120, 30], [121, 31], [121, 30], [120, 31], [120, 30]]],
    }
    _break_first_district(path, bowtie)
    assert _error(copy) == (
        f"{path}: district 'shangcheng': geometry must be a valid Polygon or MultiPolygon"
    )


def test_district_with_a_point_geometry(copy: Path) -> None:
    path = copy / "districts.geojson"
    _break_first_district(path, {"type": "Point", "coordinates": [120.1, 30.2]})
    assert _error(copy) == (
        f"{path}: district 'shangcheng': geometry must be a valid Polygon or MultiPolygon"
    )


def test_district_with_unreadable_geometry(copy: Path) -> None:
    path = copy / "districts.geojson"
    _break_first_district(path, {"type": "Polygon", "coordinates": "nowhere"})
    assert _error(copy).startswith(f"{path}: district 'shangcheng': invalid geometry: ")


def test_place_in_unknown_district(copy: Path) -> None:
    path = copy / "gazetteer.yml"
    _replace_once(path, "district: shangcheng", "district: atlantis")
    assert _error(copy) == f"{path}: place '湖滨': unknown district 'atlantis'"


def test_without_other_category(copy: Path) -> None:
    path = copy / "categories.yml"
    _replace_once(path, "code: other", "code: misc")
    assert _error(copy) == (f"{path}: top level: a category 'other' (the triage queue) is required")


def test_non_positive_target_hours(copy: Path) -> None:
    path = copy / "categories.yml"
    _replace_once(path, "target_hours: 24", "target_hours: 0")
    assert _error(copy) == (
        f"{path}: category 'garbage-collection': 'target_hours' must be a positive whole number"
    )
