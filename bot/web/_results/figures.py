"""From a frozen evaluation (the snapshot's JSON) to what the public pages show: every
figure formatted in the reader's language, with where it came from (which respondents,
which assurance levels, n, the interval), and the charts' data.

Nothing here reads the database: the pages show the frozen version only, so published
figures never change between two visits unless a new version was frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from markupsafe import Markup

from bot.web._results.charts import Bar, Segment, stacked_bars, trend_line
from civic.evaluation import Band, Scheme
from civic.i18n import localised

# The order the components add up in, as the scheme's rules and the ranking table show.
COMPONENTS = ("public", "targets", "leaders", "bonus", "penalty")
SOURCES = ("survey", "windows", "tickets")
NO_VALUE = "—"

Translate = Callable[..., str]


@dataclass(frozen=True)
class Reader:
    """The reader's language and its texts (the `results.` entries of the catalogue)."""

    lang: str
    t: Translate

    def name(self, names: Mapping[str, str] | None) -> str:
        return localised(dict(names or {}), self.lang) or NO_VALUE

    def number(self, value: float | None, decimals: int = 1) -> str:
        """Rounded half up, as published figures are (81.25 → 81.3, not 81.2)."""
        if value is None:
            return NO_VALUE
        step = Decimal(1).scaleb(-decimals)
        return f"{Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP):,}"

    def points(self, value: float | None) -> str:
        return self.number(value, 2)

    def count(self, value: float | int | None) -> str:
        return NO_VALUE if value is None else f"{round(value):,}"

    def value(self, value: float | None, unit: str) -> str:
        """An indicator's value in its unit: a share as a percentage, hours with 'h'."""
        if value is None:
            return NO_VALUE
        if unit == "share":
            return f"{self.number(100 * value)}%"
        if unit == "percent":
            return f"{self.number(value)}%"
        if unit == "count":
            return self.count(value)
        if unit in ("hours", "days"):
            return self.t(f"unit.{unit}", value=self.number(value))
        return self.number(value)

    def interval(self, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return NO_VALUE
        return f"{self.number(low)}–{self.number(high)}"

    def levels(self, levels: list[str] | tuple[str, ...]) -> str:
        return self.t("list_separator").join(self.t(f"level.{level}") for level in levels)


@dataclass(frozen=True)
class ComponentRow:
    code: str
    name: str
    points: str
    max_points: str
    rule: str


@dataclass(frozen=True)
class SourceRow:
    code: str
    name: str
    value: str
    interval: str
    n: str
    n_uncounted: str
    levels: str
    weight: str
    note: str


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    name: str
    value: str
    target: str
    direction: str
    status: str  # "met", "missed" or "" (no target)
    status_text: str
    n: str
    chart: Markup | None = None
    trend: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RankingRow:
    code: str
    name: str
    rank: str
    points: dict[str, str]
    total: str
    band: str
    why_unranked: str


def component_names(scheme: Scheme, reader: Reader) -> dict[str, str]:
    return {
        "public": reader.name(scheme.public.name),
        "targets": reader.name(scheme.targets.name),
        "leaders": reader.name(scheme.leaders.name),
        "bonus": reader.name(scheme.bonus.name),
        "penalty": reader.name(scheme.penalty.name),
    }


def band_names(result: Mapping[str, Any], reader: Reader) -> dict[str, str]:
    return {code: reader.name(names) for code, names in result["scheme"]["bands"].items()}


def ranking(result: Mapping[str, Any], scheme: Scheme, reader: Reader) -> list[RankingRow]:
    bands = band_names(result, reader)
    rows = []
    for agency in result["agencies"]:
        components = agency["components"]
        public = components.get("public", {})
        rows.append(
            RankingRow(
                code=agency["agency"],
                name=reader.name(agency["name"]),
                rank=str(agency["rank"]) if agency["rank"] is not None else NO_VALUE,
                points={c: reader.points(components.get(c, {}).get("points")) for c in COMPONENTS},
                total=reader.points(agency["total"]),
                band=bands.get(agency["band"] or "", ""),
                why_unranked=""
                if agency["rank"] is not None
                else reader.t("why_unranked", min_n=scheme.public.survey.min_n)
                if public.get("points") is None
                else reader.t("why_unranked_other"),
            )
        )
    return rows


def ranking_chart(
    result: Mapping[str, Any], scheme: Scheme, reader: Reader
) -> tuple[Markup, str] | None:
    """The ranked agencies' totals as bars made of their components, and a sentence
    saying the same for those who cannot see it."""
    ranked = [a for a in result["agencies"] if a["rank"] is not None]
    if not ranked:
        return None
    names = component_names(scheme, reader)
    shown = COMPONENTS[:4]
    bars = [
        Bar(
            label=reader.name(agency["name"]),
            segments=tuple(
                Segment(
                    f"{names[c]}: {reader.points(agency['components'][c]['points'])}",
                    float(agency["components"][c]["points"] or 0.0),
                )
                for c in shown
            ),
            total_label=reader.points(agency["total"]),
        )
        for agency in ranked
    ]
    description = reader.t(
        "chart.ranking_description",
        list=reader.t("list_separator").join(
            reader.t(
                "chart.ranking_item",
                rank=a["rank"],
                agency=reader.name(a["name"]),
                total=reader.points(a["total"]),
            )
            for a in ranked
        ),
    )
    chart = stacked_bars(
        bars,
        [names[c] for c in shown],
        maximum=100.0 + scheme.max_bonus,
        title=reader.t("chart.ranking_title", year=result["year"]),
        description=description,
        ident="ranking",
    )
    return chart, description


def components(agency: Mapping[str, Any], scheme: Scheme, reader: Reader) -> list[ComponentRow]:
    names = component_names(scheme, reader)
    return [
        ComponentRow(
            code=code,
            name=names[code],
            points=reader.points(agency["components"][code]["points"]),
            max_points=reader.points(agency["components"][code]["max_points"]),
            rule=reader.t(f"rule.{code}"),
        )
        for code in COMPONENTS
        if code in agency["components"]
    ]


def sources(agency: Mapping[str, Any], reader: Reader) -> list[SourceRow]:
    """The public evaluation's sources: the value each gave, its interval (the survey's),
    how many counted and how many were at levels that do not count, and its weight in the
    blend or why it was left out."""
    public = agency["components"].get("public", {})
    weights = public.get("weights") or {}
    left_out = public.get("left_out") or {}
    rows = []
    for code in SOURCES:
        figure = (public.get("sources") or {}).get(code)
        if figure is None:
            continue
        if code in weights:
            weight, note = f"{100 * weights[code]:.0f}%", ""
        else:
            weight = NO_VALUE
            note = reader.t(f"left_out.{left_out.get(code, 'no_figure')}")
        rows.append(
            SourceRow(
                code=code,
                name=reader.t(f"source.{code}"),
                value=reader.number(figure.get("value")),
                interval=reader.interval(figure.get("ci_low"), figure.get("ci_high")),
                n=reader.count(figure.get("n")),
                n_uncounted=reader.count(figure.get("n_uncounted", 0)),
                levels=reader.levels(figure.get("levels") or []),
                weight=weight,
                note=note,
            )
        )
    return rows


def survey_figure(agency: Mapping[str, Any]) -> dict[str, Any] | None:
    public = agency["components"].get("public", {})
    figure = (public.get("sources") or {}).get("survey")
    return figure if figure and figure.get("value") is not None else None


def targets(agency: Mapping[str, Any], scheme: Scheme, reader: Reader) -> list[IndicatorRow]:
    """The targets component: each indicator's value against its target, its weight and
    how much of the weight it earned."""
    rows = []
    for item in agency["components"].get("targets", {}).get("indicators", []):
        unit = _unit(item["code"], agency, scheme)
        achieved = item.get("achievement")
        rows.append(
            IndicatorRow(
                code=item["code"],
                name=_indicator_name(item["code"], agency, scheme, reader),
                value=reader.value(item.get("value"), unit)
                if item.get("value") is not None
                else reader.t("not_reported"),
                target=reader.value(item.get("target"), unit),
                direction=reader.t(f"direction.{item['direction']}"),
                status="" if achieved is None else "met" if achieved >= 1 else "missed",
                status_text=reader.t(
                    "achievement",
                    share=f"{100 * (achieved or 0):.0f}%",
                    weight=f"{100 * item['weight']:.0f}%",
                ),
                n=reader.count(item.get("n")),
            )
        )
    return rows


def indicators(
    scorecard: Mapping[str, Any], reader: Reader, *, prefix: str, with_trend: bool
) -> list[IndicatorRow]:
    """An agency's or a district's ticket indicators against their targets, with the
    five-year trend as a small chart and as text."""
    rows = []
    for item in scorecard["indicators"]:
        unit, name = item["unit"], reader.name(item["name"])
        met = _met(item)
        trend = [(p["year"], p["value"]) for p in item.get("trend", [])] if with_trend else []
        chart = None
        if trend:
            spoken = reader.t("list_separator").join(
                f"{year}: {reader.value(value, unit)}" for year, value in trend
            )
            chart = trend_line(
                trend,
                target=item.get("target"),
                title=reader.t("chart.trend_title", indicator=name),
                description=spoken,
                ident=f"{prefix}-{item['code']}",
            )
        rows.append(
            IndicatorRow(
                code=item["code"],
                name=name,
                value=reader.value(item.get("value"), unit),
                target=reader.value(item.get("target"), unit),
                direction=reader.t(f"direction.{item['direction']}"),
                status="" if met is None else "met" if met else "missed",
                status_text="" if met is None else reader.t("met" if met else "missed"),
                n=reader.count(item.get("n")),
                chart=chart,
                trend=[(year, reader.value(value, unit)) for year, value in trend],
            )
        )
    return rows


def _met(item: Mapping[str, Any]) -> bool | None:
    if "met" in item:
        return item["met"] if item["met"] is None else bool(item["met"])
    value, target = item.get("value"), item.get("target")
    if value is None or target is None:
        return None
    return bool(value >= target if item["direction"] == "higher" else value <= target)


def _indicator_name(code: str, agency: Mapping[str, Any], scheme: Scheme, reader: Reader) -> str:
    for item in agency.get("indicators", []):
        if item["code"] == code:
            return reader.name(item["name"])
    entered = scheme.agency_indicators.get(code)
    return reader.name(entered.name) if entered else code


def _unit(code: str, agency: Mapping[str, Any], scheme: Scheme) -> str:
    for item in agency.get("indicators", []):
        if item["code"] == code:
            return str(item["unit"])
    entered = scheme.agency_indicators.get(code)
    return entered.unit if entered else "score"


def adjustments(agency: Mapping[str, Any], scheme: Scheme, reader: Reader) -> list[dict[str, str]]:
    """The leaders' points and each bonus and penalty item with its cap (the evidence
    stays with the office: it may name people)."""
    rows = []
    leaders = agency["components"].get("leaders")
    if leaders is not None:
        rows.append(
            {
                "name": reader.name(scheme.leaders.name),
                "points": reader.points(leaders.get("points"))
                if leaders.get("entered")
                else reader.t("not_entered"),
                "cap": reader.points(leaders.get("max_points")),
            }
        )
    for kind in ("bonus", "penalty"):
        adjustment = scheme.adjustments(kind)
        for item in agency["components"].get(kind, {}).get("items", []):
            known = adjustment.items.get(item["code"])
            rows.append(
                {
                    "name": f"{reader.name(adjustment.name)}: "
                    + (reader.name(known.name) if known else item["code"]),
                    "points": reader.points(item.get("points")),
                    "cap": reader.points(item.get("cap")),
                }
            )
    return rows


def indicator_value(scorecard: Mapping[str, Any], code: str, reader: Reader) -> str:
    for item in scorecard["indicators"]:
        if item["code"] == code:
            return reader.value(item.get("value"), item["unit"])
    return NO_VALUE


def band_rule(band: Band, reader: Reader) -> str:
    """A band's rule in words: the top three by total points, if at least 85."""
    by = reader.t(f"by.{band.by}")
    key, count, limit = (
        ("top", band.top, band.min) if band.top is not None else ("bottom", band.bottom, band.max)
    )
    if limit is None:
        return reader.t(f"band_rule.{key}", count=count, by=by)
    return reader.t(f"band_rule.{key}_limit", count=count, by=by, limit=reader.number(limit, 0))


@dataclass(frozen=True)
class Method:
    """The method page: who was asked and how answers were weighted, what counts, and
    the scheme's rules."""

    survey_key: str
    campaign: str
    question: str
    min_n: int
    weighted_by: str
    counted_levels: str
    sources: list[dict[str, str]]
    scales: list[dict[str, str]]
    targets: list[dict[str, str]]
    adjustments: list[dict[str, str]]
    bands: list[tuple[str, str]]
    district_min_n: int
    max_points: dict[str, str]


def method(result: Mapping[str, Any], scheme: Scheme, reader: Reader) -> Method:
    survey = next((f for a in result["agencies"] if (f := survey_figure(a))), None)
    weighted = (survey or {}).get("weighted_by") or []
    public = scheme.public
    names = {
        item["code"]: reader.name(item["name"])
        for agency in result["agencies"][:1]
        for item in agency.get("indicators", [])
    }
    names.update({code: reader.name(i.name) for code, i in scheme.agency_indicators.items()})
    units = {
        item["code"]: item["unit"]
        for agency in result["agencies"][:1]
        for item in agency.get("indicators", [])
    }
    units.update({code: i.unit for code, i in scheme.agency_indicators.items()})
    return Method(
        survey_key=public.survey.key,
        campaign=(survey or {}).get("campaign") or NO_VALUE,
        question=public.survey.question,
        min_n=public.survey.min_n,
        weighted_by=reader.t("list_separator").join(
            reader.t(f"post_stratum.{name}") for name in weighted
        )
        or NO_VALUE,
        counted_levels=reader.levels(sorted(scheme.counted_levels)),
        sources=[
            {
                "name": reader.t(f"source.{code}"),
                "weight": f"{100 * source.weight:.0f}%",
                "min_count": reader.count(source.min_count),
            }
            for code, source in public.sources.items()
        ],
        scales=[
            {
                "scale": reader.t(f"scale.{scale}"),
                "values": reader.t("list_separator").join(
                    f"{reader.t(f'answer.{answer}') if scale == 'hangzhou' else answer} = "
                    f"{reader.number(score, 0)}"
                    for answer, score in scores.items()
                ),
            }
            for scale, scores in public.scores.items()
        ],
        targets=[
            {
                "name": names.get(item.code, item.code),
                "weight": f"{100 * item.weight:.0f}%",
                "target": reader.value(item.target, units.get(item.code, "score")),
                "min_n": reader.count(item.min_n),
            }
            for item in scheme.targets.indicators
        ],
        adjustments=[
            {
                "name": f"{reader.name(scheme.adjustments(kind).name)}: {reader.name(item.name)}",
                "max_points": reader.points(item.max_points),
                "cap": reader.points(item.cap),
            }
            for kind in ("bonus", "penalty")
            for item in scheme.adjustments(kind).items.values()
        ],
        bands=[(reader.name(band.name), band_rule(band, reader)) for band in scheme.bands],
        district_min_n=scheme.districts.min_n,
        max_points={
            "public": reader.points(public.max_points),
            "targets": reader.points(scheme.targets.max_points),
            "leaders": reader.points(scheme.leaders.max_points),
            "bonus": reader.points(scheme.bonus.cap),
            "penalty": reader.points(scheme.penalty.cap),
        },
    )
