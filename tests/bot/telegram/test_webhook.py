"""Webhook mode's server (bot/telegram/_webhook.py) with a real python-telegram-bot
Application on the Bot API stand-in and claims on the real Redis: the secret is checked,
an update is answered only once it was handled, and a redelivered update runs once, also
when the worker that had it died."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.telegram._webhook import SECRET_HEADER, webhook_app
from storage.updates import DONE, MINE, UpdateClaims
from tests.fakes.botapi import BotApiStandIn

SECRET = "w" * 40
TOKEN = "123456:webhook-test"


@pytest.fixture(scope="module")
def standin() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(token=TOKEN) as stand_in:
        yield stand_in


@dataclass
class Worker:
    """One gateway worker: what its handler saw, and its webhook app over HTTP."""

    http: httpx.AsyncClient
    seen: list[str] = field(default_factory=list)
    hold: float = 0.0  # how long each turn takes

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.http.post("/telegram", json=update, headers=headers)
        return response.status_code


@pytest.fixture
async def worker_for(
    standin: BotApiStandIn,
) -> AsyncIterator[Any]:
    started: list[tuple[Application, httpx.AsyncClient]] = []  # type: ignore[type-arg]

    async def make(claims: UpdateClaims | None, hold: float = 0.0, undone: Any = None) -> Worker:
        application = (
            Application.builder()
            .token(TOKEN)
            .base_url(standin.base_url)
            .base_file_url(standin.base_file_url)
            .updater(None)
            .build()
        )
        await application.initialize()
        await application.start()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(
                app=webhook_app(
                    application,
                    secret=SECRET,
                    claims=claims,
                    **({"undone": undone} if undone is not None else {}),
                )
            ),
            base_url="http://gateway",
        )
        worker = Worker(http, hold=hold)

        async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_message is not None
            await asyncio.sleep(worker.hold)
            worker.seen.append(update.effective_message.text or "")

        application.add_handler(MessageHandler(filters.TEXT, on_text))
        started.append((application, http))
        return worker

    yield make
    for application, http in started:
        await http.aclose()
        await application.stop()
        await application.shutdown()


def text_update(update_id: int, text: str, chat: int = 42) -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "Li"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": person,
            "text": text,
        },
    }


async def test_without_the_secret_nothing_is_handled(worker_for: Any) -> None:
    worker = await worker_for(None)
    assert await worker.post(text_update(1, "hi"), secret=None) == 403
    assert await worker.post(text_update(2, "hi"), secret="x" * 40) == 403
    assert worker.seen == []


async def test_a_body_that_is_no_update_is_refused(worker_for: Any) -> None:
    worker = await worker_for(None)
    response = await worker.http.post(
        "/telegram", content=b"{not json", headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 400
    assert worker.seen == []


async def test_the_answer_comes_only_once_the_turn_was_handled(worker_for: Any) -> None:
    worker = await worker_for(None, hold=0.3)
    posting = asyncio.create_task(worker.post(text_update(3, "路灯坏了")))
    await asyncio.sleep(0.1)
    assert not posting.done()  # still handling: Telegram has no answer yet
    assert await posting == 200
    assert worker.seen == ["路灯坏了"]


async def test_a_redelivered_update_runs_once_across_workers(
    worker_for: Any, redis_client: Any
) -> None:
    claims = UpdateClaims(redis_client, seconds=2)
    one, two = await worker_for(claims, hold=0.3), await worker_for(claims)
    update = text_update(4, "你好")
    # Telegram gave up waiting on the first and sent it again to the second
    first = asyncio.create_task(one.post(update))
    await asyncio.sleep(0.1)
    assert await two.post(update) == 200  # waited for the first worker's turn
    assert await first == 200
    assert (one.seen, two.seen) == (["你好"], [])
    assert await two.post(update) == 200  # and a late repeat is only answered
    assert (one.seen, two.seen) == (["你好"], [])
    assert claims.claim("tg:4").state == DONE


async def test_an_update_whose_worker_died_is_handled_by_another(
    worker_for: Any, redis_client: Any
) -> None:
    claims = UpdateClaims(redis_client, seconds=0.5)
    # the worker that had update 5 was killed mid-turn: its claim is never renewed
    assert claims.claim("tg:5").state == MINE
    survivor = await worker_for(claims)
    assert await survivor.post(text_update(5, "还在吗")) == 200
    assert survivor.seen == ["还在吗"]
    assert claims.claim("tg:5").state == DONE


async def test_a_long_turn_keeps_its_claim(worker_for: Any, redis_client: Any) -> None:
    claims = UpdateClaims(redis_client, seconds=0.3)
    slow, other = await worker_for(claims, hold=1.0), await worker_for(claims)
    update = text_update(6, "慢慢来")
    first = asyncio.create_task(slow.post(update))
    await asyncio.sleep(0.6)  # two leases: renewed, so still the slow worker's
    assert await other.post(update) == 200
    assert await first == 200
    assert (slow.seen, other.seen) == (["慢慢来"], [])


async def test_a_turn_left_undone_is_not_answered_so_telegram_sends_it_again(
    worker_for: Any, redis_client: Any
) -> None:
    claims = UpdateClaims(redis_client, seconds=5)
    undone = {7}  # the handlers could not reach Rasa for update 7, the first time

    def take(update_id: int) -> bool:
        if update_id in undone:
            undone.discard(update_id)
            return True
        return False

    worker = await worker_for(claims, undone=take)
    update = text_update(7, "路灯")
    assert await worker.post(update) == 503  # unanswered: Telegram will send it again
    assert redis_client.get("civic:claim:tg:7") is None  # given up, not kept nor done
    assert await worker.post(update) == 200  # the second time the turn is done
    assert claims.claim("tg:7").state == DONE
