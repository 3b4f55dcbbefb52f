"""`civicbot campaign|window|survey ...`: the evaluation office's public-evaluation
commands: run invitation campaigns and follow them, print letters, make QR codes for
service windows, check surveys and export results (the registry: ops/cli_frame.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from civic.city import Profile, get_profile
from civic.settings import Settings
from storage.db import session_scope


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    campaign = subparsers.add_parser("campaign", help="survey invitation campaigns")
    cmds = campaign.add_subparsers(dest="campaign_command", required=True)
    create = cmds.add_parser("create", help="create a campaign and draw its stratified sample")
    create.add_argument("--name", required=True)
    create.add_argument("--survey", required=True, help="the survey's key")
    create.add_argument("--n", type=int, required=True, help="sample size")
    create.add_argument("--strata", default="district", help="comma-separated attributes")
    create.add_argument("--allocation", choices=["proportional", "equal"], default="proportional")
    create.add_argument("--seed", type=int, default=1)
    create.add_argument("--start", required=True, help="ISO date-time (city time if no zone)")
    create.add_argument("--end", required=True)
    create.add_argument("--window", default="09:00-20:00", help="daily send window, city time")
    create.add_argument("--reminders", default="2,5", help="days after the invitation; ≤ 2")
    create.add_argument(
        "--population",
        action="append",
        default=[],
        metavar="ATTR=V1,V2",
        help="only people with these values",
    )
    create.add_argument(
        "--channels",
        default="telegram,web,sms,email,letter",
        help="in order of preference: each person gets the first they have",
    )
    create.add_argument("--quiet-days", type=int, default=90)
    create.set_defaults(handler=cmd_campaign_create)

    status = cmds.add_parser("status", help="progress overall and per stratum")
    status.add_argument("id", type=int)
    status.add_argument("--follow", action="store_true", help="keep a progress bar updated")
    status.set_defaults(handler=cmd_campaign_status)

    send = cmds.add_parser("send", help="send what is due now (the scheduler does this too)")
    send.add_argument(
        "--until-idle", action="store_true", help="keep going until nothing is due, then stop"
    )
    send.add_argument("--concurrency", type=int, default=16)
    send.set_defaults(handler=cmd_campaign_send)

    letters = cmds.add_parser("letters", help="print the letter invitations due as one PDF")
    letters.add_argument("id", type=int)
    letters.add_argument("out", type=Path)
    letters.set_defaults(handler=cmd_campaign_letters)

    results = cmds.add_parser("results", help="satisfaction results of a survey")
    results.add_argument("survey")
    results.add_argument("--campaign", type=int)
    results.add_argument("--csv", type=Path, help="write the CSV export here")
    results.add_argument("--charts", type=Path, help="write one PNG chart per agency here")
    results.set_defaults(handler=cmd_campaign_results)

    window = subparsers.add_parser("window", help="public service windows rated on the spot")
    wcmds = window.add_subparsers(dest="window_command", required=True)
    add = wcmds.add_parser("add", help="register a window")
    add.add_argument("--agency", required=True)
    add.add_argument("--hall", required=True)
    add.add_argument("--number", required=True)
    add.set_defaults(handler=cmd_window_add)
    qr = wcmds.add_parser("qr", help="the window's signed QR code as PNG (opens the bot)")
    qr.add_argument("id", type=int)
    qr.add_argument("out", type=Path)
    valid = qr.add_mutually_exclusive_group()
    valid.add_argument(
        "--until", type=date.fromisoformat, help="valid until this date (YYYY-MM-DD), city time"
    )
    valid.add_argument(
        "--today", action="store_true", help="valid today only: for a code shown on a screen"
    )
    qr.set_defaults(handler=cmd_window_qr)
    revoke = wcmds.add_parser("revoke", help="make every QR code of the window invalid")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=cmd_window_revoke)

    survey = subparsers.add_parser("survey", help="survey definitions")
    scmds = survey.add_subparsers(dest="survey_command", required=True)
    validate = scmds.add_parser("validate", help="check survey files; errors name file and line")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(handler=cmd_survey_validate)


def _ready(settings: Settings) -> None:
    """The schema is current and the profile's surveys are loaded."""
    from ops.startup import prepare

    prepare(settings)


def _profile(settings: Settings) -> Profile:
    return get_profile(settings.profiles_dir, settings.profile)


