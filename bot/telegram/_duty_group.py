"""An agency's duty group on Telegram: officers accept new tickets, or send them back to
triage, with the buttons under the bot's posts; they link their Telegram account to their
desk account by sending "/link CODE" to the bot privately.

A tap counts only from a Telegram account linked to a desk user of the agency whose duty
group it is, on a ticket still waiting there; anyone else gets an alert and nothing
changes. Accepting and rerouting go through `civic.tickets`, the desk's own functions, so
the same ownership checks and history apply. Reroute asks for the reason with a selective
ForceReply; the officer's reply to that question is the reason.

These handlers come before the citizen conversation's, and nothing said or tapped in a
group reaches it: group messages other than the answer to a reroute question are ignored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import CallbackQuery, ForceReply, ReplyParameters, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram._duty_texts import (
    ACCEPT,
    CALLBACK_PREFIX,
    DUTY_LANGUAGE,
    Press,
    accepted_post,
    agency_label,
    ask_reason_text,
    parse_callback,
    rerouted_post,
    stale_post,
    status_label,
)
from civic import tickets
from civic.agencies import can_act
from civic.city import Profile, get_profile
from civic.duty import (
    agency_of_chat,
    officer_for_telegram,
    open_prompt,
    open_prompt_for,
    redeem_link_code,
)
from civic.errors import DeskError, IllegalTransition
from civic.i18n import t
from civic.settings import Settings
from civic.tickets import Status
from storage.models import AgencyUser, Ticket, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who tapped Reroute on which ticket: they are asked for the reason."""

    ticket_id: int
    number: str
    user_id: int
    name: str
    telegram_user_id: int


@dataclass(frozen=True)
class Outcome:
    """What a tap comes to: the answer to the tapper, the post's new text (its buttons
    removed) and, for Reroute, whom to ask for the reason."""

    answer: str
    alert: bool = False
    post: str | None = None
    ask: Asker | None = None


@dataclass(frozen=True)
class ReasonTaken:
    reply: str
    post: str | None = None
    post_message_id: int | None = None


