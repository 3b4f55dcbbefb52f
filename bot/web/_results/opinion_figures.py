"""The annual public-opinion analysis: the year's figures gathered once from the comment
store and the notices (`gather_opinion`), then worded for a reader (`opinion_view`), for
the opinion report and the evaluation report's section on top problems and notices.

Only counts reach a report: comment texts, who wrote them and who acted on a notice are
never read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.web._results.charts import Bar, Segment, stacked_bars
from bot.web._results.figures import NO_VALUE, Reader, Translate
from bot.web._results.notice_facts import ANSWERS, STAGES, NoticeFacts, public_notices
from bot.web._results.notice_figures import (
    SIGNIFICANT,
    NoticeWords,
    notice_reader,
    p_clause,
    p_text,
)
from civic.city import Profile
from civic.i18n import localised, t
from civic.opinion import SOURCES, Codebook, YearOverYear, top_problems, year_over_year
from storage.models import Comment

STEPS = ("top", "changes", "sources", "notices")
TOP = 10  # how many top problems a report shows


@dataclass(frozen=True)
class OpinionYear:
    """Everything a report says about the year, in no language yet."""

    year: int
    profile: Profile
    codebook: Codebook
    total: int
    last_total: int
    top: list[YearOverYear]
    changes: list[YearOverYear]
    sources: dict[str, int]
    notices: list[NoticeFacts]


def gather_opinion(
    *,
    session: Session,
    profile: Profile,
    codebook: Codebook,
    year: int,
    progress: Callable[[str], None] | None = None,
) -> OpinionYear:
    """The year's figures; `progress` is told each step (STEPS) as it starts."""
    say = progress or (lambda step: None)
    say("top")
    top = top_problems(session=session, codebook=codebook, year=year, limit=TOP)
    say("changes")
    changes = year_over_year(session=session, codebook=codebook, year=year)
    say("sources")
    sources = comments_by_source(session=session, year=year)
    last = comments_by_source(session=session, year=year - 1)
    say("notices")
    zone = ZoneInfo(profile.timezone)
    window = (datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone))
    notices = public_notices(session=session, issued_between=window)
    return OpinionYear(
        year=year,
        profile=profile,
        codebook=codebook,
        total=sum(sources.values()),
        last_total=sum(last.values()),
        top=top,
        changes=changes,
        sources=sources,
        notices=sorted(notices, key=lambda n: n.number),
    )


def comments_by_source(*, session: Session, year: int) -> dict[str, int]:
    """How many comments each source gave in the year, every source listed."""
    counted = dict(
        session.execute(
            select(Comment.source, func.count())
            .where(Comment.month.like(f"{year:04d}-%"))
            .group_by(Comment.source)
        ).all()
    )
    return {source: int(counted.get(source, 0)) for source in SOURCES}


@dataclass(frozen=True)
class ProblemRow:
    rank: int
    label: str
    count: str
    share: str
    accepted: str
    suggested: str
    last_count: str
    last_share: str
    change: str
    points: str
    p: str
    p_clause: str  # "p = 0.028", "p < 0.001"
    significant: bool


@dataclass(frozen=True)
class NoticeLine:
    number: str
    agency: str
    subject: str
    status: str
    commitment: str
    milestones: str
    answers: list[str]


@dataclass(frozen=True)
class OpinionView:
    """The year worded for one reader; `t` holds the report's own texts."""

    t: Translate
    year: int
    last_year: int
    total: str
    last_total: str
    top: list[ProblemRow]
    chart: Markup | None
    rises: list[ProblemRow]
    falls: list[ProblemRow]
    changes: list[ProblemRow]
    sources: list[tuple[str, str, str]]  # name, count, share
    notices: list[NoticeLine]


def opinion_reader(lang: str) -> Reader:
    return Reader(lang, lambda key, **params: t(f"opinion_report.{key}", lang, **params))


