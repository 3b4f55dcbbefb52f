"""What the generator sets, and therefore knows, before it writes a single row: how
each agency handles its tickets, how often each category is reported in each month.

Nothing here is specific to one city: every agency and category of the profile gets
its plan from the seed, so another city's profile is filled the same way. An agency's
plan comes from one hidden "how well run" figure with some noise, so a slow agency
tends to let more tickets run late, have more fixes rejected and more unhappy
citizens, as in life.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from civic.city import Category

# The share of complaints nobody could place, left to the evaluation office's triage.
TRIAGE_SHARE = 0.03


@dataclass(frozen=True)
class AgencyPlan:
    """How one agency handles tickets, as shares of its tickets.

    `overdue`: first reported fixed after the due time (or not at all); `reopen`: the
    citizen answers "not yet" to the first fix; `reroute`: sent back to triage before
    being accepted; `accept_hours`: the median time to accept; `dissatisfied`: ratings
    of "dissatisfied" for a ticket fixed in time at the first try."""

    agency: str
    overdue: float
    reopen: float
    reroute: float
    accept_hours: float
    dissatisfied: float


def agency_plans(agencies: list[str], rng: random.Random) -> dict[str, AgencyPlan]:
    plans = {}
    for code in agencies:
        slack = rng.random()  # 0: well run, 1: struggling

        def around(low: float, high: float, slack: float = slack) -> float:
            share = min(1.0, max(0.0, slack + rng.gauss(0, 0.15)))
            return round(low + (high - low) * share, 3)

        plans[code] = AgencyPlan(
            agency=code,
            overdue=around(0.03, 0.22),
            reopen=around(0.02, 0.12),
            reroute=around(0.005, 0.04),
            accept_hours=round(0.3 * math.exp(3 * slack * rng.uniform(0.6, 1.0)), 2),
            dissatisfied=around(0.03, 0.14),
        )
    return plans


@dataclass(frozen=True)
class CategoryMix:
    """How often each category is reported, per month (January first): cumulative
    weights for `random.choices`."""

    codes: tuple[str, ...]
    cumulative: tuple[tuple[float, ...], ...]

    def pick(self, rng: random.Random, month: int, k: int) -> list[str]:
        return rng.choices(self.codes, cum_weights=self.cumulative[month - 1], k=k)


def category_mix(categories: dict[str, Category], rng: random.Random) -> CategoryMix:
    """Each category gets a volume and a summer swing from the seed (some peak in July,
    some in winter, most change little); categories without an agency, the ones left to
    triage, keep TRIAGE_SHARE of the whole."""
    codes = tuple(categories)
    volume = {code: rng.lognormvariate(0, 0.7) for code in codes}
    swing = {code: rng.uniform(-0.3, 0.6) for code in codes}
    routed = sum(v for code, v in volume.items() if categories[code].agency is not None)
    triage = [code for code in codes if categories[code].agency is None]
    for code in triage:
        volume[code] = routed * TRIAGE_SHARE / (1 - TRIAGE_SHARE) / len(triage)
    months = []
    for month in range(1, 13):
        summer = math.cos((month - 7) / 12 * 2 * math.pi)
        total = 0.0
        running = []
        for code in codes:
            total += volume[code] * (1 + swing[code] * summer)
            running.append(total)
        months.append(tuple(running))
    return CategoryMix(codes=codes, cumulative=tuple(months))
