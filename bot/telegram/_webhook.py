"""Webhook mode: every update Telegram POSTs is handled before it is answered.

python-telegram-bot's own webhook server answers 200 as soon as an update is queued, so
a worker that dies mid-turn would lose the turn. Here the answer waits for the handlers:
a worker killed mid-turn never answers, and Telegram sends the update again, to whichever
worker the load balancer picks. Telegram sends one chat's updates one at a time, the next
only after the last was answered, so a conversation's messages are handled in order even
across workers.

A redelivered update must still run once. With Redis, each update is claimed before it is
handled (`storage.updates.UpdateClaims`): the claim is renewed while the turn runs and
expires soon after its worker dies, so another worker then takes the update over; an
update already handled is only answered. A worker that finds another one's live claim
waits for it (Telegram would otherwise back off). Without Redis (one worker), the
assistant's own ledger keeps a repeat from running twice, as in polling mode.

A turn that Rasa could not answer (a Rasa server killed mid-turn, say) is not apologised
for: the update is left unanswered (503), its claim released, and Telegram sends it again.

The secret token is checked first, in constant time: without it, 403 and nothing read.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from storage.updates import BUSY, DONE, Claim, UpdateClaims

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram"
# How long a worker waits for another worker's live claim before asking Telegram to
# send the update again later.
WAIT_FOR_OTHER_SECONDS = 25.0


def _never(update_id: int) -> bool:
    return False


def webhook_app(
    application: Application,  # type: ignore[type-arg]
    *,
    secret: str,
    claims: UpdateClaims | None,
    undone: Callable[[int], bool] = _never,
) -> Starlette:
    """The ASGI app that serves `POST /telegram` for `application` (started already).
    `undone(update_id)` is True when the handlers left the update's turn undone (Rasa did
    not answer): it is then answered 503, and Telegram sends it again."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook update refused: %s secret token", "wrong" if given else "no")
            return Response(status_code=403)
        try:
            update = Update.de_json(json.loads(await request.body()), application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook update refused: not an update (%s)", type(exc).__name__)
            return Response(status_code=400)
        if claims is None:
            await application.process_update(update)
            return _again() if undone(update.update_id) else Response(status_code=200)
        return await _handle_claimed(application, claims, update, undone)

    return Starlette(routes=[Route(PATH, receive, methods=["POST"])])


def _again() -> Response:
    """Not answered: Telegram sends the update again (one chat's next ones wait for it)."""
    return Response(status_code=503, headers={"Retry-After": "1"})


async def _handle_claimed(
    application: Application,  # type: ignore[type-arg]
    claims: UpdateClaims,
    update: Update,
    undone: Callable[[int], bool],
) -> Response:
    key = f"tg:{update.update_id}"
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    while True:
        claim = await asyncio.to_thread(claims.claim, key)
        if claim.state == DONE:
            log.info("update %s was handled already", key)
            return Response(status_code=200)
        if claim.state != BUSY:
            break
        if time.monotonic() > deadline:  # Telegram sends it again later
            return _again()
        await asyncio.sleep(0.25)
    keeping = asyncio.create_task(_keep(claims, key, claim))
    try:
        await application.process_update(update)
    finally:
        keeping.cancel()
    if undone(update.update_id):
        log.info("update %s left for Telegram to send again: Rasa did not answer", key)
        await asyncio.to_thread(claims.release, key, claim)
        return _again()
    await asyncio.to_thread(claims.finish, key)
    return Response(status_code=200)


async def _keep(claims: UpdateClaims, key: str, claim: Claim) -> None:
    """Renew `claim` a few times a lease while the turn runs."""
    while True:
        await asyncio.sleep(claims.seconds / 3)
        try:
            kept = await asyncio.to_thread(claims.renew, key, claim)
        except Exception as exc:  # Redis away: the turn goes on, the claim may lapse
            log.warning("could not renew the claim on %s: %s", key, type(exc).__name__)
            continue
        if not kept:
            log.warning("the claim on %s lapsed while its turn ran", key)
            return


async def serve_webhook(
    application: Application,  # type: ignore[type-arg]
    *,
    url: str,
    port: int,
    secret: str,
    claims: UpdateClaims | None,
    undone: Callable[[int], bool] = _never,
    **set_webhook: Any,
) -> None:
    """Start `application`, tell Telegram where to send updates, and serve them on
    127.0.0.1:`port` until SIGTERM or SIGINT."""
    import uvicorn

    async with application:
        await application.start()
        await application.bot.set_webhook(url, secret_token=secret, **set_webhook)
        config = uvicorn.Config(
            webhook_app(application, secret=secret, claims=claims, undone=undone),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=30,  # a turn in hand finishes and is answered
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            await application.stop()
