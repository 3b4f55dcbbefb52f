"""The city's districts as a map a browser can draw without any outside server: each
boundary an SVG path in Web Mercator "world pixels" at one zoom level, so a point picked
on it turns back into longitude and latitude with the standard formulas, and map tiles
of that zoom (when the city configures a tile server) line up underneath exactly."""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from civic.city._profiles import Profile

# At zoom 10 a tile is about 39 km across at the equator: a city fits in a few.
MAP_ZOOM = 10
TILE = 256


def world_size(zoom: int = MAP_ZOOM) -> int:
    return TILE * 2**zoom


def project(long: float, lat: float, zoom: int = MAP_ZOOM) -> tuple[float, float]:
    """Longitude and latitude to Web Mercator world pixels at `zoom`."""
    size = world_size(zoom)
    x = (long + 180) / 360 * size
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * size
    return x, y


def unproject(x: float, y: float, zoom: int = MAP_ZOOM) -> tuple[float, float]:
    """World pixels at `zoom` back to (longitude, latitude)."""
    size = world_size(zoom)
    long = x / size * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / size))))
    return long, lat


def _ring(coords: Any) -> str:
    points = [project(long, lat) for long, lat, *_ in coords]
    return "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in points) + "Z"


def svg_path(geometry: BaseGeometry) -> str:
    """The outline of a (multi)polygon as SVG path data, holes included."""
    polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    parts = []
    for polygon in polygons:
        if isinstance(polygon, Polygon):
            parts.append(_ring(polygon.exterior.coords))
            parts.extend(_ring(hole.coords) for hole in polygon.interiors)
    return "".join(parts)


def district_map(profile: Profile, *, tile_url: str = "") -> dict[str, Any]:
    """What the web chat draws: the view box around all districts (with a margin), each
    district's names and outline, the zoom the coordinates are in, and the tile URL."""
    west, south, east, north = _bounds(profile)
    left, top = project(west, north)
    right, bottom = project(east, south)
    margin = max(right - left, bottom - top) * 0.03
    return {
        "zoom": MAP_ZOOM,
        "view_box": [
            round(left - margin, 1),
            round(top - margin, 1),
            round(right - left + 2 * margin, 1),
            round(bottom - top + 2 * margin, 1),
        ],
        "districts": [
            {"code": d.code, "name": dict(d.name), "path": svg_path(d.geometry)}
            for d in profile.districts.values()
        ],
        "tile_url": tile_url or None,
    }


def _bounds(profile: Profile) -> tuple[float, float, float, float]:
    boxes = [d.geometry.bounds for d in profile.districts.values()]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
