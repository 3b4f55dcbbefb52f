"""The Telegram channel: python-telegram-bot in front of `Conversation`.

Polling by default; webhook mode (with a secret token, each update handled before it is
answered: `_webhook.py`) when TELEGRAM_MODE=webhook. The
Bot API base URL is configurable, as for a self-hosted Bot API server or a test stand-in.
A private chat may send `CIVIC_TELEGRAM_LIMIT_PER_CHAT` messages a minute; past that it is
told once to slow down, and the rest of the minute's messages are dropped unanswered.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    PhotoSize,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import MessageLimit
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.assistant import COMMANDS, DEEP_LINK_LIMIT, UNKNOWN_COMMAND, Conversation, Incoming
from bot.observability import count_refusal, count_sends
from bot.telegram._budgeted import BudgetLimiter
from bot.telegram._duty_group import DutyGroup
from bot.telegram._transport import bot_api_urls, budget_for
from bot.telegram._webhook import serve_webhook
from civic.errors import RasaUnavailable
from civic.i18n import t
from civic.replies import BotMessage
from civic.settings import Settings
from storage.media import MAX_PHOTO_BYTES, MediaStore
from storage.models import ButtonPayload
from storage.ratelimit import RateLimiter, Rule, make_store
from storage.updates import UpdateClaims

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_DATA_LIMIT = 64
LONG_PAYLOAD_PREFIX = "p:"

# Commands and what they mean to the assistant (as Rasa intent payloads). "/start" with a
# deep link goes on as "/start <link>"; any other text starting with "/" means UNKNOWN_COMMAND.


class PayloadCodec:
    """Button payloads as callback_data: short ones as they are, long ones by digest."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def encode(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not payload.startswith(
            LONG_PAYLOAD_PREFIX
        ):
            return payload
        digest = hashlib.sha256(payload.encode()).hexdigest()[:32]
        with self._sessions() as session:
            if session.get(ButtonPayload, digest) is None:
                session.add(ButtonPayload(digest=digest, payload=payload))
                session.commit()
        return LONG_PAYLOAD_PREFIX + digest

    def decode(self, data: str) -> str | None:
        if not data.startswith(LONG_PAYLOAD_PREFIX):
            return data
        with self._sessions() as session:
            row = session.get(ButtonPayload, data.removeprefix(LONG_PAYLOAD_PREFIX))
            return row.payload if row else None


def attach_keyboards(
    replies: list[BotMessage],
) -> list[tuple[BotMessage, ReplyKeyboardMarkup | None]]:
    """Turn a custom {"keyboard": "location"|"contact", "button": label} message into a
    one-tap reply keyboard under the text that precedes it."""
    out: list[tuple[BotMessage, ReplyKeyboardMarkup | None]] = []
    for reply in replies:
        kind = (reply.custom or {}).get("keyboard")
        if kind in {"location", "contact"} and not reply.text:
            button = KeyboardButton(
                str(reply.custom.get("button") or "📍"),  # type: ignore[union-attr]
                request_location=kind == "location",
                request_contact=kind == "contact",
            )
            keyboard = ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
            if out and out[-1][0].text and not out[-1][0].buttons:
                out[-1] = (out[-1][0], keyboard)
            continue
        out.append((reply, None))
    return out


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long text into Telegram-sized parts, at line breaks where possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


async def save_photo(media: MediaStore, photo: PhotoSize) -> str | None:
    """Download a citizen's photo from Telegram and keep it if it is an image of at most
    MAX_PHOTO_BYTES; None otherwise."""
    if photo.file_size is not None and photo.file_size > MAX_PHOTO_BYTES:
        return None
    try:
        telegram_file = await photo.get_file()
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not fetch a photo from Telegram: %s", exc)
        return None
    return media.save(data)


