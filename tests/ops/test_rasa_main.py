"""`rasa run` gets its API token inside the process, not from the command line."""

from __future__ import annotations

import pytest

from ops.rasa_main import arguments_with_token


def test_the_token_is_added_to_rasa_run_only() -> None:
    run = ["run", "--enable-api", "--port", "5005"]
    assert arguments_with_token(run, "t0ken") == [*run, "--auth-token=t0ken"]
    assert arguments_with_token(run, "") == run
    assert arguments_with_token(["train", "--force"], "t0ken") == ["train", "--force"]


def test_a_token_that_begins_with_a_dash_stays_a_value() -> None:
    """token_urlsafe gives "-" as a first character one time in 64: as a separate argument
    argparse (as `rasa run` uses it) would take it for an option and refuse to start."""
    import argparse

    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("-t", "--auth-token")
    given = arguments_with_token(["run"], "-Xy_token")[1:]
    assert parser.parse_args(given).auth_token == "-Xy_token"
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--auth-token", "-Xy_token"])
