"""What the evaluation-figures pages show: the year's scheme as form choices, the entered
values, the points entries and the audit log as rows, in the reader's language.

Only names and numbers are built here; who may see which rows is decided by the pages
(`entries.py`) and who may change them by `civic.evaluation`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from bot.web._desk.render import Page
from civic.city import Profile
from civic.evaluation import ADJUSTMENT_KINDS, Scheme
from civic.i18n import localised, t
from storage.models import AgencyUser, EvaluationAdjustment, EvaluationAudit, IndicatorEntry

AUDIT_ACTIONS = ("enter", "correct", "approve", "withdraw")
# The form's fields the pages give back after a refusal, so nothing typed is lost.
INDICATOR_FIELDS = ("agency", "indicator", "period", "value", "note")
ADJUSTMENT_FIELDS = ("agency", "what", "points", "evidence")


class BadYear(Exception):
    """`?year=` (or the form's year) is not a year with a scheme."""

    def __init__(self, key: str, value: str) -> None:
        super().__init__(key)
        self.key, self.value = key, value


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def number(text: str) -> float:
    """The form's number; anything else is NaN, which the service refuses with its own
    message ("The value must be a number")."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return float("nan")


def scheme_years(profile: Profile) -> list[int]:
    folder: Path = profile.path / "evaluation"
    return sorted(int(p.stem) for p in folder.glob("*.yml") if p.stem.isdigit())


def pick_year(profile: Profile, asked: str, now: datetime) -> int:
    """The year asked for, else the city's current year, else the latest scheme before
    it (in January the last year's December is still being entered)."""
    years = scheme_years(profile)
    if asked:
        if not asked.isdigit() or int(asked) not in years:
            raise BadYear("entries.bad_year", asked[:8])
        return int(asked)
    current = now.astimezone(ZoneInfo(profile.timezone)).year
    if not years:
        raise BadYear("entries.no_scheme", str(current))
    earlier = [y for y in years if y <= current]
    return max(earlier) if earlier else min(years)


def is_office(user: AgencyUser) -> bool:
    return user.agency is None and user.role == "staff"


def is_coordinator(user: AgencyUser) -> bool:
    return user.agency is not None and user.role == "coordinator"


def amount(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Names:
    """The scheme's codes by name in one language."""

    scheme: Scheme
    page: Page

    def indicator(self, code: str) -> str:
        found = self.scheme.agency_indicators.get(code)
        return localised(found.name, self.page.lang) if found else code

    def unit(self, code: str) -> str:
        found = self.scheme.agency_indicators.get(code)
        return t(f"evaluation.unit.{found.unit}", self.page.lang) if found else ""

    def kind(self, kind: str) -> str:
        return self.page.t(f"entries.kind.{kind}") if kind in ADJUSTMENT_KINDS else kind

    def item(self, kind: str, code: str | None) -> str:
        if kind not in ("bonus", "penalty") or code is None:
            return ""
        found = self.scheme.adjustments(kind).items.get(code)
        return localised(found.name, self.page.lang) if found else code

    def what(self, kind: str, item: str | None) -> str:
        named = self.item(kind, item)
        if not named:
            return self.kind(kind)
        return self.page.t("entries.kind_item", kind=self.kind(kind), item=named)


def choices(names: Names, user: AgencyUser) -> dict[str, Any]:
    """The forms' options: the agencies (a coordinator's own only), the indicators, the
    year's months and the points items with their maxima."""
    scheme, page = names.scheme, names.page
    agencies = [a for a in scheme.agencies if is_office(user) or a == user.agency]
    what = [("leaders", names.kind("leaders"), amount(scheme.leaders.max_points))]
    for kind in ("bonus", "penalty"):
        for code, spec in scheme.adjustments(kind).items.items():
            what.append((f"{kind}:{code}", names.what(kind, code), amount(spec.max_points)))
    return {
        "agencies": [(code, page.labels.agency(code)) for code in agencies],
        "indicators": [
            (code, f"{names.indicator(code)} ({names.unit(code)})")
            for code in scheme.agency_indicators
        ],
        "periods": [f"{scheme.year}-{month:02d}" for month in range(1, 13)],
        "what": what,
    }


def entry_row(names: Names, entry: IndicatorEntry) -> dict[str, Any]:
    labels = names.page.labels
    return {
        "id": entry.id,
        "agency": labels.agency(entry.agency),
        "indicator": names.indicator(entry.indicator),
        "period": entry.period,
        "value": f"{amount(entry.value)} {names.unit(entry.indicator)}".strip(),
        "note": entry.note or "",
        "entered": names.page.t(
            "entries.by", who=entry.entered_by, when=labels.time(entry.entered_at)
        ),
        "entered_by": entry.entered_by,
        "approved": entry.approved_at is not None,
        "status": names.page.t(
            "entries.approved_by", who=entry.approved_by, when=labels.time(entry.approved_at)
        )
        if entry.approved_at is not None
        else names.page.t("entries.status_entered"),
    }


def adjustment_row(names: Names, row: EvaluationAdjustment) -> dict[str, Any]:
    page, labels = names.page, names.page.labels
    if row.withdrawn_at is not None:
        status = page.t(
            "entries.withdrawn_by", who=row.withdrawn_by, when=labels.time(row.withdrawn_at)
        )
    elif row.approved_at is not None:
        status = page.t(
            "entries.approved_by", who=row.approved_by, when=labels.time(row.approved_at)
        )
    else:
        status = page.t("entries.status_entered")
    return {
        "id": row.id,
        "agency": labels.agency(row.agency),
        "what": names.what(row.kind, row.item),
        "points": amount(row.points),
        "evidence": row.evidence,
        "entered": page.t("entries.by", who=row.entered_by, when=labels.time(row.entered_at)),
        "entered_by": row.entered_by,
        "status": status,
        "pending": row.approved_at is None and row.withdrawn_at is None,
        "withdrawn": row.withdrawn_at is not None,
    }


def audit_row(names: Names, row: EvaluationAudit) -> dict[str, Any]:
    page = names.page
    details: dict[str, Any] = json.loads(row.details or "{}")
    if row.subject == "indicator":
        what = page.t(
            "entries.audit_indicator",
            indicator=names.indicator(str(details.get("indicator", ""))),
            period=details.get("period", ""),
            value=amount(details.get("value")),
        )
        if details.get("previous") is not None:
            what += " " + page.t("entries.audit_previous", value=amount(details["previous"]))
    else:
        what = page.t(
            "entries.audit_adjustment",
            what=names.what(str(details.get("kind", "")), details.get("item")),
            points=amount(details.get("points")),
        )
    if details.get("reason"):
        what += " " + page.t("entries.audit_reason", reason=details["reason"])
    action = row.action if row.action in AUDIT_ACTIONS else None
    return {
        "at": page.labels.time(row.at),
        "actor": row.actor,
        "action": page.t(f"entries.action.{action}") if action else row.action,
        "agency": page.labels.agency(row.agency),
        "what": what,
    }
