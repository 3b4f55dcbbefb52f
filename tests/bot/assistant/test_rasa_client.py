"""The Rasa client waits for a Rasa that is (re)starting instead of failing the turn."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from bot.assistant import RasaClient
from civic.errors import RasaUnavailable
from civic.replies import BotMessage
from tests.fakes.rasa import FakeRasa


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_turn_sent_while_rasa_starts_gets_the_answer_once_it_is_up() -> None:
    port = _closed_port()
    waits: list[float] = []
    with ExitStack() as stack:
        started: list[FakeRasa] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:  # Rasa answers from now on
                started.append(stack.enter_context(FakeRasa.running(port)))

        client = RasaClient(f"http://127.0.0.1:{port}", sleep=sleep)
        try:
            replies = await client.send("citizen-1", "hello")
        finally:
            await client.aclose()
        assert replies == [BotMessage(text="echo:hello")]
        assert waits == [0.5, 0.5, 0.5]
        assert [body["message"] for body in started[0].bodies] == ["hello"]


async def test_the_turn_fails_when_rasa_stays_away_longer_than_the_wait() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = RasaClient(f"http://127.0.0.1:{_closed_port()}", wait_for_start=2.0, sleep=sleep)
    try:
        with pytest.raises(RasaUnavailable):
            await client.send("citizen-1", "hello")
    finally:
        await client.aclose()
    assert sum(waits) == 2.0
