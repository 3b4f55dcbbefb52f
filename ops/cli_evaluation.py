"""`civicbot evaluation compute --year 2026`: score every department as the year's scheme
says (`profiles/<city>/evaluation/<year>.yml`), print the ranking and the district
scorecards, and freeze the result as a new version when it changed (with a reason).

`civicbot evaluation report --year 2026 [--format pdf|html]`: the annual social evaluation
report of a frozen version, in Chinese and English, ending with the year's top problems
and improvement notices when the city has a codebook."""

from __future__ import annotations

import argparse
import getpass
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from civic.city import Profile, get_profile
from civic.evaluation import (
    STEPS,
    EvaluationError,
    EvaluationResult,
    ReasonRequired,
    compute,
    freeze,
    frozen_result,
    load_scheme,
    pending_changes,
    scheme_path,
    versions,
)
from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, localised, t
from civic.opinion import CodebookError, codebook_path, load_codebook
from civic.settings import Settings
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.web import OpinionYear

COLUMNS = ("rank", "agency", "public", "targets", "leaders", "bonus", "penalty", "total", "band")
WIDTHS = {"rank": 6, "agency": 30, "band": 0}
NUMBER_WIDTH = 9


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    evaluation = subparsers.add_parser("evaluation", help="the annual evaluation of departments")
    cmds = evaluation.add_subparsers(dest="evaluation_command", required=True)
    run = cmds.add_parser("compute", help="score the year, print the ranking, freeze the result")
    run.add_argument("--year", type=int, required=True)
    run.add_argument("--reason", help="why the figures are recomputed (needed after version 1)")
    run.add_argument("--by", default=None, help="who computes it (default: the login name)")
    run.add_argument(
        "--as-of", help="when open tickets are judged late: ISO date-time, city time if no zone"
    )
    run.add_argument("--dry-run", action="store_true", help="print the result, freeze nothing")
    run.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    run.set_defaults(handler=cmd_evaluation_compute)
    report = cmds.add_parser(
        "report",
        help="the annual social evaluation report of a frozen version, as HTML or PDF",
        description="From the latest frozen version of the year (or --version), one file "
        "per language: report-YEAR-vN-LANG.html or .pdf. PDF is printed by a headless "
        "Chromium (apt-get install chromium fonts-wqy-microhei).",
    )
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--format", choices=("html", "pdf"), default="pdf")
    report.add_argument("--version", type=int, help="a frozen version (default: the latest)")
    report.add_argument("--lang", choices=[*LANGUAGES, "both"], default="both")
    report.add_argument("--out", type=Path, help="folder (default: var/reports/)")
    report.set_defaults(handler=cmd_evaluation_report)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(text: str, width: int, *, right: bool = False) -> str:
    pad = " " * max(width - _width(text), 0)
    return pad + text if right else text + pad


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


