"""Where the demo's complaints are: a district by its share of the population, then a
point inside its boundary, a place of the gazetteer, or the district alone, written
down the way the assistant writes each of them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import shapely

from civic.city import Profile

# How citizens say where: a shared location pin, a place typed by name, a district tapped.
PIN, PLACE, DISTRICT = 0.5, 0.35, 0.15


@dataclass(frozen=True)
class Where:
    district: str
    # the ticket's fields, as the complaint form fills them
    address_text: str
    road: str | None
    lat: float | None
    long: float | None
    # what the complaint's text calls the place
    name: str


class CityMap:
    """The districts with a pool of points inside each boundary and the gazetteer's
    places in each; `points` per district is how many different positions there are."""

    def __init__(
        self,
        profile: Profile,
        shares: Mapping[str, float],
        rng: random.Random,
        points: int,
    ) -> None:
        self.profile = profile
        self.codes = tuple(profile.districts)
        self.weights = tuple(shares.get(code, 1.0 / len(self.codes)) for code in self.codes)
        self.points = {code: _points_in(profile, code, rng, points) for code in self.codes}
        self.places = {
            code: [p for p in profile.places if p.district == code] for code in self.codes
        }

    def districts(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.codes, weights=self.weights, k=k)

    def where(self, rng: random.Random, district: str, lang: str) -> Where:
        label = self.profile.districts[district].label(lang)
        how = rng.random()
        places = self.places[district]
        if how < PIN or (how < PIN + PLACE and not places):
            lat, long = rng.choice(self.points[district])
            # the assistant's own wording for a pin (actions/complaint_steps.py)
            text = f"{label} ({lat:.5f}, {long:.5f})"
            return Where(district, text, None, lat, long, label)
        if how < PIN + PLACE:
            place = rng.choice(places)
            name = place.name.get(lang) or place.name["zh"]
            road = place.name["zh"] if place.kind == "road" else None
            return Where(district, name, road, None, None, name)
        return Where(district, label, None, None, None, label)


def _points_in(
    profile: Profile, district: str, rng: random.Random, count: int
) -> list[tuple[float, float]]:
    """`count` random points inside the district's boundary, as (lat, long)."""
    geometry = profile.districts[district].geometry
    west, south, east, north = geometry.bounds
    found: list[tuple[float, float]] = []
    while len(found) < count:
        # a batch at a time: one call tests them all
        longs = [round(rng.uniform(west, east), 6) for _ in range(count)]
        lats = [round(rng.uniform(south, north), 6) for _ in range(count)]
        inside = shapely.contains_xy(geometry, longs, lats)
        found += [(lat, long) for long, lat, ok in zip(longs, lats, inside, strict=True) if ok]
    return found[:count]
