"""From a notice's public facts (`notice_facts`) to what its page and the reports show,
every date in city time and every figure and word in the reader's language.

The evidence is the JSON the notice was proposed on. Only these of its keys are ever
shown, whatever else it holds (sample comments stay with the office):

    count, total, share              the subject's comments in the period, all comments
                                     counted there, and the share (count / total)
    last_count, last_total,
    last_share                       the same for the year before
    change, share_change, p_value    the change in comments and in share (proportion
                                     points), and the p-value of the two-proportion test
    value, last_value, target, unit  an indicator's value, last year's, and its target
    months                           comments per month: {"2026-01": 3, ...} or
                                     [{"month": "2026-01", "count": 3}, ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.web._results.charts import column_bars
from bot.web._results.figures import NO_VALUE, Reader
from bot.web._results.notice_facts import ANSWERS, STAGES, NoticeFacts, as_utc
from civic.city import Profile
from civic.evaluation import BUILTIN
from civic.i18n import catalogue, localised, t
from civic.opinion import Codebook

SIGNIFICANT = 0.05  # the level a change in share is called significant at


def notice_reader(lang: str) -> Reader:
    return Reader(lang, lambda key, **params: t(f"notices_public.{key}", lang, **params))


@dataclass(frozen=True)
class NoticeRow:
    number: str
    agency: str
    subject: str
    period: str
    status: str
    status_text: str
    issued: str
    updated: str


@dataclass(frozen=True)
class MilestoneRow:
    text: str
    due: str
    state: str
    late: bool
    done: bool


@dataclass(frozen=True)
class EventRow:
    action: str
    date: str
    note: str


@dataclass(frozen=True)
class AnswerRow:
    stage: str
    cells: dict[str, str]  # better / same / worse: "count (share)"
    n: int


@dataclass(frozen=True)
class NoticeDetail:
    row: NoticeRow
    district: str
    problem: str
    commitment: str
    evidence: list[tuple[str, str, str]]  # figure, this period, the period before
    last_period: str
    change: str
    chart: Markup | None
    response_due: str
    responded: str
    milestones: list[MilestoneRow]
    events: list[EventRow]
    verification: str
    answers: list[AnswerRow]
    asked: int


class NoticeWords:
    """Formats notices for one reader: names from the profile and the codebook, dates in
    the city's time zone, milestones late against `today`."""

    def __init__(
        self, reader: Reader, profile: Profile, codebook: Codebook | None, today: date
    ) -> None:
        self.reader, self.profile, self.codebook, self.today = reader, profile, codebook, today
        self.zone = ZoneInfo(profile.timezone)

    def date(self, moment: datetime | date | None) -> str:
        if moment is None:
            return NO_VALUE
        if isinstance(moment, datetime):
            return as_utc(moment).astimezone(self.zone).date().isoformat()
        return moment.isoformat()

    def agency(self, code: str) -> str:
        known = self.profile.agencies.get(code)
        return known.label(self.reader.lang) if known else code

    def subject(self, facts: NoticeFacts) -> str:
        """A codebook code's label, else an indicator's name, else the code itself."""
        lang, code = self.reader.lang, facts.subject
        if self.codebook is not None and code in self.codebook.codes:
            return self.codebook.label(code, lang)
        if code in BUILTIN:
            return t(f"evaluation.indicator.{code}", lang)
        if f"notices_public.subject.{code}" in catalogue(lang):
            return self.reader.t(f"subject.{code}")
        named = facts.evidence.get("name")
        return localised(named, lang) if isinstance(named, dict) else code

    def row(self, facts: NoticeFacts) -> NoticeRow:
        steps = (facts.issued_at, facts.committed_at, facts.rectified_at, facts.verified_at)
        latest = max((as_utc(s) for s in steps if s is not None), default=None)
        return NoticeRow(
            number=facts.number,
            agency=self.agency(facts.agency),
            subject=self.subject(facts),
            period=facts.period,
            status=facts.status,
            status_text=self.reader.t(f"status.{facts.status}"),
            issued=self.date(facts.issued_at),
            updated=self.date(latest),
        )

    def detail(self, facts: NoticeFacts) -> NoticeDetail:
        lang, say = self.reader.lang, self.reader.t
        district = self.profile.districts.get(facts.district or "")
        return NoticeDetail(
            row=self.row(facts),
            district=district.label(lang) if district else (facts.district or ""),
            problem=localised(facts.problem, lang) or say("detail.no_text"),
            commitment=localised(facts.commitment, lang) or say("detail.no_text"),
            evidence=self.evidence(facts),
            last_period=_last_period(facts.period),
            change=self.change(facts),
            chart=self.chart(facts),
            response_due=say("detail.response_due", date=self.date(facts.response_due))
            if facts.response_due
            else "",
            responded=say("detail.responded", date=self.date(facts.committed_at))
            if facts.committed_at
            else say("detail.not_responded"),
            milestones=self.milestones(facts),
            events=[
                EventRow(say(f"action.{e.action}"), self.date(e.at), localised(e.note, lang))
                for e in facts.events
                if f"notices_public.action.{e.action}" in catalogue(lang)
            ],
            verification=self.verification(facts),
            answers=self.answers(facts),
            asked=facts.asked,
        )

    def evidence(self, facts: NoticeFacts) -> list[tuple[str, str, str]]:
        found, number = facts.evidence, self.reader
        share = found.get("share", _ratio(found.get("count"), found.get("total")))
        last_share = found.get(
            "last_share", _ratio(found.get("last_count"), found.get("last_total"))
        )
        unit = str(found.get("unit") or BUILTIN.get(facts.subject, ("score", ""))[0])
        rows = [
            ("count", number.count(found.get("count")), number.count(found.get("last_count"))),
            ("total", number.count(found.get("total")), number.count(found.get("last_total"))),
            ("share", number.value(share, "share"), number.value(last_share, "share")),
            (
                "value",
                number.value(found.get("value"), unit),
                number.value(found.get("last_value"), unit),
            ),
            ("target", number.value(found.get("target"), unit), NO_VALUE),
        ]
        return [
            (self.reader.t(f"figure.{code}"), now, before)
            for code, now, before in rows
            if (now, before) != (NO_VALUE, NO_VALUE)
        ]

    def change(self, facts: NoticeFacts) -> str:
        found = facts.evidence
        count, last = found.get("count"), found.get("last_count")
        if not isinstance(count, int | float) or not isinstance(last, int | float):
            return ""
        change = found.get("change", count - last)
        share_change = found.get("share_change")
        if share_change is None:
            now = _ratio(count, found.get("total"))
            before = _ratio(last, found.get("last_total"))
            share_change = None if now is None or before is None else now - before
        p = found.get("p_value")
        significant = isinstance(p, int | float) and p < SIGNIFICANT
        return self.reader.t(
            "detail.change",
            period=_last_period(facts.period),
            change=f"{int(change):+d}",
            points=NO_VALUE if share_change is None else f"{100 * share_change:+.1f}",
            p=p_clause(p),
            significance=self.reader.t(
                "detail.significant" if significant else "detail.not_significant"
            ),
        )

    def chart(self, facts: NoticeFacts) -> Markup | None:
        months = _months(facts.evidence.get("months") or facts.evidence.get("monthly"))
        if not months:
            return None
        subject = self.subject(facts)
        spoken = self.reader.t("list_separator").join(
            self.reader.t("detail.chart_item", month=month, count=self.reader.count(count))
            for month, count in months
        )
        return column_bars(
            [(month, float(count)) for month, count in months],
            title=self.reader.t("detail.chart_title", subject=subject, period=facts.period),
            description=self.reader.t("detail.chart_description", list=spoken),
            ident="months",
        )

    def milestones(self, facts: NoticeFacts) -> list[MilestoneRow]:
        rows = []
        for milestone in facts.milestones:
            if milestone.done_at is not None:
                done = as_utc(milestone.done_at).astimezone(self.zone).date()
                late = done > milestone.due
                state = self.reader.t(
                    "detail.done_late" if late else "detail.done_on", date=done.isoformat()
                )
            else:
                late = self.today > milestone.due
                state = self.reader.t("detail.late" if late else "detail.open")
            rows.append(
                MilestoneRow(
                    text=localised(milestone.text, self.reader.lang),
                    due=milestone.due.isoformat(),
                    state=state,
                    late=late,
                    done=milestone.done_at is not None,
                )
            )
        return rows

    def verification(self, facts: NoticeFacts) -> str:
        if facts.verified_at is not None:
            return self.reader.t("detail.verified_on", date=self.date(facts.verified_at))
        if facts.rectified_at is not None:
            return self.reader.t("detail.rectified_on", date=self.date(facts.rectified_at))
        return self.reader.t("detail.not_verified")

    def answers(self, facts: NoticeFacts) -> list[AnswerRow]:
        rows = []
        for stage in STAGES:
            counted = facts.answers.get(stage, {})
            n = sum(counted.get(answer, 0) for answer in ANSWERS)
            cells = {
                answer: self.reader.t(
                    "detail.share",
                    count=self.reader.count(counted.get(answer, 0)),
                    share=self.reader.value(counted.get(answer, 0) / n, "share"),
                )
                if n
                else NO_VALUE
                for answer in ANSWERS
            }
            rows.append(AnswerRow(self.reader.t(f"detail.stage.{stage}"), cells, n))
        return rows


def p_text(value: Any) -> str:
    if not isinstance(value, int | float):
        return NO_VALUE
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_clause(value: Any) -> str:
    """The p-value as a sentence says it: "p = 0.028", "p < 0.001"."""
    shown = p_text(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _ratio(count: Any, total: Any) -> float | None:
    if not isinstance(count, int | float) or not isinstance(total, int | float) or not total:
        return None
    return float(count) / float(total)


def _last_period(period: str) -> str:
    return str(int(period) - 1) if period.isdigit() else ""


def _months(raw: Any) -> list[tuple[str, float]]:
    """Comments per month from either shape the evidence may hold, in month order."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(m.get("month"), m.get("count")) for m in raw if isinstance(m, Mapping)]
    return sorted(
        (str(month), float(count))
        for month, count in pairs
        if isinstance(month, str) and isinstance(count, int | float)
    )
