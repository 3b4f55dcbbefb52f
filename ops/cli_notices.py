"""`civicbot notices propose --year 2026 [--lang zh|en]`: the new proposals the profile's
rules make from the year's figures (`profiles/<city>/opinion/notices.yml`), each printed
with its number, agency, rule and subject; proposing again proposes nothing twice.
`civicbot notices list [--status S] [--lang zh|en]`: every notice, newest first."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from civic.city import Profile, get_profile
from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from civic.notices import (
    STATUSES,
    load_notice_rules,
    notice_rules_path,
    propose_notices,
    subject_label,
)
from civic.opinion import codebook_path, load_codebook
from civic.settings import Settings
from storage.db import session_scope
from storage.models import Notice


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    notices = subparsers.add_parser("notices", help="performance improvement notices")
    cmds = notices.add_subparsers(dest="notices_command", required=True)
    propose = cmds.add_parser("propose", help="propose notices from a year's figures")
    propose.add_argument("--year", type=int, required=True)
    propose.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    propose.set_defaults(handler=cmd_propose)
    listing = cmds.add_parser("list", help="every notice, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only notices at this status")
    listing.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    listing.set_defaults(handler=cmd_list)


def _agency(profile: Profile, code: str, lang: str) -> str:
    found = profile.agencies.get(code)
    return found.label(lang) if found else code


def cmd_propose(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    profile = get_profile(settings.profiles_dir, settings.profile)
    codebook = load_codebook(codebook_path(profile), profile)
    rules = load_notice_rules(notice_rules_path(profile), profile, codebook)
    prepare(settings)
    lang = args.lang
    with session_scope(settings.database_url) as session:
        created = propose_notices(
            session=session, profile=profile, codebook=codebook, rules=rules, year=args.year
        )
        lines = [
            t(
                "notices.cli.proposal",
                lang,
                number=notice.number,
                agency=_agency(profile, notice.agency, lang),
                rule=notice.rule,
                subject=subject_label(notice, lang),
            )
            for notice in created
        ]
    print(t("notices.cli.proposed", lang, count=len(lines), year=args.year))
    for line in lines:
        print(line)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from ops.startup import prepare

    profile = get_profile(settings.profiles_dir, settings.profile)
    prepare(settings)
    lang = args.lang
    query = select(Notice).order_by(Notice.proposed_at.desc(), Notice.id.desc())
    if args.status:
        query = query.where(Notice.status == args.status)
    with session_scope(settings.database_url) as session:
        lines = [
            t(
                "notices.cli.row",
                lang,
                number=notice.number,
                status=t(f"notices.status.{notice.status}", lang),
                agency=_agency(profile, notice.agency, lang),
                subject=subject_label(notice, lang),
                period=notice.period,
                due=t("notices.cli.due", lang, due=notice.response_due.isoformat())
                if notice.response_due
                else "",
            )
            for notice in session.scalars(query)
        ]
    print("\n".join(lines) if lines else t("notices.cli.none", lang))
    return 0
