"""`civicbot agency ...`: desk users, API keys for agencies' systems, agency channels.

`register(subparsers)` adds the commands; each parser sets `handler`, called as
`handler(args, settings) -> int` like the other commands of `ops.cli`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy import select

from civic.agencies import ROLES, create_api_key, create_user, set_channel
from civic.city import Profile, get_profile
from civic.duty import issue_link_code, link_telegram, unlink_telegram
from civic.errors import InvalidInput
from civic.settings import Settings
from storage.db import migrate, session_scope
from storage.models import AgencyUser


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    agency = subparsers.add_parser("agency", help="manage the agency desk: users, keys, channels")
    commands = agency.add_subparsers(dest="agency_command", required=True)

    user = commands.add_parser("add-user", help="add a desk user")
    user.add_argument("--username", required=True)
    owner = user.add_mutually_exclusive_group(required=True)
    owner.add_argument("--agency", metavar="CODE", help="the agency the user works for")
    owner.add_argument(
        "--staff",
        action="store_true",
        help="no agency: the evaluation office (--role staff) or the hotline (--role hotline)",
    )
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--districts", help="comma-separated district codes (officers)")
    user.add_argument("--display-name", default="", help="defaults to the username")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user.set_defaults(handler=cmd_add_user)

    key = commands.add_parser("add-key", help="add an Open311 API key (printed once)")
    key.add_argument("--name", required=True)
    scope = key.add_mutually_exclusive_group(required=True)
    scope.add_argument("--agency", metavar="CODE", help="the key sees only this agency's tickets")
    scope.add_argument("--all", action="store_true", help="an evaluation-office key: all tickets")
    key.add_argument("--write", action="store_true", help="may post requests and updates")
    key.set_defaults(handler=cmd_add_key)

    channel = commands.add_parser("set-channel", help="where an agency hears of new tickets")
    channel.add_argument("--agency", metavar="CODE", required=True)
    channel.add_argument("--telegram-chat-id")
    channel.add_argument("--webhook-url")
    channel.add_argument("--webhook-secret")
    channel.set_defaults(handler=cmd_set_channel)
    _register_link(commands)


def _register_link(commands: argparse._SubParsersAction[Any]) -> None:
    link = commands.add_parser(
        "link-telegram",
        help="link a desk user's Telegram account, for the duty group and escalations",
        description="Without an id, print a one-time code (valid 24 hours) that the officer "
        "sends to the bot in a private chat as /link CODE.",
    )
    link.add_argument("--username", required=True)
    how = link.add_mutually_exclusive_group()
    how.add_argument("--telegram-user-id", type=int, help="link this Telegram user id directly")
    how.add_argument("--unlink", action="store_true", help="remove the link")
    link.set_defaults(handler=cmd_link_telegram)


def _profile(settings: Settings) -> Profile:
    profile = get_profile(settings.profiles_dir, settings.profile)
    migrate(settings.database_url)
    return profile


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise InvalidInput("the two passwords differ")
    return password


def cmd_add_user(args: argparse.Namespace, settings: Settings) -> int:
    profile = _profile(settings)
    try:
        password = _read_password(args)
        with session_scope(settings.database_url) as session:
            user = create_user(
                session=session,
                username=args.username,
                password=password,
                agency=None if args.staff else args.agency,
                role=args.role,
                display_name=args.display_name,
                known_agencies=set(profile.agencies),
                districts=(args.districts or "").split(","),
                known_districts=set(profile.districts),
            )
    except InvalidInput as exc:
        print(f"cannot add the user: {exc}")
        return 2
    where = user.agency or ("the hotline" if user.role == "hotline" else "the evaluation office")
    print(f"added {user.username}: {user.role} of {where}")
    return 0


def cmd_add_key(args: argparse.Namespace, settings: Settings) -> int:
    profile = _profile(settings)
    try:
        with session_scope(settings.database_url) as session:
            key, raw = create_api_key(
                session=session,
                name=args.name,
                agency=None if args.all else args.agency,
                can_write=args.write,
                known_agencies=set(profile.agencies),
            )
    except InvalidInput as exc:
        print(f"cannot add the key: {exc}")
        return 2
    access = "read and write" if key.can_write else "read only"
    print(f"added key '{key.name}' for {key.agency or 'all agencies'} ({access}).")
    print("The key is shown this once; store it now:")
    print(raw)
    return 0


def cmd_set_channel(args: argparse.Namespace, settings: Settings) -> int:
    if not (args.telegram_chat_id or args.webhook_url or args.webhook_secret):
        print("give --telegram-chat-id, or --webhook-url with --webhook-secret")
        return 2
    profile = _profile(settings)
    try:
        with session_scope(settings.database_url) as session:
            set_channel(
                session=session,
                agency=args.agency,
                known_agencies=set(profile.agencies),
                telegram_chat_id=args.telegram_chat_id,
                webhook_url=args.webhook_url,
                webhook_secret=args.webhook_secret,
            )
    except InvalidInput as exc:
        print(f"cannot set the channel: {exc}")
        return 2
    print(f"channel of {args.agency} saved")
    return 0


def _link(args: argparse.Namespace, settings: Settings) -> str:
    """Do what was asked and say what happened; InvalidInput when it cannot be done."""
    with session_scope(settings.database_url) as session:
        query = select(AgencyUser).where(AgencyUser.username == args.username)
        found = session.scalars(query).first()
        if found is None:
            raise InvalidInput(f"no desk user '{args.username}'")
        if args.unlink:
            unlink_telegram(session=session, user=found)
            return f"{found.username} is no longer linked to a Telegram account"
        if args.telegram_user_id is not None:
            link_telegram(session=session, user=found, telegram_user_id=args.telegram_user_id)
            return f"{found.username} is linked to Telegram user {args.telegram_user_id}"
        code = issue_link_code(session=session, user=found)
    return (
        f"one-time code for {args.username}, valid 24 hours: {code}\n"
        f"The officer sends it to the bot in a private chat: /link {code}"
    )


def cmd_link_telegram(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    try:
        print(_link(args, settings))
    except InvalidInput as exc:
        print(f"cannot link: {exc}")
        return 2
    return 0
