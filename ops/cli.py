"""`civicbot`: the one command for running, training and operating the assistant."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from civic.errors import ProfileError
from civic.settings import Settings, ensure_secret_key, get_settings
from ops.startup import prepare

log = logging.getLogger("civicbot")


def _setup_logging(settings: Settings) -> None:
    from bot.observability import log_formatter

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(log_formatter(settings.log_format))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    # httpx logs every request URL, which holds the bot token on Telegram calls.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from ops.training import train

    model, trained = train(settings.models_dir, profile_dir=settings.profile_dir, force=args.force)
    print(f"{'trained' if trained else 'up to date, not retrained'}: {model}")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import migrate

    migrate(settings.database_url)
    print("database schema is up to date")
    return 0


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.web import create_app
    from civic.city import get_profile
    from ops.wiring import make_conversation, make_wechat_channel

    prepare(settings)
    conversation, sessions = make_conversation(settings)
    profile = get_profile(settings.profiles_dir, settings.profile)
    wechat = make_wechat_channel(settings, conversation, sessions)
    uvicorn.run(
        create_app(conversation, sessions=sessions, profile=profile, wechat=wechat),
        host=settings.web_host,
        port=settings.web_port,
        log_level="warning",
        log_config=None,  # uvicorn's own lines in our format too (LOG_FORMAT)
    )
    return 0


def cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from bot.observability import serve_metrics
    from bot.telegram import TelegramGateway
    from ops.wiring import make_conversation

    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set: the Telegram gateway has nothing to connect to.")
        return 2
    prepare(settings)
    serve_metrics(settings.metrics_port_gateway, "gateway")
    conversation, sessions = make_conversation(settings)
    TelegramGateway(settings=settings, conversation=conversation, sessions=sessions).run()
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from bot.observability import serve_metrics
    from ops.scheduler import run_scheduler

    prepare(settings)
    serve_metrics(settings.metrics_port_scheduler, "scheduler")
    run_scheduler(settings)
    return 0


def cmd_notifier(args: argparse.Namespace, settings: Settings) -> int:
    from bot.notifier import run_notifier
    from bot.observability import serve_metrics

    prepare(settings)
    serve_metrics(settings.metrics_port_notifier, "notifier")
    run_notifier(settings)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from ops.process_care import Supervisor
    from ops.supervisor import ServiceTokens, StartupProblem, check_can_start, services
    from ops.training import train

    try:
        prepare(settings)
        model, trained = train(settings.models_dir, profile_dir=settings.profile_dir)
        planned = services(settings, model, ServiceTokens.for_run(settings))
        check_can_start(settings, planned)
    except (StartupProblem, FileNotFoundError) as exc:
        print(f"cannot start: {exc}")
        return 2
    print(f"model: {model.name}{' (trained now)' if trained else ''}")
    supervisor = Supervisor(settings, planned)
    supervisor.catch_signals()
    supervisor.start()
    try:
        failed = supervisor.wait_all_ready()
        if supervisor.stopping:  # Ctrl-C while starting
            print("stopping…", flush=True)
            return 0
        if failed:
            print(f"not ready: {', '.join(failed)}; see var/logs/. Stopping.")
            return 1
        print(f"\nready. Web chat: http://{settings.web_host}:{settings.web_port}/")
        if not settings.telegram_bot_token:
            print("Telegram is off (no TELEGRAM_BOT_TOKEN); the web chat is the citizen channel.")
        print("Press Ctrl-C to stop.\n", flush=True)
        return supervisor.watch()
    finally:
        supervisor.stop()


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from ops.route_command import route_lines

    texts = sys.stdin if args.text == "-" else [args.text]
    return asyncio.run(route_lines(settings, texts, lang=args.lang))


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace, Settings], int]]] = {
    "run": ("start every process and supervise them", cmd_run),
    "train": ("train the Rasa model if config.yml or nlu/ changed", cmd_train),
    "migrate": ("bring the database schema up to date", cmd_migrate),
    "web": ("run the web app alone", cmd_web),
    "gateway": ("run the Telegram gateway alone", cmd_gateway),
    "scheduler": ("run the scheduler alone", cmd_scheduler),
    "notifier": ("deliver queued notifications to citizens", cmd_notifier),
    "route": ("print the routing decision for a message (or '-' for one per line)", cmd_route),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _func) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if name == "train":
            command.add_argument("--force", action="store_true", help="train even if up to date")
        if name == "route":
            command.add_argument("text", help="the message, or '-' to read one per line")
            command.add_argument("--lang", choices=["zh", "en"], help="the message language")
    from ops import (
        cli_agency,
        cli_campaigns,
        cli_demo,
        cli_evaluation,
        cli_frame,
        cli_notices,
        cli_opendata,
        cli_opinion,
    )

    cli_agency.register(sub)
    cli_frame.register(sub)
    cli_campaigns.register(sub)
    cli_evaluation.register(sub)
    cli_demo.register(sub)
    cli_opendata.register(sub)
    cli_opinion.register(sub)
    cli_notices.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # A fresh machine gets its own random key on the first command, so that
        # `make run` needs no setup and no deployment runs on a known one.
        written = ensure_secret_key()
        settings = get_settings()
    except (ValueError, OSError) as exc:
        print(f"configuration error: {exc}")
        return 2
    if written is not None:
        print(f"wrote a new secret key to {written} (keep it: invitation links depend on it)")
    _setup_logging(settings)
    try:
        handler = getattr(args, "handler", None) or COMMANDS[args.command][1]
        return int(handler(args, settings))
    except ProfileError as exc:
        print(f"city profile error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