def _moment(text: str, timezone: str) -> datetime:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def cmd_campaign_create(args: argparse.Namespace, settings: Settings) -> int:
    from civic.campaigns import Design, create_campaign, draw
    from civic.surveys import get_survey

    profile = _profile(settings)
    population = {}
    for item in args.population:
        name, _, values = item.partition("=")
        population[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    window = tuple(args.window.split("-", 1))
    reminders = tuple(int(d) for d in args.reminders.split(",") if d.strip())
    design = Design(
        strata=tuple(s.strip() for s in args.strata.split(",") if s.strip()),
        n=args.n,
        allocation=args.allocation,
        seed=args.seed,
        population=population,
        quiet_days=args.quiet_days,
        channels=tuple(c.strip() for c in args.channels.split(",") if c.strip()),
    )
    _ready(settings)
    with session_scope(settings.database_url) as session:
        if get_survey(session=session, key=args.survey, agencies=profile.agencies) is None:
            print(f"no survey {args.survey!r}: see profiles/<city>/surveys/")
            return 1
        try:
            campaign = create_campaign(
                session=session,
                name=args.name,
                survey_key=args.survey,
                design=design,
                starts_at=_moment(args.start, profile.timezone),
                ends_at=_moment(args.end, profile.timezone),
                window=(window[0], window[1]) if len(window) == 2 else ("09:00", "20:00"),
                timezone=profile.timezone,
                reminder_days=reminders,
            )
            drawn = draw(session=session, campaign=campaign)
        except ValueError as exc:
            print(f"cannot create the campaign: {exc}")
            return 1
        print(f"campaign {campaign.id}: {drawn} people sampled")
    return 0


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def print_status(settings: Settings, campaign_id: int) -> str | None:
    from civic.campaigns import progress
    from storage.models import Campaign

    with session_scope(settings.database_url) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            print(f"no campaign {campaign_id}")
            return None
        report = progress(session=session, campaign_id=campaign_id)
        handled = report.total - report.states["pending"] - report.states["sending"]
        print(f"campaign {campaign.id} {campaign.name!r} ({campaign.status})")
        print(f"  sent {_bar(handled, report.total)}")
        print(
            f"  invited {report.total}  delivered {report.delivered}  "
            f"failed {report.states['failed']}  unreachable {report.states['unreachable']}  "
            f"started {report.started}  completed {report.completed}  "
            f"opted out {report.opted_out}  response rate {report.response_rate:.1%}"
        )
        cost = report.sms_cost(settings.sms_cost_per_segment)
        print(f"  SMS {report.sms_messages}  segments {report.sms_segments}  cost {cost:.2f}")
        for stratum, counts in sorted(report.strata.items()):
            rate = counts["completed"] / counts["invited"] if counts["invited"] else 0.0
            print(
                f"    {stratum:<40} invited {counts['invited']:>6}  delivered "
                f"{counts['sent']:>6}  completed {counts['completed']:>6}  {rate:.1%}"
            )
        return campaign.status


def cmd_campaign_status(args: argparse.Namespace, settings: Settings) -> int:
    status = print_status(settings, args.id)
    while args.follow and status == "running":
        time.sleep(2)
        print("\033[2J\033[H", end="")  # redraw in place
        status = print_status(settings, args.id)
    return 0 if status else 1


def cmd_campaign_send(args: argparse.Namespace, settings: Settings) -> int:
    from bot.campaigns import SenderOptions, make_sender, sender_lock

    _ready(settings)
    lock = sender_lock(settings)
    # a sender killed a moment ago may still hold it until its connection is gone
    deadline = time.monotonic() + 15
    while not lock.acquire():
        if time.monotonic() > deadline:
            print("another campaign sender is running (the scheduler's, perhaps)")
            return 1
        time.sleep(0.5)
    try:
        sender = make_sender(settings, options=SenderOptions(concurrency=args.concurrency))
        sender.keepalive = lock.acquire
        recovered = sender.recover()
        if any(recovered.values()):
            print(f"recovered after a stop: {recovered}")
        report = asyncio.run(sender.send_all_due())
        print(
            f"sent {report.sent}, retry {report.retry}, failed {report.failed}, "
            f"unreachable {report.unreachable}"
        )
    finally:
        lock.release()
    return 0


def cmd_campaign_letters(args: argparse.Namespace, settings: Settings) -> int:
    from bot.campaigns import print_letters

    count = print_letters(settings, args.id, args.out)
    print(f"{count} letters written to {args.out}" if count else "no letters are due")
    return 0


def cmd_campaign_results(args: argparse.Namespace, settings: Settings) -> int:
    from civic.surveys import export_results

    return export_results(settings, args.survey, args.campaign, args.csv, args.charts)


def cmd_window_add(args: argparse.Namespace, settings: Settings) -> int:
    from storage.windows import add_window

    if args.agency not in _profile(settings).agencies:
        print(f"unknown agency {args.agency!r}")
        return 1
    _ready(settings)
    with session_scope(settings.database_url) as session:
        window = add_window(session=session, agency=args.agency, hall=args.hall, number=args.number)
        print(
            f"window {window.id}: make its QR code with `civicbot window qr {window.id} "
            f"window-{window.id}.png`"
        )
    return 0


def cmd_window_qr(args: argparse.Namespace, settings: Settings) -> int:
    """A printed code is valid until revoked (or --until); --today makes a code for a
    screen, to be replaced each day."""
    from civic.campaigns import qr_png, sign_window_code, window_deep_link
    from storage.models import ServiceWindow

    profile = _profile(settings)
    today = datetime.now(ZoneInfo(profile.timezone)).date()
    until = today if args.today else args.until
    if until is not None and until < today:
        print(f"--until {until} is already past")
        return 1
    with session_scope(settings.database_url) as session:
        window = session.get(ServiceWindow, args.id)
        if window is None:
            print(f"no window {args.id}")
            return 1
        code = sign_window_code(
            secret=settings.secret_key, window_id=window.id, serial=window.token_serial, until=until
        )
    link = window_deep_link(settings.telegram_bot_username, code)
    args.out.write_bytes(qr_png(link))
    web = f"{settings.public_url}/?start={code}"
    print(f"{args.out}: {link} (web chat: {web}); valid {until or 'until revoked'}")
    return 0


def cmd_window_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from storage.models import ServiceWindow
    from storage.windows import revoke_codes

    with session_scope(settings.database_url) as session:
        window = session.get(ServiceWindow, args.id)
        if window is None:
            print(f"no window {args.id}")
            return 1
        revoke_codes(session=session, window=window)
    print(
        f"every QR code of window {args.id} is now invalid: print a new one with "
        f"`civicbot window qr {args.id} window-{args.id}.png`"
    )
    return 0


def cmd_survey_validate(args: argparse.Namespace, settings: Settings) -> int:
    from civic.surveys import SurveyError, load_survey

    agencies = _profile(settings).agencies
    failed = 0
    for path in args.files:
        try:
            survey = load_survey(path, agencies=agencies)
        except SurveyError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        except OSError as exc:
            print(f"{path}: {exc.strerror}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: survey {survey.key!r} is valid ({survey.count({})} steps to start)")
    return 1 if failed else 0
