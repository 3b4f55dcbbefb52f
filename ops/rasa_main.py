"""`rasa` with its HTTP API token taken from the environment instead of the command line.

`rasa run` reads its token only from `--auth-token`, and a command line is readable by
every local user (`ps`), who could then use Rasa's API. Run in the Rasa environment as
`.venv-rasa/bin/python -m ops.rasa_main run …`: RASA_AUTH_TOKEN, if set, is added to the
arguments inside the process, and the one speed-up of ops/rasa_speedups.py is installed.
It imports nothing else of the project's.
"""

from __future__ import annotations

import os
import sys

TOKEN_VARIABLE = "RASA_AUTH_TOKEN"


def arguments_with_token(arguments: list[str], token: str) -> list[str]:
    """`rasa run`'s arguments, with --auth-token added when there is a token."""
    if token and arguments[:1] == ["run"]:
        # one argument: a token may begin with "-" (token_urlsafe), which argparse would
        # take for an option of its own when it came as a separate argument
        return [*arguments, f"--auth-token={token}"]
    return arguments


def main() -> None:
    # Left in the environment: the REST channel (ops/rasa_channel.py) checks it too.
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    sys.argv = ["rasa", *arguments_with_token(sys.argv[1:], token)]
    from ops import rasa_speedups

    rasa_speedups.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