class DutyDesk:
    """The decisions, in the database: one short transaction each."""

    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile

    def _waiting_ticket(
        self, session: Session, chat_id: str, telegram_user_id: int, number: str, lang: str
    ) -> tuple[AgencyUser, Ticket] | Outcome:
        """The tapper and the ticket when the tap counts, else the refusal."""
        agency = agency_of_chat(session=session, chat_id=chat_id)
        if agency is None:
            return Outcome(t("duty.answer.not_a_duty_group", lang), alert=True)
        officer = officer_for_telegram(session=session, telegram_user_id=telegram_user_id)
        if officer is None:
            return Outcome(t("duty.answer.not_linked", lang), alert=True)
        if officer.agency != agency:
            return Outcome(t("duty.answer.other_agency", lang), alert=True)
        ticket = session.scalars(
            select(Ticket).where(Ticket.number == number).with_for_update()
        ).first()
        if ticket is None:
            return Outcome(t("duty.answer.not_found", lang, number=number), alert=True)
        gone = self._gone(ticket, agency, lang)
        if gone is not None:
            return Outcome(gone, alert=True, post=stale_post(ticket, self.profile))
        if not can_act(officer, ticket):
            return Outcome(t("duty.answer.not_allowed", lang, number=number), alert=True)
        return officer, ticket

    def _gone(self, ticket: Ticket, agency: str | None, lang: str) -> str | None:
        """Why the ticket no longer waits in this agency's group, if it does not."""
        number = ticket.number or ""
        if ticket.agency != agency:
            where = agency_label(self.profile, ticket.agency, lang)
            return t("duty.answer.elsewhere", lang, number=number, agency=where)
        if ticket.status != Status.ROUTED:
            status = status_label(ticket.status, lang)
            return t("duty.answer.taken", lang, number=number, status=status)
        return None

    def accept(self, chat_id: str, telegram_user_id: int, number: str, lang: str) -> Outcome:
        with self.sessions() as session:
            found = self._waiting_ticket(session, chat_id, telegram_user_id, number, lang)
            if isinstance(found, Outcome):
                return found
            officer, ticket = found
            try:
                event = tickets.accept(session=session, viewer=officer, ticket=ticket)
            except (DeskError, IllegalTransition):
                return Outcome(t("duty.answer.not_allowed", lang, number=number), alert=True)
            session.commit()
            post = accepted_post(ticket, self.profile, officer.display_name, event.at)
            return Outcome(t("duty.answer.accepted", lang, number=number), post=post)

    def ask_reroute(self, chat_id: str, telegram_user_id: int, number: str, lang: str) -> Outcome:
        with self.sessions() as session:
            found = self._waiting_ticket(session, chat_id, telegram_user_id, number, lang)
            if isinstance(found, Outcome):
                return found
            officer, ticket = found
            asker = Asker(ticket.id, number, officer.id, officer.display_name, telegram_user_id)
            return Outcome(t("duty.answer.ask_reason", lang), ask=asker)

    def remember_question(
        self, chat_id: str, message_id: int, asker: Asker, post_message_id: int | None
    ) -> None:
        with self.sessions() as session:
            ticket = session.get(Ticket, asker.ticket_id)
            officer = session.get(AgencyUser, asker.user_id)
            if ticket is None or officer is None:
                return
            open_prompt(
                session=session,
                chat_id=chat_id,
                message_id=message_id,
                ticket=ticket,
                user=officer,
                post_message_id=post_message_id,
            )
            session.commit()

    def reroute(
        self, chat_id: str, question_id: int, telegram_user_id: int, reason: str
    ) -> ReasonTaken | None:
        """Send the ticket back to triage with the officer's answer to our question;
        None when the message answers no open question of ours, or is someone else's."""
        with self.sessions() as session:
            prompt = open_prompt_for(session=session, chat_id=chat_id, message_id=question_id)
            officer = officer_for_telegram(session=session, telegram_user_id=telegram_user_id)
            if prompt is None or officer is None or officer.id != prompt.user_id:
                return None
            ticket = session.scalars(
                select(Ticket).where(Ticket.id == prompt.ticket_id).with_for_update()
            ).one()
            gone = self._gone(
                ticket, agency_of_chat(session=session, chat_id=chat_id), DUTY_LANGUAGE
            )
            prompt.answered_at = utcnow()
            if gone is not None:
                session.commit()
                return ReasonTaken(gone, stale_post(ticket, self.profile), prompt.post_message_id)
            try:
                event = tickets.reroute(
                    session=session,
                    viewer=officer,
                    ticket=ticket,
                    to_agency=None,
                    reason=reason,
                    known_agencies=set(self.profile.agencies),
                )
            except (DeskError, IllegalTransition) as exc:
                session.rollback()  # the question stays open: they may answer again
                return ReasonTaken(t("duty.reason_invalid", DUTY_LANGUAGE, error=str(exc)))
            session.commit()
            post = rerouted_post(ticket, self.profile, officer.display_name, event.at, reason)
            number = ticket.number or ""
            return ReasonTaken(
                t("duty.rerouted", DUTY_LANGUAGE, number=number), post, prompt.post_message_id
            )

    def link(self, code: str, telegram_user_id: int, lang: str) -> str:
        with self.sessions() as session:
            user = redeem_link_code(session=session, code=code, telegram_user_id=telegram_user_id)
            if user is None:
                return t("duty.link.bad_code", lang)
            session.commit()
            agency = agency_label(self.profile, user.agency, lang)
            return t("duty.link.done", lang, name=user.display_name, agency=agency)


class GroupCallbackQueryHandler(CallbackQueryHandler):  # type: ignore[type-arg]
    """Matches button taps in groups and supergroups only."""

    def check_update(self, update: object) -> bool | object | None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or chat.type == ChatType.PRIVATE:
            return None
        return super().check_update(update)


