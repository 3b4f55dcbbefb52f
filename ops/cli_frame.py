"""`civicbot frame import FILE.csv`: import the evaluation office's household registry into
the sample frame, all or nothing, streaming the file and printing the rows read and the
rows per second; `civicbot frame erase ID`: erase a household on request."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from civic.city import get_profile
from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from civic.settings import Settings
from storage.db import session_scope


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    frame = subparsers.add_parser("frame", help="the sample frame: import the household registry")
    frame_cmds = frame.add_subparsers(dest="frame_command", required=True)
    imp = frame_cmds.add_parser("import", help="import households from CSV (all or nothing)")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    imp.set_defaults(handler=cmd_frame_import)
    erase = frame_cmds.add_parser("erase", help="erase a household's personal data on request")
    erase.add_argument("id", help="the household's id in the registry")
    erase.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    erase.set_defaults(handler=cmd_frame_erase)


class ImportProgress:
    """The rows read and the rows per second: on a terminal redrawn in place after each
    batch, elsewhere (a log) a line at most every `LOG_SECONDS`, and the last count when
    the file is read."""

    LOG_SECONDS = 10.0

    def __init__(
        self,
        lang: str,
        *,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lang = lang
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.clock = clock
        self.started = clock()
        self.rows = 0
        self.shown = 0  # the count last printed
        self.printed_at = self.started

    def __call__(self, step: str, rows: int) -> None:
        if step == "read":
            self.rows = rows
            if self.tty:
                self._print("\r" + self._read_line(), end="")
            elif self.clock() - self.printed_at >= self.LOG_SECONDS:
                self._print(self._read_line())
        elif step == "merge":
            self.finish()
            self._print(t("frame.cli.progress_merge", self.lang, rows=rows))

    def finish(self) -> None:
        """The last count of rows read, if it is not on screen yet; ends the line."""
        if self.tty and self.shown:
            self._print("")
        elif self.rows != self.shown:
            self._print(self._read_line())
        self.tty = False
        self.shown = self.rows

    def _read_line(self) -> str:
        elapsed = self.clock() - self.started
        rate = round(self.rows / elapsed) if elapsed > 0 else 0
        self.shown = self.rows
        return t("frame.cli.progress_read", self.lang, rows=self.rows, rate=rate)

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.out, flush=True)
        self.printed_at = self.clock()


def cmd_frame_import(args: argparse.Namespace, settings: Settings) -> int:
    from civic.campaigns import import_households

    lang = args.lang
    try:
        registry = args.csv.open("rb")  # decoded line by line: a bad byte is named by line
    except OSError as exc:
        print(t("frame.cli.unreadable", lang, file=args.csv, error=exc.__class__.__name__))
        return 1
    from ops.startup import prepare

    prepare(settings)
    districts = set(get_profile(settings.profiles_dir, settings.profile).districts)
    progress = ImportProgress(lang)
    with registry, session_scope(settings.database_url) as session:
        report = import_households(
            session=session, lines=registry, profile_districts=districts, progress=progress
        )
        if not report.ok:
            session.rollback()
    progress.finish()
    if not report.ok:
        for error in report.errors:
            print(error.text(lang))
        if report.unlisted:
            print(t("frame.cli.unlisted", lang, count=report.unlisted))
        print(t("frame.cli.failed", lang, count=report.error_count))
        return 1
    counts = {"added": report.added, "updated": report.updated, "unchanged": report.unchanged}
    print(t("frame.cli.imported", lang, **counts))
    return 0


def cmd_frame_erase(args: argparse.Namespace, settings: Settings) -> int:
    from civic.campaigns import erase_household
    from ops.startup import prepare

    prepare(settings)
    with session_scope(settings.database_url) as session:
        erased = erase_household(session=session, external_id=args.id)
    print(t("frame.cli.erased" if erased else "frame.cli.no_household", args.lang, id=args.id))
    return 0 if erased else 1