class TelegramGateway:
    def __init__(
        self,
        *,
        settings: Settings,
        conversation: Conversation,
        sessions: sessionmaker[Session],
        limiter: RateLimiter | None = None,
        claims: UpdateClaims | None = None,
    ) -> None:
        self.settings = settings
        # webhook mode with several workers: who handles each update (`_webhook.py`);
        # a claimed update is never refused as a repeat by the conversation's ledger
        self.claims = claims
        self.undone: set[int] = set()  # updates to leave unanswered, for Telegram to resend
        self.conversation = conversation
        self.sessions = sessions
        self.codec = PayloadCodec(sessions)
        self.media = MediaStore(settings.var_dir / "media")
        # every message it sends (replies, duty-group answers) takes a token of the
        # highest priority from the bot's shared send budget
        self.budget = budget_for(settings, "gateway")
        self.limiter = limiter or RateLimiter(make_store(settings.redis_url))
        self.per_chat = Rule("telegram-chat", settings.telegram_limit_per_chat, 60)

    def build_application(self, *, updater: bool = True) -> Application:  # type: ignore[type-arg]
        """The bot's handlers; `updater=False` for webhook mode, where `_webhook.py`
        receives the updates."""
        builder = Application.builder().token(self.settings.telegram_bot_token or "")
        if not updater:
            builder = builder.updater(None)
        if urls := bot_api_urls(self.settings):
            builder = builder.base_url(urls.base_url).base_file_url(urls.base_file_url)
        limiter = BudgetLimiter(self.budget, "reply", inner=AIORateLimiter(max_retries=3))
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
        application = builder.build()
        # Before anything else: a chat over its limit goes no further.
        application.add_handler(TypeHandler(Update, self._within_limit), group=-1)
        # First: duty-group taps and messages, which must never reach the conversation.
        DutyGroup(settings=self.settings, sessions=self.sessions).add_handlers(application)
        application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self._on_edited))
        application.add_handler(CallbackQueryHandler(self._on_button))
        for command, payload in COMMANDS.items():
            on_command = self._on_command(payload, deep_link=command == "start")
            # filters.TEXT: any message with text, as below (not only new messages)
            application.add_handler(CommandHandler(command, on_command, filters=filters.TEXT))
        # an unknown command, another bot's, or "/" without one: never said as text
        unknown = self._on_command(UNKNOWN_COMMAND)
        application.add_handler(MessageHandler(filters.Regex("^/"), unknown))
        application.add_handler(MessageHandler(filters.TEXT, self._on_text))
        application.add_handler(MessageHandler(filters.Sticker.ALL, self._on_kind("sticker")))
        application.add_handler(MessageHandler(filters.PHOTO, self._on_photo))
        application.add_handler(MessageHandler(filters.LOCATION, self._on_location))
        application.add_handler(MessageHandler(filters.CONTACT, self._on_contact))
        application.add_handler(MessageHandler(filters.ALL, self._on_kind("unsupported")))
        application.add_error_handler(self._on_error)
        return application

    # -- incoming -----------------------------------------------------------------

    async def _within_limit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            return
        verdict = self.limiter.hit(self.per_chat, str(chat.id))
        if verdict.allowed:
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        if verdict.first_refusal:
            user = update.effective_user
            lang = user.language_code if user else None
            text = t("limits.chat", lang, seconds=verdict.retry_after)
            await context.bot.send_message(chat_id=chat.id, text=text)
        raise ApplicationHandlerStop

    def _incoming(self, update: Update, kind: str, text: str | None) -> Incoming:
        chat = update.effective_chat
        user = update.effective_user
        return Incoming(
            channel=CHANNEL,
            address=str(chat.id if chat else user.id if user else 0),
            kind=kind,
            text=text,
            update_key=None if self.claims is not None else f"tg:{update.update_id}",
            language_hint=user.language_code if user else None,
        )

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.effective_message.text if update.effective_message else ""
        await self._turn(update, self._incoming(update, "text", text))

    def _on_command(self, payload: str, *, deep_link: bool = False):  # type: ignore[no-untyped-def]
        """A command said as `payload`; with `deep_link`, "/start <link>" when the command
        has one: an invitation token, a window (w_<id>) or a survey (s_<key>)."""

        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            link = " ".join(context.args or [])[:DEEP_LINK_LIMIT] if deep_link else ""
            text = f"/start {link}" if link else payload
            await self._turn(update, self._incoming(update, "payload", text))

        return handler

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        payload = self.codec.decode(query.data or "")
        # a tapped button counts only if it was offered to this chat (see Conversation)
        await self._turn(
            update, self._incoming(update, "button" if payload else "unsupported", payload)
        )

    async def _on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Store the photo, then tell the assistant: with a caption, as the caption's text
        carrying the photo; without one, as a photo on its own."""
        message = update.effective_message
        if message is None or not message.photo:
            return
        name = await save_photo(self.media, message.photo[-1])
        if name is None:
            await self._turn(update, self._incoming(update, "photo_rejected", None))
            return
        if message.caption:
            # one message, one meaning: the caption and the photo travel together, so a
            # complaint described in the caption starts with its photo attached
            incoming = replace(
                self._incoming(update, "text", message.caption), metadata={"photo": name}
            )
            await self._turn(update, incoming)
            return
        payload = "/send_photo" + json.dumps({"photo": name}, separators=(",", ":"))
        incoming = self._incoming(update, "payload", payload)
        if incoming.update_key is not None:
            incoming = replace(incoming, update_key=f"{incoming.update_key}:photo")
        await self._turn(update, incoming)

    async def _on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared phone number: kept only if it is the sender's own, never sent to Rasa."""
        message = update.effective_message
        user = update.effective_user
        contact = message.contact if message else None
        if contact is None or user is None or contact.user_id != user.id:
            await self._turn(update, self._incoming(update, "unsupported", None))
            return
        incoming = self._incoming(update, "payload", '/choose_contact{"contact":"phone"}')
        self.conversation.remember_phone(incoming, contact.phone_number)
        await self._turn(update, incoming)

    async def _on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        location = update.effective_message.location if update.effective_message else None
        if location is None:
            return
        payload = "/share_location" + json.dumps(
            {"lat": location.latitude, "long": location.longitude}, separators=(",", ":")
        )
        await self._turn(update, self._incoming(update, "payload", payload))

    async def _on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._turn(update, self._incoming(update, "edited", None))

    def _on_kind(self, kind: str):  # type: ignore[no-untyped-def]
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await self._turn(update, self._incoming(update, kind, None))

        return handler

    # -- outgoing -----------------------------------------------------------------

    async def _turn(self, update: Update, incoming: Incoming) -> None:
        if self.claims is not None:  # webhook mode: Telegram sends it again if left undone
            incoming = replace(incoming, redeliverable=True)
        try:
            replies = await self.conversation.handle(incoming)
        except RasaUnavailable:
            # nothing said: `_webhook.py` leaves the update unanswered, and Telegram sends
            # it again, to a Rasa server that answers by then
            self.undone.add(update.update_id)
            return
        chat = update.effective_chat
        if chat is None:
            return
        for reply, keyboard in attach_keyboards(replies):
            await self.render(chat.id, reply, update.get_bot(), keyboard)

    async def render(  # type: ignore[no-untyped-def]
        self,
        chat_id: int | str,
        message: BotMessage,
        bot,
        keyboard: ReplyKeyboardMarkup | None = None,
    ) -> None:
        """Send one assistant message: text in Telegram-sized parts, buttons as an inline
        keyboard under the last part (or a reply keyboard asking for a location or phone
        number), images as photos."""
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = keyboard
        if message.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b.title, callback_data=self.codec.encode(b.payload))]
                    for b in message.buttons
                ]
            )
        parts = split_text(message.text or "")
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                await bot.send_message(
                    chat_id=chat_id, text=part, reply_markup=markup if last else None
                )
                count_sends("telegram", "reply")
            if message.image:
                await bot.send_photo(chat_id=chat_id, photo=message.image)
                count_sends("telegram", "reply")
        except (RetryAfter, Forbidden) as err:  # counted here, handled by _on_error
            count_refusal(429 if isinstance(err, RetryAfter) else 403, "reply")
            raise

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one error handler: log the traceback under an incident id, apologise."""
        incident = secrets.token_hex(4)
        log.error(
            "incident %s while handling an update",
            incident,
            exc_info=context.error,
            extra={"incident": incident},
        )
        if isinstance(update, Update) and update.effective_chat is not None:
            user = update.effective_user
            lang = user.language_code if user else None
            try:
                await context.bot.send_message(
                    chat_id=update.effective_chat.id,
                    text=t("errors.internal", lang, incident=incident),
                )
            except Exception:  # the apology itself failed; the incident is logged
                log.warning("incident %s: could not send the apology", incident)

    # -- running ------------------------------------------------------------------

    def run(self) -> None:
        if self.settings.telegram_mode == "webhook":
            asyncio.run(self.serve_webhook())
        else:
            application = self.build_application()
            application.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.2)

    def _take_undone(self, update_id: int) -> bool:
        """True (once) when the update's turn could not be done and is to be resent."""
        if update_id in self.undone:
            self.undone.discard(update_id)
            return True
        return False

    async def serve_webhook(self) -> None:
        """Webhook mode (`_webhook.py`): each update handled before Telegram is answered;
        with Redis, claimed first, so that several workers may serve the same bot."""
        if self.claims is None and self.settings.redis_url:
            import redis

            self.claims = UpdateClaims(redis.Redis.from_url(self.settings.redis_url))
        await serve_webhook(
            self.build_application(updater=False),
            url=self.settings.telegram_webhook_url or "",
            port=self.settings.telegram_webhook_port,
            secret=self.settings.telegram_webhook_secret or "",
            claims=self.claims,
            undone=self._take_undone,
            allowed_updates=Update.ALL_TYPES,
        )
