"""The district map: Web Mercator there and back, and outlines that hold their districts."""

from __future__ import annotations

import re

from civic.city import Profile, district_map, project, unproject
from civic.city._map import world_size

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def test_projection_matches_the_tile_grid_and_turns_back() -> None:
    # the tile scheme's own corners: (0, 0) is 180°W, 85.0511°N; the middle is (0°, 0°)
    assert project(-180, 85.0511287798) == (0.0, project(-180, 85.0511287798)[1])
    assert abs(project(-180, 85.0511287798)[1]) < 1e-6
    assert project(0, 0) == (world_size() / 2, world_size() / 2)
    long, lat = unproject(*project(120.1490, 30.2431))
    assert (round(long, 6), round(lat, 6)) == (120.149, 30.2431)


def test_each_district_is_drawn_and_a_point_inside_it_turns_back_into_it(
    profile: Profile,
) -> None:
    drawn = district_map(profile, tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    assert drawn["tile_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    left, top, width, height = drawn["view_box"]
    for district in drawn["districts"]:
        numbers = [float(n) for n in NUMBER.findall(district["path"])]
        xs, ys = numbers[0::2], numbers[1::2]
        assert left <= min(xs) and max(xs) <= left + width
        assert top <= min(ys) and max(ys) <= top + height
    inside = profile.districts["xihu"].geometry.representative_point()
    long, lat = unproject(*project(inside.x, inside.y))
    found = profile.district_at(lat, long)
    assert found is not None and found.code == "xihu"
