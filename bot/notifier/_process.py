"""The `civicbot notifier` process, and one batch as a scheduler job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from telegram import Bot

from bot import telegram as transport
from bot.delivery import Journal, SmsGateway
from bot.notifier._delivery import Notifier, _log_incident
from bot.notifier._options import DeliveryReport, NotifierOptions
from bot.telegram import AiohttpRequest
from bot.wechat import StatusSender, WeChatClient
from civic.settings import Settings, get_settings
from storage.db import session_factory
from storage.wakeups import Wakeups

log = logging.getLogger(__name__)


def make_bot(settings: Settings, options: NotifierOptions) -> Bot | None:
    """A Bot for the notifier (honouring TELEGRAM_BASE_URL), or None without a token."""
    if not settings.telegram_bot_token:
        return None
    request = AiohttpRequest(connections=options.concurrency + 1)
    return transport.make_bot(
        settings=settings, request=request, priority="notification", role="notifier"
    )


def make_wechat(settings: Settings) -> StatusSender | None:
    """Status updates to WeChat, or None when the channel is not configured."""
    if not settings.wechat_enabled:
        return None
    client = WeChatClient(
        app_id=settings.wechat_app_id or "",
        app_secret=settings.wechat_app_secret or "",
        base_url=settings.wechat_api_base_url,
    )
    return StatusSender(client=client, template_id=settings.wechat_template_id_status)


def make_sms(settings: Settings) -> SmsGateway | None:
    """The SMS gateway for status updates by SMS (to callers the hotline filed for and to
    citizens who text), or None when it is not set up."""
    if not (
        settings.sms_gateway_url
        and settings.sms_account_sid
        and settings.sms_auth_token
        and settings.sms_from
    ):
        return None
    return SmsGateway.from_settings(settings)


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Until stopped, woken, or `seconds` have passed."""
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, wake)]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def deliver_until_stopped(
    notifier: Notifier, options: NotifierOptions, stop: asyncio.Event, wakeups: Wakeups
) -> None:
    """Batch after batch; between them, wait for a committed row to wake us (see
    storage/wakeups.py), or poll: often when nothing can wake us (SQLite without Redis, a
    lost connection), seldom otherwise."""
    listener = asyncio.create_task(wakeups.run())
    try:
        while not stop.is_set():
            wakeups.wake.clear()  # a row committed from now on wakes the next round
            try:
                report = await notifier.deliver_due(options.batch_size)
            except Exception as exc:  # the database is away, say: try again shortly
                _log_incident(exc)
                report = DeliveryReport()
            if report.claimed < options.batch_size:
                listening = bool(wakeups.listening)
                poll = options.fallback_poll_seconds if listening else options.poll_seconds
                await _wait(stop, wakeups.wake, poll)
    finally:
        listener.cancel()
        # bounded: a stop never waits on the listener for long, whatever it is stuck in
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(10):
                await listener


async def _notify_until_stopped(settings: Settings, options: NotifierOptions) -> None:
    bot = make_bot(settings, options)
    # writing sessions: on SQLite a claim takes the write lock before it reads
    sessions = session_factory(settings.database_url, writes=True)
    journal = Journal(settings.var_dir / "notifier-journal")
    wechat = make_wechat(settings)
    sms = make_sms(settings)
    notifier = Notifier(
        sessions=sessions,
        settings=settings,
        bot=bot,
        options=options,
        journal=journal,
        wechat=wechat,
        sms=sms,
    )
    notifier.recover()
    stop = asyncio.Event()

    def on_signal() -> None:
        stop.set()
        notifier.stop()  # the batch in hand finishes its sends and hands back the rest

    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, on_signal)
    log.info("notifier started (%s msg/s overall)", options.rate_per_second or "no limit")
    if bot is None:
        log.warning("no TELEGRAM_BOT_TOKEN: Telegram notifications are retried, then failed")
    wakeups = Wakeups(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        channels=options.listen,
    )
    log.info("notifier woken by %s", " and ".join(wakeups.sources) or "nothing: it polls")
    try:
        await deliver_until_stopped(notifier, options, stop, wakeups)
    finally:
        if bot is not None:
            await transport.close_bot(bot)
        if wechat is not None:
            await wechat.aclose()
        if sms is not None:
            await sms.aclose()
    log.info("notifier stopped")


def run_notifier(settings: Settings, options: NotifierOptions | None = None) -> None:
    """The `civicbot notifier` process: deliver as rows commit (or as it polls) until
    SIGTERM or SIGINT."""
    asyncio.run(_notify_until_stopped(settings, options or NotifierOptions.from_settings(settings)))


def deliver_once(settings: Settings | None = None) -> DeliveryReport:
    """One batch, for an APScheduler job. Settings are read here rather than passed, so
    that they (and the bot token) are never pickled into the job store."""
    settings = settings or get_settings()
    options = NotifierOptions.from_settings(settings)

    async def once() -> DeliveryReport:
        bot = make_bot(settings, options)
        sessions = session_factory(settings.database_url, writes=True)
        wechat = make_wechat(settings)
        sms = make_sms(settings)
        notifier = Notifier(
            sessions=sessions, settings=settings, bot=bot, options=options, wechat=wechat, sms=sms
        )
        try:
            return await notifier.deliver_due(options.batch_size)
        finally:
            if bot is not None:
                await transport.close_bot(bot)
            if wechat is not None:
                await wechat.aclose()
            if sms is not None:
                await sms.aclose()

    try:
        report = asyncio.run(once())
    except Exception as exc:  # logged without its message; the next run tries again
        _log_incident(exc)
        return DeliveryReport()
    log.info("notifications: %s", report)
    return report