class _Progress:
    """Prints each step as it starts; a step in parts is redrawn in place on a terminal."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.tty = sys.stdout.isatty()

    def __call__(self, step: str, done: int, total: int) -> None:
        params = {"number": STEPS.index(step) + 1, "steps": len(STEPS)}
        params["step"] = t(f"evaluation.step.{step}", self.lang)  # type: ignore[assignment]
        if total > 1 and self.tty:
            line = t("evaluation.cli.progress_part", self.lang, done=done, total=total, **params)
            print("\r" + line, end="\n" if done == total else "", flush=True)
        elif done == 0:
            print(t("evaluation.cli.progress", self.lang, **params), flush=True)


def print_ranking(result: EvaluationResult, lang: str) -> None:
    heads = [
        _cell(
            t(f"evaluation.cli.column.{c}", lang),
            WIDTHS.get(c, NUMBER_WIDTH),
            right=c not in WIDTHS,
        )
        for c in COLUMNS
    ]
    print("  ".join(heads).rstrip())
    for score in result.agencies:
        rank = str(score.rank) if score.rank else t("evaluation.cli.unranked", lang)
        cells = [_cell(rank, WIDTHS["rank"]), _cell(score.label(lang), WIDTHS["agency"])]
        for code in ("public", "targets", "leaders", "bonus", "penalty"):
            cells.append(_cell(_number(score.points(code)), NUMBER_WIDTH, right=True))
        cells.append(_cell(_number(score.total), NUMBER_WIDTH, right=True))
        cells.append(_band_name(result, score.band, lang))
        print("  ".join(cells).rstrip())


def _band_name(result: EvaluationResult, band: str | None, lang: str) -> str:
    if band is None:
        return ""
    return localised(result.scheme["bands"].get(band, {}), lang) or band


def print_districts(result: EvaluationResult, lang: str) -> None:
    print(t("evaluation.cli.districts", lang))
    none = t("evaluation.cli.no_value", lang)
    for card in result.districts:
        satisfaction = card.satisfaction["value"]
        on_time = card.indicator("on_time_rate")["value"] if _has(card, "on_time_rate") else None
        median = card.indicator("median_hours")["value"] if _has(card, "median_hours") else None
        volume = card.indicator("volume")["n"] if _has(card, "volume") else none
        line = t(
            "evaluation.cli.district_row",
            lang,
            name=localised(card.name, lang),
            satisfaction=none if satisfaction is None else f"{satisfaction:.1f}",
            n=card.satisfaction["n"],
            volume=volume,
            on_time=none if on_time is None else f"{on_time:.0%}",
            median=none if median is None else f"{median:.1f}",
        )
        print("  " + line)


def _has(card: Any, code: str) -> bool:
    return any(row["code"] == code for row in card.indicators)


def print_warnings(result: EvaluationResult, profile: Profile, lang: str) -> None:
    for warning in result.warnings:
        params = dict(warning)
        code = params.pop("code")
        if "agency" in params:
            params["agency"] = profile.agencies[params["agency"]].label(lang)
        print("! " + t(f"evaluation.warning.{code}", lang, **params))


def print_changes(diff: dict[str, Any], profile: Profile, lang: str) -> None:
    print(t("evaluation.cli.changed", lang, version=diff["from_version"]))
    if diff["scheme"]:
        print(t("evaluation.cli.change_scheme", lang))
    for agency in diff["agencies"]:
        total = agency.get("total")
        if total is None:
            continue
        change = total.get("change")
        print(
            t(
                "evaluation.cli.change_agency",
                lang,
                agency=profile.agencies[agency["agency"]].label(lang),
                before=_number(total["from"]),
                after=_number(total["to"]),
                change="—" if change is None else f"{change:+.2f}",
            )
        )
    if diff["inputs"]:
        print(t("evaluation.cli.change_inputs", lang, count=len(diff["inputs"])))


def cmd_evaluation_compute(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    lang = args.lang
    profile = get_profile(settings.profiles_dir, settings.profile)
    path = scheme_path(profile, args.year)
    if not path.is_file():
        print(t("evaluation.cli.scheme_missing", lang, year=args.year, path=path))
        return 1
    scheme = load_scheme(path, profile)
    as_of = _moment(args.as_of, profile.timezone) if args.as_of else None
    prepare(settings)
    with session_scope(settings.database_url) as session:
        try:
            result = compute(
                session=session,
                scheme=scheme,
                profile=profile,
                as_of=as_of,
                progress=_Progress(lang),
            )
        except EvaluationError as exc:
            print(t("evaluation.cli.error", lang, year=args.year, detail=exc))
            return 1
        _print_result(result, profile, lang)
        if args.dry_run:
            print(t("evaluation.cli.dry_run", lang))
            return 0
        return _freeze(session, result, profile, args, lang)


def cmd_evaluation_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import ReportError, print_pdf, render_report

    profile = get_profile(settings.profiles_dir, settings.profile)
    languages = LANGUAGES if args.lang == "both" else (args.lang,)
    say = languages[0]
    path = scheme_path(profile, args.year)
    if not path.is_file():
        print(t("evaluation.cli.scheme_missing", say, year=args.year, path=path))
        return 1
    scheme = load_scheme(path, profile)
    with session_scope(settings.database_url) as session:
        frozen = versions(session=session, year=args.year)
        chosen = [v for v in frozen if args.version in (None, v.version)][-1:]
        if not chosen:
            print(t("evaluation.cli.no_version", say, year=args.year, version=args.version or 1))
            return 1
        version = chosen[0]
        result = frozen_result(session=session, snapshot_id=version.id)
        opinion = _opinion(session, profile, args.year)
    assert result is not None
    out = args.out or settings.var_dir / "reports"
    out.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        html = render_report(
            result=result, scheme=scheme, version=version, lang=lang, opinion=opinion
        )
        target = out / f"report-{args.year}-v{version.version}-{lang}.{args.format}"
        if args.format == "html":
            target.write_text(html, "utf-8")
        else:
            try:
                print_pdf(html, target)
            except ReportError as exc:
                key = "no_chromium" if str(exc) == "chromium" else "print_failed"
                print(t(f"evaluation.cli.{key}", lang, detail=exc))
                return 1
        print(t("evaluation.cli.report_written", lang, path=target))
    return 0


def _opinion(session: Any, profile: Profile, year: int) -> OpinionYear | None:
    """The year's top problems and notices for the report's last section; a city without
    a codebook has no such section."""
    from bot.web import gather_opinion

    try:
        codebook = load_codebook(codebook_path(profile), profile)
    except CodebookError:
        return None
    return gather_opinion(session=session, profile=profile, codebook=codebook, year=year)


def _moment(text: str, timezone: str) -> datetime:
    """An ISO date-time; city time when it names no zone."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _print_result(result: EvaluationResult, profile: Profile, lang: str) -> None:
    name = localised(result.scheme["name"], lang)
    print()
    print(
        t("evaluation.cli.title", lang, name=name, count=len(result.agencies), as_of=result.as_of)
    )
    print_ranking(result, lang)
    print()
    print_districts(result, lang)
    print_warnings(result, profile, lang)


def _freeze(
    session: Any, result: EvaluationResult, profile: Profile, args: argparse.Namespace, lang: str
) -> int:
    diff = pending_changes(session=session, result=result)
    try:
        frozen = freeze(
            session=session,
            result=result,
            created_by=args.by or getpass.getuser(),
            reason=args.reason,
        )
    except ReasonRequired as exc:
        if exc.key != "reason_required":
            print(exc.text(lang))
            return 1
        if diff:
            print_changes(diff, profile, lang)
        print(t("evaluation.cli.needs_reason", lang, version=diff["from_version"] if diff else 1))
        return 1
    snapshot = frozen.snapshot
    if not frozen.created:
        created = snapshot.created_at.isoformat(timespec="minutes")
        print(
            t(
                "evaluation.cli.unchanged",
                lang,
                version=snapshot.version,
                year=snapshot.year,
                created_at=created,
            )
        )
        return 0
    if frozen.diff:
        print_changes(frozen.diff, profile, lang)
    print(t("evaluation.cli.frozen", lang, version=snapshot.version, year=snapshot.year))
    return 0
