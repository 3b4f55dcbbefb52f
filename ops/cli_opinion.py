"""`civicbot opinion collect`: put the citizens' free texts not yet in the comment store
there, redacted and with their suggested codes, printing the progress of each source.
`civicbot opinion trends --year 2026 [--lang zh|en] [--limit 10] [--agency A]
[--level code|theme] [--assurance LEVEL ...]`: the year's top problems, each with its
change on the year before and the p-value.
`civicbot opinion topics [--year Y] [--k N] [--language zh|en] [--lang zh|en]`: group the
uncoded comments into topics and print each with its size and top terms in both
languages (the desk's /desk/opinion/topics shows the same run, for staff to act on).
`civicbot opinion report --year 2026 [--format pdf|html] [--lang zh|en|both] [--out DIR]`:
the annual public-opinion analysis, one file per language."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from civic.city import Profile, get_profile
from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from civic.identity import LEVELS as ASSURANCE_LEVELS
from civic.opinion import (
    LEVELS,
    STAFF,
    Codebook,
    CodebookError,
    TopicError,
    TopicFilter,
    YearOverYear,
    codebook_path,
    collect_comments,
    group_topics,
    load_codebook,
    refresh_counts,
    run_topics,
    top_problems,
    topic_terms,
)
from civic.settings import Settings
from storage.db import session_scope


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    opinion = subparsers.add_parser("opinion", help="the public-opinion analysis of free texts")
    cmds = opinion.add_subparsers(dest="opinion_command", required=True)
    collect = cmds.add_parser("collect", help="store new free texts, redacted, with codes")
    collect.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    collect.set_defaults(handler=cmd_collect)
    trends = cmds.add_parser("trends", help="the year's top problems and their change")
    trends.add_argument("--year", type=int, required=True)
    trends.add_argument("--limit", type=int, default=10, help="how many (default 10)")
    trends.add_argument("--agency", help="only the comments about this agency")
    trends.add_argument(
        "--assurance",
        action="append",
        choices=[*ASSURANCE_LEVELS, STAFF],
        help="only comments written at this assurance level (repeat for several)",
    )
    trends.add_argument(
        "--level", choices=LEVELS, default="code", help="codes as coded, or their themes"
    )
    trends.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    trends.set_defaults(handler=cmd_trends)
    report = cmds.add_parser(
        "report",
        help="the annual public-opinion analysis, as HTML or PDF",
        description="Top problems, their change on the year before, the sources of the "
        "comments and the improvement notices issued in the year, one file per language: "
        "opinion-YEAR-LANG.html or .pdf. PDF is printed by a headless Chromium "
        "(apt-get install chromium fonts-wqy-microhei).",
    )
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--format", choices=("html", "pdf"), default="pdf")
    report.add_argument("--lang", choices=[*LANGUAGES, "both"], default="both")
    report.add_argument("--out", type=Path, help="folder (default: var/reports/)")
    report.set_defaults(handler=cmd_report)
    topics = cmds.add_parser("topics", help="group the uncoded comments into topics")
    topics.add_argument("--year", type=int, help="only the comments of this year")
    topics.add_argument("--k", type=int, help="how many topics (default: the codebook's codes)")
    topics.add_argument("--language", choices=LANGUAGES, help="only comments in this language")
    topics.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    topics.set_defaults(handler=cmd_topics)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import ReportError, gather_opinion, print_pdf, render_opinion
    from ops.startup import prepare

    languages = LANGUAGES if args.lang == "both" else (args.lang,)
    say = languages[0]
    try:
        profile, codebook = _codebook(settings)
    except CodebookError as exc:
        print(t("opinion_report.cli.no_codebook", say, detail=exc))
        return 1
    prepare(settings)

    def progress(step: str) -> None:
        key = f"opinion_report.cli.step.{step}"
        print(t(key, say, year=args.year, last=args.year - 1), flush=True)

    with session_scope(settings.database_url) as session:
        opinion = gather_opinion(
            session=session, profile=profile, codebook=codebook, year=args.year, progress=progress
        )
    out = args.out or settings.var_dir / "reports"
    out.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        html = render_opinion(opinion, lang)
        target = out / f"opinion-{args.year}-{lang}.{args.format}"
        if args.format == "html":
            target.write_text(html, "utf-8")
        else:
            try:
                print_pdf(html, target)
            except ReportError as exc:
                key = "no_chromium" if str(exc) == "chromium" else "print_failed"
                print(t(f"opinion_report.cli.{key}", lang, detail=exc))
                return 1
        print(t("opinion_report.cli.written", lang, path=target))
    return 0


def _codebook(settings: Settings) -> tuple[Profile, Codebook]:
    profile = get_profile(settings.profiles_dir, settings.profile)
    return profile, load_codebook(codebook_path(profile), profile)


def cmd_collect(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    profile, codebook = _codebook(settings)
    prepare(settings)
    lang = args.lang

    def progress(source: str, rows: int) -> None:
        print(t("opinion.cli.progress", lang, source=_source(source, lang), rows=rows), flush=True)

    with session_scope(settings.database_url) as session:
        collected = collect_comments(
            session=session, profile=profile, codebook=codebook, progress=progress
        )
        refresh_counts(session=session, codebook=codebook)  # the trends then read them at once
    counts = ", ".join(
        f"{_source(source, lang)} {count}" for source, count in collected.counts.items()
    )
    print(
        t(
            "opinion.cli.collected",
            lang,
            total=collected.total,
            counts=counts,
            moved=collected.moved,
        )
    )
    return 0


def _source(source: str, lang: str) -> str:
    return t(f"opinion.source.{source}", lang)


def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    _, codebook = _codebook(settings)
    prepare(settings)
    with session_scope(settings.database_url) as session:
        top = top_problems(
            session=session,
            codebook=codebook,
            year=args.year,
            limit=args.limit,
            agency=args.agency,
            level=args.level,
            assurance=args.assurance,
        )
    if not top:
        print(t("opinion.cli.none", args.lang, year=args.year))
        return 0
    print(
        t(
            "opinion.cli.heading",
            args.lang,
            year=args.year,
            total=top[0].total,
            last=args.year - 1,
            last_total=top[0].last_total,
        )
    )
    for rank, change in enumerate(top, start=1):
        print(_line(rank, change, codebook, args.year, args.lang))
    print(t("opinion.cli.basis", args.lang))
    return 0


def _line(rank: int, change: YearOverYear, codebook: Codebook, year: int, lang: str) -> str:
    return t(
        "opinion.cli.problem",
        lang,
        rank=rank,
        label=codebook.label(change.code, lang),
        code=change.code,
        count=change.count,
        share=f"{change.share:.1%}",
        last=year - 1,
        last_count=change.last_count,
        last_share=f"{change.last_share:.1%}",
        change=f"{change.change:+d}",
        points=f"{change.share_change * 100:+.1f}",
        p=_p(change.p_value),
        accepted=change.accepted,
    )


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    _, codebook = _codebook(settings)
    prepare(settings)
    lang = args.lang

    def progress(step: str, count: int) -> None:
        print(t(f"opinion.topics.cli.progress_{step}", lang, count=count), flush=True)

    where = TopicFilter(year=args.year, language=args.language)
    with session_scope(settings.database_url) as session:
        try:
            run = group_topics(
                session=session, codebook=codebook, where=where, k=args.k, progress=progress
            )
        except TopicError as exc:
            print(exc.text(lang))
            return 2
        if not run.comments:
            print(t("opinion.topics.cli.none", lang))
            return 0
        topics = run_topics(session=session, run=run)
        print(
            t(
                "opinion.topics.cli.done",
                lang,
                run=run.id,
                comments=run.comments,
                topics=len(topics),
                seconds=f"{run.seconds or 0:.1f}",
            )
        )
        for topic in topics:
            terms = topic_terms(topic)
            print(
                t(
                    "opinion.topics.cli.topic",
                    lang,
                    number=topic.number,
                    size=topic.size,
                    zh="、".join(terms["zh"]) or "—",
                    en=", ".join(terms["en"]) or "—",
                )
            )
    return 0
