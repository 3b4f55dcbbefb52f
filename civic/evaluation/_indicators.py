"""The indicators: those computed from tickets and their ratings (built in, named in the
message catalogue), and each agency's own, entered monthly (named in the scheme).

    volume                tickets filed
    on_time_rate          share rectified by their due time (the category's target time
                          from filing), of those rectified or past due
    median_hours          median hours from filing to the agency's first rectification
    p90_hours             90th percentile of the same
    reopen_rate           share of the rectified tickets reopened at least once
    overdue_rate          share of the tickets with a due time flagged overdue
    confirmed_fixed_rate  share of the citizens' answers to "is it solved?" that were yes
    ticket_satisfaction   mean rating after closure (满意 100, 基本满意 80, 不满意 0, as the
                          scheme scores them), counted levels only
"""

from __future__ import annotations

from dataclasses import dataclass

from civic.evaluation._scheme import HIGHER, LOWER, AgencyIndicator
from civic.i18n import LANGUAGES, t

TICKETS, ENTERED = "tickets", "entered"


@dataclass(frozen=True)
class Indicator:
    """What a figure is: code, bilingual name, unit, which direction is better, and
    where it comes from (computed from tickets, or entered by the agency)."""

    code: str
    name: dict[str, str]
    unit: str
    direction: str
    source: str

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction,
            "source": self.source,
        }


# code -> (unit, direction)
BUILTIN: dict[str, tuple[str, str]] = {
    "volume": ("count", LOWER),
    "on_time_rate": ("share", HIGHER),
    "median_hours": ("hours", LOWER),
    "p90_hours": ("hours", LOWER),
    "reopen_rate": ("share", LOWER),
    "overdue_rate": ("share", LOWER),
    "confirmed_fixed_rate": ("share", HIGHER),
    "ticket_satisfaction": ("score", HIGHER),
}


def builtin_indicator(code: str) -> Indicator:
    unit, direction = BUILTIN[code]
    name = {lang: t(f"evaluation.indicator.{code}", lang) for lang in LANGUAGES}
    return Indicator(code, name, unit, direction, TICKETS)


def entered_indicator(spec: AgencyIndicator) -> Indicator:
    return Indicator(spec.code, dict(spec.name), spec.unit, spec.direction, ENTERED)


def indicator(code: str, agency_indicators: dict[str, AgencyIndicator]) -> Indicator:
    """The indicator `code`, built in or one of the scheme's agency indicators."""
    if code in BUILTIN:
        return builtin_indicator(code)
    return entered_indicator(agency_indicators[code])
