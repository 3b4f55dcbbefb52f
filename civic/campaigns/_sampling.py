"""Stratified random sampling for evaluation campaigns.

Pure functions: the sample frame comes in as (unit id, attributes) pairs and the sample goes
out as (unit id, stratum key) pairs. A sample is reproducible from its seed, so the
evaluation office can show an auditor how each person was chosen.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

ALLOCATIONS = ("proportional", "equal")
MISSING = "?"
# The key of the single stratum of an unstratified design.
WHOLE_POPULATION = "all"
# Characters that separate the parts of a stratum key; attribute names and values must not
# contain them or two strata could share a key.
KEY_SEPARATORS = ("|", "=")

Unit = tuple[int, Mapping[str, str | None]]


def stratum_key(attrs: Mapping[str, str | None], strata: Sequence[str]) -> str:
    """The stratum a unit belongs to, e.g. "district=xihu|age_band=30-44"; a missing or
    empty attribute reads "?"."""
    if not strata:
        return WHOLE_POPULATION
    return "|".join(f"{name}={attrs.get(name) or MISSING}" for name in strata)


def allocate(sizes: Mapping[str, int], n: int, method: str) -> dict[str, int]:
    """How many units to draw from each stratum so that the total is exactly `n`.

    `proportional` gives each stratum its share of `n` by size, rounded by largest
    remainder; `equal` gives each the same number. No stratum gets more than it holds: the
    surplus goes to strata with room. When `n` is at least the population, everyone.
    """
    if method not in ALLOCATIONS:
        raise ValueError(f"unknown allocation {method!r}: expected one of {ALLOCATIONS}")
    if n < 0:
        raise ValueError("the sample size must not be negative")
    if any(size < 0 for size in sizes.values()):
        raise ValueError("stratum sizes must not be negative")
    if n >= sum(sizes.values()):
        return dict(sizes)
    result = dict.fromkeys(sizes, 0)
    remaining = n
    with_room = {key for key, size in sizes.items() if size > 0}
    # Each round either places everything left or fills at least one stratum, and n is
    # below the population, so the loop ends with every unit placed.
    while remaining > 0:
        weights = {key: sizes[key] if method == "proportional" else 1 for key in with_room}
        for key, share in _largest_remainder(weights, remaining, sizes).items():
            take = min(share, sizes[key] - result[key])
            result[key] += take
            remaining -= take
            if result[key] == sizes[key]:
                with_room.discard(key)
    return result


def _largest_remainder(
    weights: Mapping[str, int], n: int, sizes: Mapping[str, int]
) -> dict[str, int]:
    """`n` split in proportion to `weights`, in whole numbers summing to `n`. Ties in the
    remainder go to the larger stratum, then to the first key, so the result is stable."""
    total = sum(weights.values())
    shares = {key: n * weight // total for key, weight in weights.items()}
    left = n - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(n * weights[key] % total), -sizes[key], key))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares


def draw_sample(
    units: Sequence[Unit], *, strata: Sequence[str], n: int, allocation: str, seed: int
) -> list[tuple[int, str]]:
    """A stratified simple random sample of about `n` units (exactly `n` when the frame has
    that many), as (unit id, stratum key) pairs sorted by id.

    The same frame, design and seed give the same sample whatever the order of `units`:
    each stratum is drawn with its own generator, seeded from `seed` and the stratum key,
    from its units sorted by id.
    """
    ids = [unit_id for unit_id, _ in units]
    if len(set(ids)) != len(ids):
        raise ValueError("unit ids must be unique")
    members: dict[str, list[int]] = defaultdict(list)
    for unit_id, attrs in sorted(units, key=lambda unit: unit[0]):
        members[stratum_key(attrs, strata)].append(unit_id)
    quotas = allocate({key: len(group) for key, group in members.items()}, n, allocation)
    sample: list[tuple[int, str]] = []
    for key in sorted(members):
        # A string seed is hashed with SHA-512, the same in every process and version.
        rng = random.Random(f"{seed}:{key}")
        sample.extend((unit_id, key) for unit_id in rng.sample(members[key], quotas[key]))
    return sorted(sample)


def attributes_of_key(key: str) -> dict[str, str | None]:
    """The attributes a stratum key was made from ("?" reads as missing)."""
    if key == WHOLE_POPULATION or not key:
        return {}
    attrs: dict[str, str | None] = {}
    for part in key.split("|"):
        name, _, value = part.partition("=")
        attrs[name] = None if value == MISSING else value
    return attrs
