"""The survey's truth and its sample frame.

The truth: each district's mean satisfaction, a shift by each other attribute of the
population file (younger people a little less satisfied, older a little more) centred
so that it averages to nothing over the population, and each agency's mean. Because
the shifts are centred and the frame's attributes are independent of the district, the
true figure of a district is its mean, the city's is the population-weighted mean of
the districts', and an agency's is its own mean: what a correctly weighted index of a
large sample converges to.

The frame: households of the evaluation office's registry, with the district and the
attributes drawn from the population shares (the young under-covered, the old
over-covered, as registries do), and no real contact details (an address on
a "demo road", or an address at example.invalid, which cannot receive mail).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DISTRICT_MEANS = (72.0, 90.0)
AGENCY_MEANS = (66.0, 90.0)
SHIFT = 5.0  # the youngest answer this much below the mean, the oldest above
PROPENSITY = (0.86, 0.98)  # the youngest respond least, the oldest most
# The registry under-covers the young (they move, they have no fixed address) and
# over-covers the old: the youngest are in it this much less often, the oldest more.
COVERAGE = (0.6, 1.4)
CHOSEN = (0.15, 0.45)  # how many of the respondents dealt with each agency
EMAIL = 0.4
GENDERS = ("female", "male")

FRAME_COLUMNS = (
    "id", "kind", "external_id", "citizen_id", "district", "strata", "mobile", "email",
    "postal_address", "consent_at", "opted_out_at", "last_sampled_at", "created_at",
)  # fmt: skip


def _even(low: float, high: float, count: int) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)] if count > 1 else [low]


@dataclass(frozen=True)
class Truth:
    shares: Mapping[str, Mapping[str, float]]
    districts: Mapping[str, float]
    shifts: Mapping[str, Mapping[str, float]]
    agencies: Mapping[str, float]
    chosen: Mapping[str, float]
    # the attribute whose values answer more or less often, and how often, and how
    # much of the population of each value the registry covers
    responds_by: str | None
    propensity: Mapping[str, float]
    coverage: Mapping[str, float]

    @property
    def city(self) -> float:
        shares = self.shares["district"]
        total = sum(shares[d] for d in self.districts)
        return sum(shares[d] * mean for d, mean in self.districts.items()) / total

    def mean(self, attrs: Mapping[str, str | None]) -> float:
        """A respondent's true satisfaction with the city's services."""
        base = self.districts[attrs["district"] or ""]
        return base + sum(s.get(attrs.get(a) or "", 0.0) for a, s in self.shifts.items())

    def agency_means(self, attrs: Mapping[str, str | None]) -> dict[str, float]:
        shift = self.mean(attrs) - self.districts[attrs["district"] or ""]
        return {agency: mean + shift for agency, mean in self.agencies.items()}

    def responds(self, attrs: Mapping[str, str | None]) -> float:
        return self.propensity.get(attrs.get(self.responds_by or "") or "", 0.95)

    def expected_response(self) -> float:
        """The share of the registry's households that answer."""
        if self.responds_by is None:
            return 0.95
        shares = self.shares[self.responds_by]
        covered = {v: shares[v] * self.coverage[v] for v in self.propensity}
        return sum(covered[v] * p for v, p in self.propensity.items()) / sum(covered.values())


def plan_truth(
    rng: random.Random, shares: Mapping[str, Mapping[str, float]], agencies: Sequence[str]
) -> Truth:
    shifts: dict[str, dict[str, float]] = {}
    for attribute, values in shares.items():
        if attribute == "district":
            continue
        raw = dict(zip(values, _even(-SHIFT, SHIFT, len(values)), strict=True))
        centre = sum(values[v] * raw[v] for v in values) / sum(values.values())
        shifts[attribute] = {v: round(raw[v] - centre, 3) for v in values}
    first = next(iter(shifts), None)
    ordered = list(shares[first]) if first else []
    propensity = dict(zip(ordered, _even(*PROPENSITY, len(ordered)), strict=True))
    coverage = dict(zip(ordered, _even(*COVERAGE, len(ordered)), strict=True))
    return Truth(
        shares=shares,
        districts={d: round(rng.uniform(*DISTRICT_MEANS), 1) for d in shares["district"]},
        shifts=shifts,
        agencies={a: round(rng.uniform(*AGENCY_MEANS), 1) for a in agencies},
        chosen={a: round(rng.uniform(*CHOSEN), 2) for a in agencies},
        responds_by=first,
        propensity=propensity,
        coverage=coverage,
    )


def households(rng: random.Random, truth: Truth, count: int) -> list[dict[str, str | None]]:
    """`count` households' attributes (district and strata): the population's shares,
    as far as the registry covers them."""
    shares = truth.shares
    drawn = {
        attribute: rng.choices(
            list(values),
            weights=[
                share * (truth.coverage.get(v, 1.0) if attribute == truth.responds_by else 1.0)
                for v, share in values.items()
            ],
            k=count,
        )
        for attribute, values in shares.items()
    }
    genders = rng.choices(GENDERS, k=count)
    found = []
    for i in range(count):
        attrs: dict[str, str | None] = {a: drawn[a][i] for a in shares}
        attrs["gender"] = genders[i]
        found.append(attrs)
    return found


def frame_row(
    member_id: int,
    external_id: str,
    attrs: Mapping[str, str | None],
    contact: str,
    sampled: object,
    imported: object,
) -> tuple[object, ...]:
    """A registry household's row, reached by e-mail (an address at example.invalid,
    which cannot receive mail) or by letter (an address on a demo road)."""
    strata = {k: v for k, v in attrs.items() if k != "district" and v}
    email = contact if "@" in contact else None
    return (
        member_id, "household", external_id, None, attrs["district"],
        json.dumps(strata, ensure_ascii=False, sort_keys=True), None, email,
        None if email else contact, None, None, sampled, imported,
    )  # fmt: skip


def respondents(
    rng: random.Random,
    truth: Truth,
    sample: Sequence[tuple[int, dict[str, str | None]]],
    wanted: int,
) -> set[int]:
    """Exactly `wanted` of the sampled households answer, each as likely as its
    propensity (weighted sampling without replacement: the largest u^(1/p))."""
    keyed = sorted(sample, key=lambda unit: rng.random() ** (1 / truth.responds(unit[1])))
    return {unit_id for unit_id, _ in keyed[-wanted:]} if wanted else set()
