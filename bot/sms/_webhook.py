"""`POST /sms/inbound`: the SMS gateway's webhook for a text sent to our number.

Form-encoded From, To, Body, MessageSid, signed in X-Twilio-Signature with the auth token
(`_signature.py`). A wrong or missing signature is 403 and nothing is stored; a
MessageSid seen before is answered with an empty `<Response/>` and not handled again. The
answer to the citizen goes back in the response as TwiML: the gateway sends it as a
reply, so there is no second request, no second credential and nothing queued that a
crash could lose (docs/architecture.md, "Two-way SMS").

Each number may send `CIVIC_SMS_LIMIT_PER_NUMBER` texts a minute, like a Telegram chat or
a WeChat follower: over it the sender is told once a minute and the rest get an empty
answer (every reply is a paid text). STOP is honoured whatever the count.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bot.delivery import sms_segments
from bot.observability import count_sends
from bot.sms._inbound import CHANNEL, SmsInbound
from bot.sms._render import twiml
from bot.sms._signature import valid_signature
from civic.campaigns import is_stop_word
from civic.i18n import detect_language, t
from civic.settings import Settings
from storage.ratelimit import RateLimiter, Rule
from storage.updates import UpdateLedger

log = logging.getLogger(__name__)

PATH = "/sms/inbound"
XML = "application/xml"


def sms_router(
    *,
    inbound: SmsInbound,
    ledger: UpdateLedger,
    settings: Settings,
    limiter: RateLimiter | None = None,
) -> APIRouter:
    router = APIRouter()
    per_number = Rule("sms-number", settings.sms_limit_per_number, 60)

    async def over_limit(phone: str, body: str) -> Response | None:
        """The answer for a number over its limit (told once a minute), or None."""
        if limiter is None or is_stop_word(body):
            return None
        verdict = await run_in_threadpool(limiter.hit, per_number, phone)
        if verdict.allowed:
            return None
        told_or_not = "told" if verdict.first_refusal else "dropped"
        log.info("SMS over the per-number limit: %s", told_or_not)
        if not verdict.first_refusal:
            return Response(twiml(None), media_type=XML)
        told = t("limits.chat", detect_language(body), seconds=verdict.retry_after)
        count_sends(CHANNEL, "reply", 1)
        return Response(twiml(told), media_type=XML)

    @router.post(PATH)
    async def receive(request: Request) -> Response:
        async with request.form() as form:
            params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        url = settings.sms_webhook_url or str(request.url)
        given = request.headers.get("x-twilio-signature", "")
        if not valid_signature(settings.sms_auth_token or "", url, params, given):
            log.warning("SMS webhook refused: %s signature", "wrong" if given else "no")
            return Response(status_code=403)
        fields = dict(params)
        sid, phone = fields.get("MessageSid", ""), fields.get("From", "")
        if not sid or not phone:
            log.warning("SMS webhook without MessageSid or From: nothing to answer")
            return Response(twiml(None), status_code=400, media_type=XML)
        if not await run_in_threadpool(ledger.first_time, f"sms:{sid}"):
            log.info("SMS %s already handled", sid)
            return Response(twiml(None), media_type=XML)
        if (refused := await over_limit(phone, fields.get("Body", ""))) is not None:
            return refused
        answer = await inbound.handle(phone, fields.get("Body", ""))
        if answer.body:
            count_sends(CHANNEL, "reply", 1)
            log.info("SMS %s answered in %d segments", sid, sms_segments(answer.body))
        return Response(twiml(answer.body), media_type=XML)

    return router