def opinion_view(opinion: OpinionYear, lang: str) -> OpinionView:
    reader = opinion_reader(lang)
    top = [_problem(rank, c, opinion.codebook, reader) for rank, c in enumerate(opinion.top, 1)]
    changes = sorted(opinion.changes, key=lambda c: (-c.share_change, c.code))
    rows = [_problem(0, c, opinion.codebook, reader) for c in changes]
    today = datetime.now(ZoneInfo(opinion.profile.timezone)).date()
    words = NoticeWords(notice_reader(lang), opinion.profile, opinion.codebook, today)
    return OpinionView(
        t=reader.t,
        year=opinion.year,
        last_year=opinion.year - 1,
        total=reader.count(opinion.total),
        last_total=reader.count(opinion.last_total),
        top=top,
        chart=_chart(opinion, top, reader),
        rises=[
            r for r, c in zip(rows, changes, strict=True) if r.significant and c.share_change > 0
        ],
        falls=[
            r for r, c in zip(rows, changes, strict=True) if r.significant and c.share_change < 0
        ],
        changes=rows,
        sources=[
            (
                t(f"opinion.source.{source}", lang),
                reader.count(count),
                reader.value(count / opinion.total, "share") if opinion.total else NO_VALUE,
            )
            for source, count in opinion.sources.items()
        ],
        notices=[_notice(facts, words, reader) for facts in opinion.notices],
    )


def _problem(rank: int, change: YearOverYear, codebook: Codebook, reader: Reader) -> ProblemRow:
    significant = change.p_value is not None and change.p_value < SIGNIFICANT
    return ProblemRow(
        rank=rank,
        label=codebook.label(change.code, reader.lang),
        count=reader.count(change.count),
        share=reader.value(change.share, "share"),
        accepted=reader.count(change.accepted),
        suggested=reader.count(change.count - change.accepted),
        last_count=reader.count(change.last_count),
        last_share=reader.value(change.last_share, "share"),
        change=f"{change.change:+d}",
        points=f"{100 * change.share_change:+.1f}",
        p=p_text(change.p_value),
        p_clause=p_clause(change.p_value),
        significant=significant,
    )


def _chart(opinion: OpinionYear, rows: list[ProblemRow], reader: Reader) -> Markup | None:
    """The top problems as bars of their accepted and suggested comments."""
    if not opinion.top:
        return None
    legend = [reader.t("column.accepted"), reader.t("column.suggested")]
    bars = [
        Bar(
            label=row.label,
            segments=(
                Segment(f"{legend[0]}: {row.accepted}", float(change.accepted)),
                Segment(f"{legend[1]}: {row.suggested}", float(change.count - change.accepted)),
            ),
            total_label=row.count,
        )
        for row, change in zip(rows, opinion.top, strict=True)
    ]
    spoken = reader.t("list_separator").join(
        reader.t("chart.item", rank=row.rank, label=row.label, count=row.count, share=row.share)
        for row in rows
    )
    return stacked_bars(
        bars,
        legend,
        maximum=float(max(c.count for c in opinion.top)),
        title=reader.t("chart.title", year=opinion.year),
        description=reader.t("chart.description", list=spoken),
        ident="top-problems",
    )


def _notice(facts: NoticeFacts, words: NoticeWords, reader: Reader) -> NoticeLine:
    row = words.row(facts)
    milestones = words.milestones(facts)
    answers = []
    for stage in STAGES:
        counted = facts.answers.get(stage, {})
        n = sum(counted.get(answer, 0) for answer in ANSWERS)
        if n:
            answers.append(
                reader.t(
                    "notices.answers",
                    stage=words.reader.t(f"detail.stage.{stage}"),
                    better=counted.get("better", 0),
                    same=counted.get("same", 0),
                    worse=counted.get("worse", 0),
                    n=n,
                    share=reader.value(counted.get("better", 0) / n, "share"),
                )
            )
    return NoticeLine(
        number=row.number,
        agency=row.agency,
        subject=row.subject,
        status=row.status_text,
        commitment=localised(facts.commitment, reader.lang) or NO_VALUE,
        milestones=reader.t(
            "notices.milestones",
            done=sum(m.done for m in milestones),
            total=len(milestones),
            late=sum(m.late for m in milestones),
        )
        if milestones
        else NO_VALUE,
        answers=answers or [reader.t("notices.no_answers")],
    )
