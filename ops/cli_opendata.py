"""`civicbot opendata publish [--out DIR]`: write the open-data files (tickets, their
updates, indicators, survey results, and `datapackage.json`) into `var/open-data/` or
DIR, printing the progress of long tables; `civicbot opendata validate [--out DIR]`:
check the files there against the dictionary. The scheduler publishes them daily."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from civic.city import get_profile
from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from civic.opendata import default_folder, publish, validate
from civic.settings import Settings
from storage.db import session_scope


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    opendata = subparsers.add_parser("opendata", help="the open-data files at /open-data/")
    cmds = opendata.add_subparsers(dest="opendata_command", required=True)
    run = cmds.add_parser("publish", help="write the open-data files and their dictionary")
    check = cmds.add_parser("validate", help="check the open-data files against the dictionary")
    for command, handler in ((run, cmd_publish), (check, cmd_validate)):
        command.add_argument("--out", type=Path, help="the folder (default: var/open-data)")
        command.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
        command.set_defaults(handler=handler)


def _folder(args: argparse.Namespace, settings: Settings) -> Path:
    return args.out or default_folder(settings.var_dir)


class _Progress:
    """On a terminal, a table's row count so far, redrawn in place; elsewhere (a log)
    a line every `LOG_EVERY` rows."""

    LOG_EVERY = 100_000

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.tty = sys.stdout.isatty()
        self.table: str | None = None

    def __call__(self, table: str, rows: int) -> None:
        line = t("opendata.cli.progress", self.lang, table=table, rows=rows)
        if self.tty:
            start = "\n" if self.table not in (None, table) else "\r"
            print(start + line, end="", flush=True)
        elif rows and rows % self.LOG_EVERY == 0:
            print(line, flush=True)
        self.table = table

    def finish(self) -> None:
        if self.tty and self.table is not None:
            print(flush=True)


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    folder = _folder(args, settings)
    profile = get_profile(settings.profiles_dir, settings.profile)
    progress = _Progress(args.lang)
    prepare(settings)
    with session_scope(settings.database_url) as session:
        published = publish(session=session, profile=profile, out_dir=folder, progress=progress)
    progress.finish()
    for written in published.written:
        print(t("opendata.cli.progress", args.lang, table=written.table, rows=written.rows))
    print(t("opendata.cli.published", args.lang, folder=folder, time=published.created))
    return cmd_validate(args, settings)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    folder = _folder(args, settings)
    problems = validate(folder)
    for problem in problems:
        print("! " + problem)
    if problems:
        print(t("opendata.cli.invalid", args.lang, folder=folder, count=len(problems)))
        return 1
    print(t("opendata.cli.valid", args.lang, folder=folder))
    return 0
