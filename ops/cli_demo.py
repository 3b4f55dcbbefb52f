"""`civicbot demo seed`: a plausible year of data in an empty database, so that a new
installation shows populated pages: the desk's inboxes and histories, the evaluation
pages, praise and suggestions, Open311's lists.

`register(subparsers)` adds the command; its parser sets `handler`, called as
`handler(args, settings) -> int` like the other commands of `ops.cli`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from civic.city import Profile, get_profile
from civic.demo import OFFICE_USER, DatabaseNotEmpty, SeedOptions, SeedReport, seed_demo
from civic.settings import Settings
from storage.db import session_scope
from storage.models import utcnow


def _count(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    demo = subparsers.add_parser("demo", help="demo data for a new installation")
    commands = demo.add_subparsers(dest="demo_command", required=True)
    seed = commands.add_parser(
        "seed",
        help="fill an empty database with a plausible year",
        description="Tickets of every agency and category with their whole lifecycle, "
        "praise and suggestions, window ratings and the year's survey campaign, whose "
        "true satisfaction is printed at the end. Refuses a database that already has "
        "tickets, citizens or survey responses, unless --force.",
    )
    seed.add_argument("--tickets", type=_count, default=20_000, help="default 20,000")
    seed.add_argument(
        "--responses",
        type=_count,
        default=12_000,
        help="completed survey responses; default 12,000, the size of Hangzhou's annual sample",
    )
    seed.add_argument(
        "--ratings", type=_count, help="service window ratings; default a quarter of --tickets"
    )
    seed.add_argument("--year", type=int, help="default: this year, up to now")
    seed.add_argument("--seed", type=int, default=1, help="the same seed gives the same data")
    seed.add_argument(
        "--force",
        action="store_true",
        help="seed a database that has data already (adds to it; deletes nothing)",
    )
    seed.set_defaults(handler=cmd_seed)


class Progress:
    """A progress bar per step on a terminal, redrawn in place; elsewhere (a log) a line
    at each tenth."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.live = out, out.isatty()
        self.shown: dict[str, int] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if self.live:
            filled = 30 * done // max(total, 1)
            bar = "#" * filled + "." * (30 - filled)
            end = "\n" if done >= total else ""
            self.out.write(f"\r{step:<16} [{bar}] {done:,}/{total:,}{end}")
        elif self.shown.get(step) != tenth:
            self.out.write(f"{step}: {done:,}/{total:,}\n")
        self.shown[step] = tenth
        self.out.flush()


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    prepare(settings)  # the schema is current and the profile's surveys are loaded
    profile = get_profile(settings.profiles_dir, settings.profile)
    now = utcnow()
    options = SeedOptions(
        year=args.year or now.astimezone(ZoneInfo(profile.timezone)).year,
        tickets=args.tickets,
        responses=args.responses,
        ratings=args.ratings,
        seed=args.seed,
        force=args.force,
    )
    started = time.monotonic()
    try:
        with session_scope(settings.database_url) as session:
            report = seed_demo(
                session=session,
                profile=profile,
                options=options,
                now=now,
                progress=Progress(sys.stderr),
            )
    except DatabaseNotEmpty as exc:
        print(f"the database already has data ({exc}); nothing was written.")
        print("Seed an empty database, or add the demo year to this one with --force.")
        return 1
    except ValueError as exc:
        print(f"cannot seed: {exc}")
        return 2
    print_report(report, profile, settings, options, time.monotonic() - started)
    return 0


def print_report(
    report: SeedReport, profile: Profile, settings: Settings, options: SeedOptions, seconds: float
) -> None:
    zone = ZoneInfo(profile.timezone)
    start, end = report.start.astimezone(zone), report.end.astimezone(zone)
    print(
        f"seeded {start:%Y-%m-%d} to {end:%Y-%m-%d %H:%M} (city time), seed {options.seed}, "
        f"in {seconds:.1f} s:"
    )
    print(
        f"  {report.tickets:,} tickets ({report.events:,} events), {report.citizens:,} citizens, "
        f"{report.feedback:,} praise and suggestions, {report.ratings:,} ratings of "
        f"{report.windows} service windows"
    )
    _print_agencies(report)
    if report.survey is not None:
        _print_survey(report)
    desk = f"http://{settings.web_host}:{settings.web_port}/desk/"
    if report.office_password:
        print(f"\nThe desk ({desk}): sign in as {OFFICE_USER} with the password")
        print(f"  {report.office_password}")
        print("  (shown this once; it belongs to the evaluation office and sees every agency).")
    else:
        print(f"\nThe desk ({desk}): {OFFICE_USER} was there already; its password is unchanged.")


def _print_agencies(report: SeedReport) -> None:
    print("\nper agency, as planned / as it came out:")
    print(
        f"  {'agency':<20} {'tickets':>8}  {'late first fix':>15}  {'reopened':>15}"
        f"  {'rerouted':>8}  {'accept (h)':>10}  {'still open':>10}"
    )
    for agency, plan in sorted(report.plans.items()):
        tally = report.tally.get(agency)
        if tally is None:
            continue
        late = tally.late / tally.due if tally.due else 0.0
        reopened = tally.reopened / tally.answered if tally.answered else 0.0
        print(
            f"  {agency:<20} {tally.tickets:>8,}  {plan.overdue:>6.1%} / {late:>6.1%}"
            f"  {plan.reopen:>6.1%} / {reopened:>6.1%}  {plan.reroute:>8.1%}"
            f"  {plan.accept_hours:>10.1f}  {tally.still_open:>10,}"
        )


def _print_survey(report: SeedReport) -> None:
    truth = report.survey
    assert truth is not None
    print(
        f"\nsurvey {truth.survey}: campaign {truth.campaign_id}, {truth.invited:,} households "
        f"invited from a registry of {truth.frame:,}; {truth.responses:,} completed, "
        f"{truth.partial:,} stopped half-way, {truth.self_selected:,} more through the open link"
    )
    print("true satisfaction, which the published index should recover within its 95% interval:")
    print(f"  city ({', '.join(truth.questions)}): {truth.city:.1f}")
    districts = ", ".join(f"{d} {v:.1f}" for d, v in truth.districts.items())
    print(f"  by district: {districts}")
    if truth.agencies:
        agencies = ", ".join(f"{a} {v:.1f}" for a, v in truth.agencies.items())
        print(f"  {', '.join(truth.agency_questions)}: {agencies}")
    print(f"compare: civicbot campaign results {truth.survey} --campaign {truth.campaign_id}")
