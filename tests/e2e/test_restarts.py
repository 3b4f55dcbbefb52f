"""Rasa crashes under a running `civicbot run`: the gateway is stopped until Rasa is back,
and a citizen who writes meanwhile gets the real answer late, never "try again"."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from civic.i18n import t
from tests.e2e.conftest import BOT_TOKEN, Stack, TelegramUser, running_stack
from tests.fakes.botapi import BotApiStandIn

pytestmark = pytest.mark.e2e

RESTART_TIMEOUT_SECONDS = 300


def _wait_for_log(stack: Stack, line: str) -> None:
    deadline = time.monotonic() + RESTART_TIMEOUT_SECONDS
    while line not in stack.log():
        if time.monotonic() > deadline:
            raise AssertionError(f"never logged {line!r}:\n{stack.log()[-4000:]}")
        time.sleep(0.2)


def test_a_citizen_writing_while_rasa_restarts_gets_a_late_answer(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    with (
        BotApiStandIn(token=BOT_TOKEN) as telegram,
        running_stack(telegram, var_dir, f"sqlite:///{var_dir / 'civic.db'}") as stack,
    ):
        user = TelegramUser(stack)
        user.say("你好")  # everything is up
        [rasa_pid] = re.findall(r"started rasa +pid (\d+)", stack.log())

        os.killpg(int(rasa_pid), signal.SIGKILL)
        _wait_for_log(stack, "\nstopped gateway\n")  # it fetches no updates now
        before = len(telegram.messages(user.id))
        telegram.send_text(user.id, "你好")
        late = telegram.wait_for_messages(user.id, before + 1, timeout=RESTART_TIMEOUT_SECONDS)

        assert late[before].text.startswith("您好!我是智能小助手")
        try_again = t("errors.rasa_unavailable", "zh")
        assert [m.text for m in telegram.messages(user.id) if m.text == try_again] == []
        log = stack.log()
        assert "rasa exited with code -9; restarting in 1 s" in log
        assert log.index("restarted rasa") < log.index("restarted gateway")
