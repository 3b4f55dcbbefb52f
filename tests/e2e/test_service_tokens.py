"""Rasa's HTTP API and the action server, as `civicbot run` starts them, answer only
callers with the run's tokens; the assistant itself, which has them, works as before."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack, TelegramUser

pytestmark = pytest.mark.e2e


def children(stack: Stack) -> dict[str, tuple[str, dict[str, str]]]:
    """Each process the supervisor started, by module: (its command line, its environment)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != stack.process.pid:
                continue
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        env = dict(item.decode().partition("=")[::2] for item in environ if b"=" in item)
        module = command.split(" -m ", 1)[1].split()[0] if " -m " in command else command
        found[module + (" " + command.split()[-1] if module == "ops.cli" else "")] = (
            command,
            env,
        )
    return found


@pytest.fixture(scope="module")
def started(stack: Stack) -> dict[str, tuple[str, dict[str, str]]]:
    found = children(stack)
    assert {"ops.action_server", "ops.rasa_main", "ops.cli web"} <= set(found), found.keys()
    return found


def test_rasa_api_refuses_a_caller_without_the_token(stack: Stack, started: dict) -> None:
    token = started["ops.cli web"][1]["RASA_AUTH_TOKEN"]
    tracker = f"{stack.rasa_url}/conversations/someone/tracker"
    for query in ({}, {"token": "guess"}):
        response = httpx.get(tracker, params=query, timeout=30)
        assert response.status_code == 401, response.text
        assert response.json()["reason"] == "NotAuthenticated"
    response = httpx.get(tracker, params={"token": token}, timeout=30)
    assert response.status_code == 200
    assert response.json()["sender_id"] == "someone"


def test_rasa_rest_channel_refuses_a_caller_without_the_token(stack: Stack, started: dict) -> None:
    token = started["ops.cli web"][1]["RASA_AUTH_TOKEN"]
    webhook = f"{stack.rasa_url}/webhooks/rest/webhook"
    message = {"sender": "intruder-test", "message": "my tickets"}
    for query in ({}, {"token": "guess"}):
        response = httpx.post(webhook, params=query, json=message, timeout=60)
        assert (response.status_code, response.json()) == (
            401,
            {"error": "a valid token is required"},
        )
    response = httpx.post(webhook, params={"token": token}, json=message, timeout=60)
    assert response.status_code == 200
    assert isinstance(response.json(), list) and response.json()


def test_action_server_refuses_a_caller_without_the_token(stack: Stack, started: dict) -> None:
    token = started["ops.action_server"][1]["ACTION_SERVER_TOKEN"]
    for query in ({}, {"token": "guess"}):
        response = httpx.post(f"{stack.actions_url}/webhook", params=query, json={}, timeout=30)
        assert (response.status_code, response.json()) == (
            401,
            {"error": "a valid token is required"},
        )
    listing = httpx.get(f"{stack.actions_url}/actions", params={"token": token}, timeout=30)
    assert {"name": "action_greet"} in listing.json()


def test_tokens_are_per_service_and_on_no_command_line(started: dict) -> None:
    rasa_token = started["ops.cli web"][1]["RASA_AUTH_TOKEN"]
    actions_token = started["ops.action_server"][1]["ACTION_SERVER_TOKEN"]
    assert rasa_token != actions_token and min(len(rasa_token), len(actions_token)) >= 43
    assert "ACTION_SERVER_TOKEN" not in started["ops.cli web"][1]
    assert "RASA_AUTH_TOKEN" not in started["ops.action_server"][1]
    for command, _env in started.values():
        assert rasa_token not in command and actions_token not in command


def test_the_assistant_works_through_both_tokens(stack: Stack) -> None:
    # The greeting is the action server's (action_greet), reached through Rasa.
    [reply] = TelegramUser(stack, language_code="en").say("hello")
    assert reply.text.startswith("Hello! I am the smart assistant")
