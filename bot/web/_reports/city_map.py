"""The public map: the city's districts (their GeoJSON, from the profile) drawn as inline
SVG paths, with a dot per grid cell that has reports. No tiles, no script, nothing from
another server; the figures are in the text beside it too."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from civic.city import Profile

WIDTH = 640.0
MARGIN = 8.0


@dataclass(frozen=True)
class Shape:
    code: str
    path: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    count: int


@dataclass(frozen=True)
class CityMap:
    width: float
    height: float
    districts: tuple[Shape, ...]
    dots: tuple[Dot, ...]


class Projection:
    """Longitude and latitude onto the picture (equirectangular, true at the middle)."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        self.west, self.south, self.east, self.north = bounds
        self.squeeze = math.cos(math.radians((self.south + self.north) / 2))
        span = max((self.east - self.west) * self.squeeze, 1e-9)
        self.scale = (WIDTH - 2 * MARGIN) / span
        self.height = (self.north - self.south) * self.scale + 2 * MARGIN

    def point(self, long: float, lat: float) -> tuple[float, float]:
        x = MARGIN + (long - self.west) * self.squeeze * self.scale
        y = MARGIN + (self.north - lat) * self.scale
        return round(x, 1), round(y, 1)


def _rings(geometry: BaseGeometry) -> list[list[tuple[float, float]]]:
    polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    rings = []
    for polygon in polygons:
        if isinstance(polygon, Polygon):
            rings.append(list(polygon.exterior.coords))
            rings += [list(inner.coords) for inner in polygon.interiors]
    return rings


def _path(projection: Projection, geometry: BaseGeometry) -> str:
    parts = []
    for ring in _rings(geometry):
        points = [projection.point(long, lat) for long, lat in ring]
        parts.append("M" + " L".join(f"{x} {y}" for x, y in points) + " Z")
    return " ".join(parts)


def city_map(profile: Profile, points: list[tuple[float, float, int]]) -> CityMap:
    """The districts and the dots (latitude, longitude, reports) of the grid cells."""
    geometries = [d.geometry for d in profile.districts.values()]
    west = min(g.bounds[0] for g in geometries)
    south = min(g.bounds[1] for g in geometries)
    east = max(g.bounds[2] for g in geometries)
    north = max(g.bounds[3] for g in geometries)
    projection = Projection((west, south, east, north))
    shapes = tuple(
        Shape(code, _path(projection, d.geometry)) for code, d in profile.districts.items()
    )
    dots = []
    for lat, long, count in points:
        if not (west <= long <= east and south <= lat <= north):
            continue  # outside the drawn city: not placed somewhere misleading
        x, y = projection.point(long, lat)
        dots.append(Dot(x, y, round(6 + 3 * math.log2(count), 1), count))
    return CityMap(WIDTH, round(projection.height, 1), shapes, tuple(dots))
