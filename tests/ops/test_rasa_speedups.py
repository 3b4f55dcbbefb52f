"""The Rasa server's check of action-server answers, its validator built once, accepts
and refuses exactly what Rasa's own check does. Runs in the Rasa environment."""

from __future__ import annotations

import json
import subprocess

import pytest

from civic.settings import PROJECT_ROOT
from ops.training import RASA_PYTHON, rasa_environment

# Each answer through Rasa's own check, then through the installed one: accepted, or
# the error's message.
SCRIPT = r"""
import json
from rasa.core.actions.action import RemoteAction
from ops import rasa_speedups

answers = [
    {"events": [{"event": "slot", "name": "language", "value": "en"}], "responses": []},
    {"events": [], "responses": [{"text": "hi"}]},
    {"events": [{"event": "slot", "value": "en"}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
]
action = RemoteAction("action_x", None)

def outcomes():
    found = []
    for answer in answers:
        try:
            found.append(action._validate_action_result(answer))
        except Exception as exc:
            found.append(type(exc).__name__ + ": " + exc.message)
    return found

own = outcomes()
rasa_speedups.install()
print(json.dumps({"rasa": own, "installed": outcomes()}))
"""


def test_the_installed_check_gives_rasas_own_results() -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not installed")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT],
        env=rasa_environment(),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["installed"] == seen["rasa"]
    assert seen["rasa"][:2] == [True, True]
    refused = seen["rasa"][2:]
    assert all(r.startswith("ValidationError: ") for r in refused)
    assert all(r.endswith("https://rasa.com/docs/rasa/custom-actions") for r in refused)
