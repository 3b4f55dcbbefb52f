"""Weights that make the answers look like the population: post-stratification on one
attribute, raking on several.

The statistics bureau publishes each attribute's margin (the share of each district, of
each age band), not the joint table. Several attributes are therefore weighted by raking
(iterative proportional fitting): the weights are scaled until the weighted shares match
one attribute's margin, then the next's, and round again until every margin matches.
Multiplying the margins into joint cells instead would assume that age does not depend on
district, and weight to a population that does not exist. With one attribute, raking is
post-stratification.

A group of a margin (a district, an age band) with fewer than `MIN_CELL` answers is
merged with a neighbour before weighting: a weight resting on two or three answers makes
the index swing with them, and their spread cannot be estimated. The neighbours of a
value are the values before and after it in the population file, which therefore lists
similar values next to each other (age bands in order, districts from the centre
outwards). The smallest group is merged first, into the smaller of its neighbours (the
earlier one on a tie), so the result depends only on the counts and the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIN_CELL = 5
TOLERANCE = 1e-6
MAX_ITERATIONS = 200

Units = Sequence[Mapping[str, str | None]]


class NotWeighted(ValueError):
    """The answers cannot be weighted by these attributes; the message says why."""


class RakingError(NotWeighted):
    """Raking did not bring every weighted margin within the tolerance of its population
    shares (the answers' cross-table has empty cells that the margins cannot allow)."""


@dataclass(frozen=True)
class Margin:
    """One attribute's population shares (summing to 1) over groups of its values."""

    attribute: str
    groups: tuple[tuple[str, ...], ...]
    shares: tuple[float, ...]

    def group_index(self) -> dict[str, int]:
        """Each value's group, by position."""
        return {value: i for i, group in enumerate(self.groups) for value in group}

    def merged(self) -> list[str]:
        """The groups of several values, e.g. "district: tonglu+chunan"."""
        return [f"{self.attribute}: {'+'.join(g)}" for g in self.groups if len(g) > 1]


@dataclass(frozen=True)
class Weighting:
    """Weights for the units placed (those with a population share in every attribute):
    `placed` are their positions among the units, `weights` sum to 1, and `cells` give
    each one's group in each margin."""

    margins: tuple[Margin, ...]
    placed: tuple[int, ...]
    weights: tuple[float, ...]
    cells: tuple[tuple[int, ...], ...]
    iterations: int

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(margin.attribute for margin in self.margins)


def weigh(
    units: Units,
    *,
    shares: Mapping[str, Mapping[str, float]],
    attributes: Sequence[str],
    min_cell: int = MIN_CELL,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Weighting:
    """Rake the units to the population `shares` (attribute -> value -> share) of each of
    `attributes`, after merging small groups. Raise NotWeighted when that cannot be done:
    no shares for an attribute, no unit placed, too few answers to keep two groups of an
    attribute, or no convergence in `max_iterations` rounds (RakingError)."""
    if min_cell < 1:
        raise ValueError("min_cell must be at least 1")
    missing = [name for name in attributes if name not in shares]
    if missing:
        raise NotWeighted(f"no population shares for {', '.join(missing)}")
    placed = [
        position
        for position, attrs in enumerate(units)
        if all(shares[name].get(_value(attrs, name), 0) > 0 for name in attributes)
    ]
    if not placed:
        raise NotWeighted(f"no answer has a {' and '.join(attributes)} with a population share")
    margins = []
    for name in attributes:
        counts = Counter(_value(units[position], name) for position in placed)
        margin = collapse(name, shares[name], counts, min_cell)
        if len(margin.groups) < 2:
            raise NotWeighted(
                f"too few answers to weight by {name} (it takes two groups of {min_cell})"
            )
        margins.append(margin)
    lookups = [(margin.attribute, margin.group_index()) for margin in margins]
    cells = [
        tuple(lookup[_value(units[position], name)] for name, lookup in lookups)
        for position in placed
    ]
    weights, iterations = rake(cells, margins, tolerance=tolerance, max_iterations=max_iterations)
    return Weighting(tuple(margins), tuple(placed), tuple(weights), tuple(cells), iterations)


def collapse(
    attribute: str, shares: Mapping[str, float], counts: Mapping[str, int], min_cell: int
) -> Margin:
    """The attribute's margin over groups of at least `min_cell` answers each (or one
    group of them all), merging the smallest group into its smaller neighbour until none
    is short. Values without a positive share are left out; shares are renormalised."""
    groups = [[value] for value, share in shares.items() if share > 0]
    sizes = [counts.get(value, 0) for [value] in groups]
    while len(groups) > 1:
        small = min(range(len(groups)), key=sizes.__getitem__)
        if sizes[small] >= min_cell:
            break
        neighbours = [i for i in (small - 1, small + 1) if 0 <= i < len(groups)]
        into = min(neighbours, key=sizes.__getitem__)
        first, second = sorted((small, into))
        groups[first] += groups.pop(second)
        sizes[first] += sizes.pop(second)
    group_shares = [sum(shares[value] for value in group) for group in groups]
    total = sum(group_shares)
    return Margin(
        attribute,
        tuple(tuple(group) for group in groups),
        tuple(share / total for share in group_shares),
    )


def rake(
    cells: Sequence[Sequence[int]],
    margins: Sequence[Margin],
    *,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> tuple[list[float], int]:
    """Weights summing to 1 whose shares in every margin's groups are within `tolerance`
    of the margin's, and the number of rounds it took. Every group must hold a unit.
    Raise RakingError when `max_iterations` rounds are not enough."""
    weights = [1 / len(cells)] * len(cells)
    for iteration in range(1, max_iterations + 1):
        for position, margin in enumerate(margins):
            totals = _totals(weights, cells, position, len(margin.groups))
            factors = [share / total for share, total in zip(margin.shares, totals, strict=True)]
            weights = [w * factors[cell[position]] for w, cell in zip(weights, cells, strict=True)]
        gap, attribute = _largest_gap(weights, cells, margins)
        if gap <= tolerance:
            return weights, iteration
    names = ", ".join(margin.attribute for margin in margins)
    raise RakingError(
        f"raking on {names} did not converge in {max_iterations} rounds: the weighted shares "
        f"of {attribute} are still {gap:.2g} from the population's"
    )


def _value(attrs: Mapping[str, str | None], name: str) -> str:
    return attrs.get(name) or ""


def _totals(
    weights: Sequence[float], cells: Sequence[Sequence[int]], position: int, size: int
) -> list[float]:
    totals = [0.0] * size
    for weight, cell in zip(weights, cells, strict=True):
        totals[cell[position]] += weight
    return totals


def _largest_gap(
    weights: Sequence[float], cells: Sequence[Sequence[int]], margins: Sequence[Margin]
) -> tuple[float, str]:
    """How far the weighted shares are from the margins at most, and in which attribute."""
    total = sum(weights)
    gaps = []
    for position, margin in enumerate(margins):
        totals = _totals(weights, cells, position, len(margin.groups))
        gap = max(abs(t / total - s) for t, s in zip(totals, margin.shares, strict=True))
        gaps.append((gap, margin.attribute))
    return max(gaps, key=lambda item: item[0])
