"""`rasa run` gets its API token inside the process, not from the command line."""

from __future__ import annotations

from ops.rasa_main import arguments_with_token


def test_the_token_is_added_to_rasa_run_only() -> None:
    run = ["run", "--enable-api", "--port", "5005"]
    assert arguments_with_token(run, "t0ken") == [*run, "--auth-token", "t0ken"]
    assert arguments_with_token(run, "") == run
    assert arguments_with_token(["train", "--force"], "t0ken") == ["train", "--force"]
