"""The population shares that weight survey results, from `profiles/<city>/population.yml`.

An error names the file and the entry at fault, as profile errors do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from civic.campaigns import KEY_SEPARATORS
from civic.city._profiles import load_profile
from civic.errors import ProfileError

FILENAME = "population.yml"
SUM_TOLERANCE = 0.01


@dataclass(frozen=True)
class Population:
    """Shares of the population by attribute value, e.g. shares["district"]["xihu"], in
    the file's order. These are margins, one attribute at a time, as the statistics bureau
    publishes them: a survey weighted by several is raked to each (civic.surveys), never
    weighted to their product, which would assume that age does not depend on district."""

    shares: Mapping[str, Mapping[str, float]]
    source: str


def load_population(profile_dir: Path, districts: Collection[str] | None = None) -> Population:
    """Load and check the shares in `profile_dir`; `districts` are the known district codes
    (read from the profile when not given). Raise ProfileError when the file is wrong."""
    path = profile_dir / FILENAME
    if not path.is_file():
        raise ProfileError(f"{path}: file is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid yml: {exc}") from exc
    if districts is None:
        districts = load_profile(profile_dir).districts.keys()
    if not isinstance(data, dict) or not isinstance(data.get("shares"), dict):
        raise ProfileError(f"{path}: top level: expected a mapping with 'shares'")
    shares = {
        str(name): _margin(path, str(name), values) for name, values in data["shares"].items()
    }
    if "district" not in shares:
        raise ProfileError(f"{path}: shares: 'district' is required")
    unknown = sorted(set(shares["district"]) - set(districts))
    if unknown:
        raise ProfileError(f"{path}: shares.district: unknown district '{unknown[0]}'")
    uncovered = sorted(set(districts) - set(shares["district"]))
    if uncovered:
        raise ProfileError(f"{path}: shares.district: district '{uncovered[0]}' has no share")
    return Population(shares=shares, source=str(data.get("source") or ""))


def _margin(path: Path, name: str, values: Any) -> dict[str, float]:
    entry = f"shares.{name}"
    if _has_separator(name):
        raise ProfileError(f"{path}: {entry}: the name must not contain '|' or '='")
    if not isinstance(values, dict) or not values:
        raise ProfileError(f"{path}: {entry}: expected a mapping of value to share")
    margin: dict[str, float] = {}
    for value, share in values.items():
        where = f"{entry}.{value}"
        if _has_separator(str(value)):
            raise ProfileError(f"{path}: {where}: the value must not contain '|' or '='")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ProfileError(f"{path}: {where}: the share must be a number from 0 to 1")
        margin[str(value)] = float(share)
    total = sum(margin.values())
    if abs(total - 1) > SUM_TOLERANCE:
        raise ProfileError(f"{path}: {entry}: the shares sum to {total:.3f}, not 1")
    return margin


def _has_separator(text: str) -> bool:
    return any(separator in text for separator in KEY_SEPARATORS)