class DutyGroup:
    """The Telegram side: handlers added to the gateway's application."""

    def __init__(self, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
        profile = get_profile(settings.profiles_dir, settings.profile)
        self.desk = DutyDesk(sessions, profile)

    def add_handlers(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add these before the conversation's handlers: the first that matches wins."""
        application.add_handler(
            CommandHandler("link", self.on_link, filters=filters.ChatType.PRIVATE)
        )
        application.add_handler(CallbackQueryHandler(self.on_press, pattern=f"^{CALLBACK_PREFIX}"))
        application.add_handler(GroupCallbackQueryHandler(self.on_stray_press))
        answers = filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND
        application.add_handler(MessageHandler(filters.ChatType.GROUPS & answers, self.on_reply))
        application.add_handler(MessageHandler(filters.ChatType.GROUPS, self.ignore))

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None or user is None:
            return
        press = parse_callback(query.data)
        if press is None:
            await _answer(query, None)
            return
        outcome = await asyncio.to_thread(self._decide, press, str(chat.id), user)
        await _answer(query, outcome.answer, outcome.alert)
        post_id = query.message.message_id if query.message else None
        if outcome.post is not None and post_id is not None:
            await _edit(context, chat.id, post_id, outcome.post)
        if outcome.ask is not None:
            await self._ask_reason(context, chat.id, post_id, outcome.ask)

    def _decide(self, press: Press, chat_id: str, user: User) -> Outcome:
        lang = user.language_code or DUTY_LANGUAGE
        if press.action == ACCEPT:
            return self.desk.accept(chat_id, user.id, press.number, lang)
        return self.desk.ask_reroute(chat_id, user.id, press.number, lang)

    async def _ask_reason(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, post_id: int | None, asker: Asker
    ) -> None:
        question = await context.bot.send_message(
            chat_id=chat_id,
            text=ask_reason_text(asker.name, asker.telegram_user_id, asker.number),
            parse_mode=ParseMode.HTML,
            reply_parameters=(
                ReplyParameters(post_id, allow_sending_without_reply=True) if post_id else None
            ),
            reply_markup=ForceReply(
                selective=True,
                input_field_placeholder=t("duty.reason_placeholder", DUTY_LANGUAGE),
            ),
        )
        await asyncio.to_thread(
            self.desk.remember_question, str(chat_id), question.message_id, asker, post_id
        )

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.reply_to_message is None:
            return
        taken = await asyncio.to_thread(
            self.desk.reroute,
            str(message.chat_id),
            message.reply_to_message.message_id,
            user.id,
            message.text or "",
        )
        if taken is None:
            return
        await context.bot.send_message(
            chat_id=message.chat_id,
            text=taken.reply,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )
        if taken.post is not None and taken.post_message_id is not None:
            await _edit(context, message.chat_id, taken.post_message_id, taken.post)

    async def on_link(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        lang = user.language_code or DUTY_LANGUAGE
        code = "".join(context.args or [])
        if not code:
            await message.reply_text(t("duty.link.usage", lang))
            return
        reply = await asyncio.to_thread(self.desk.link, code, user.id, lang)
        await message.reply_text(reply)

    async def on_stray_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await _answer(update.callback_query, None)

    async def ignore(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group chatter is not for the assistant."""


async def _answer(query: CallbackQuery, text: str | None, alert: bool = False) -> None:
    """Answer a tap; a repeated delivery of the same tap finds it answered already."""
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as err:
        log.info("duty tap not answered: %s", err)


async def _edit(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int, text: str
) -> None:
    """Show the post's new state and remove its buttons."""
    try:
        await context.bot.edit_message_text(
            chat_id=chat_id, message_id=message_id, text=text, parse_mode=ParseMode.HTML
        )
    except BadRequest as err:  # not modified (shown already), or deleted meanwhile
        log.info("duty post not edited: %s", err)
