"""A notifier process for tests that kill it: `python -m tests.bot.notifier.runner`, with
DATABASE_URL, TELEGRAM_BOT_TOKEN and TELEGRAM_BASE_URL in the environment. It is
`civicbot notifier` (run_notifier) with the rates and lease given on the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta

from bot.notifier import NotifierOptions, run_notifier
from civic.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=25.0, help="messages/second overall")
    parser.add_argument("--per-chat", type=float, default=1.0, help="messages/second per chat")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lease", type=float, default=60.0, help="seconds")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--poll", type=float, default=0.1, help="seconds, when not listening")
    parser.add_argument("--fallback-poll", type=float, default=5.0, help="seconds, listening")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options = NotifierOptions(
        rate_per_second=args.rate,
        per_chat_per_second=args.per_chat,
        concurrency=args.concurrency,
        batch_size=args.batch,
        lease=timedelta(seconds=args.lease),
        poll_seconds=args.poll,
        fallback_poll_seconds=args.fallback_poll,
    )
    run_notifier(load_settings(), options)


if __name__ == "__main__":
    main()
