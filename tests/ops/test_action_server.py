"""The action server (`python -m ops.action_server`, as `civicbot run` starts it) runs an
action only for a caller with its token, as Rasa is when it sends the token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from civic.settings import PROJECT_ROOT

TOKEN = "the-action-servers-token-for-this-test"
REFUSED = {"error": "a valid token is required"}


@dataclass
class ActionServer:
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(tmp_path: Path, token: str | None) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    env = {**os.environ, "CIVIC_VAR_DIR": str(tmp_path), "ACTION_SERVER_PORT": str(port)}
    env.pop("ACTION_SERVER_TOKEN", None)
    if token is not None:
        env["ACTION_SERVER_TOKEN"] = token
    log = tmp_path / "actions.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.action_server"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, port, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    process, port, log = start(tmp_path_factory.mktemp("actions"), TOKEN)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError(f"the action server did not start:\n{log.read_text()}")
        yield ActionServer(url, log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def action_call(name: str) -> dict[str, object]:
    tracker = {
        "sender_id": "test-sender",
        "slots": {"language": "en"},
        "latest_message": {"text": "hello", "intent": {"name": "greet"}},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": name, "sender_id": "test-sender", "tracker": tracker, "domain": {}}


@pytest.mark.parametrize("query", [{}, {"token": ""}, {"token": "wrong"}, {"token": TOKEN[:-1]}])
def test_an_action_call_without_the_token_is_refused(
    server: ActionServer, query: dict[str, str]
) -> None:
    response = httpx.post(f"{server.url}/webhook", params=query, json=action_call("action_greet"))
    assert (response.status_code, response.json()) == (401, REFUSED)
    listing = httpx.get(f"{server.url}/actions", params=query)
    assert (listing.status_code, listing.json()) == (401, REFUSED)
    assert "refused a POST /webhook without a valid token" in server.log.read_text()


def test_an_action_call_with_the_token_runs_the_action(server: ActionServer) -> None:
    response = httpx.post(
        f"{server.url}/webhook", params={"token": TOKEN}, json=action_call("action_greet")
    )
    assert response.status_code == 200, response.text
    assert response.json()["responses"], response.json()
    listing = httpx.get(f"{server.url}/actions", params={"token": TOKEN})
    assert {"name": "action_submit_complaint"} in listing.json()


def test_the_health_check_needs_no_token_and_browsers_get_no_cors(server: ActionServer) -> None:
    response = httpx.get(f"{server.url}/health", headers={"Origin": "https://elsewhere.example"})
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "access-control-allow-origin" not in response.headers


def test_it_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    process, _port, log = start(tmp_path, None)
    assert process.wait(timeout=60) == 2
    refusal = "ACTION_SERVER_TOKEN is not set: the action server refuses to run unprotected."
    assert log.read_text().strip().endswith(refusal)
