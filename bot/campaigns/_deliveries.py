"""Turn claimed invitations into deliveries: the address on the invitation's channel, the
person's language, the survey's title and the signed personal links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.campaigns._channels import Delivery, NoticeText
from civic.campaigns import invitation_links, sign
from civic.i18n import normalise_language
from civic.notices import FollowupMessage, followup_of
from civic.surveys import Survey
from storage.models import Campaign, ChannelAddress, Citizen, FrameMember, Invitation

SurveyLookup = Callable[[Session, str], Survey]
# (session, follow-up campaign, language) → its message, for a notice's follow-up
NoticeLookup = Callable[[Session, Campaign, str], FollowupMessage | None]


@dataclass
class DeliveryFactory:
    secret: str
    bot_username: str
    public_url: str
    survey: SurveyLookup
    notice: NoticeLookup | None = None

    def token(self, invitation: Invitation) -> str:
        return sign(secret=self.secret, nonce=invitation.nonce)

    def build(
        self, *, session: Session, campaign: Campaign, rows: list[Invitation]
    ) -> list[tuple[str, Delivery]]:
        if not rows:
            return []
        if followup_of(campaign) is not None:
            return self._followups(session, campaign, rows)
        survey = self.survey(session, campaign.survey_key)
        members = {
            m.id: m
            for m in session.scalars(
                select(FrameMember).where(FrameMember.id.in_([r.member_id for r in rows]))
            )
        }
        chats = self._chats(session, [m.citizen_id for m in members.values() if m.citizen_id])
        out = []
        for row in rows:
            member = members[row.member_id or 0]
            address, language = self._address(row.channel, member, chats)
            token = self.token(row)
            telegram_link, web_link = invitation_links(self.bot_username, self.public_url, token)
            delivery = Delivery(
                invitation_id=row.id,
                round=row.sending_round,
                address=address,
                language=language,
                title=survey.title.get(language) or survey.title.get("zh", ""),
                minutes=survey.minutes,
                token=token,
                telegram_link=telegram_link,
                web_link=web_link,
                unsubscribe_url=f"{self.public_url.rstrip('/')}/u/{token}",
                attempt=row.attempts,
            )
            out.append((row.channel, delivery))
        return out

    def _followups(
        self, session: Session, campaign: Campaign, rows: list[Invitation]
    ) -> list[tuple[str, Delivery]]:
        """A notice's follow-up: the message in each person's language, with the one-tap
        answers (buttons in a chat, a link to the answer page in an SMS)."""
        members = {
            m.id: m
            for m in session.scalars(
                select(FrameMember).where(FrameMember.id.in_([r.member_id for r in rows]))
            )
        }
        chats = self._chats(session, [m.citizen_id for m in members.values() if m.citizen_id])
        base = self.public_url.rstrip("/")
        out = []
        for row in rows:
            member = members[row.member_id or 0]
            address, language = self._address(row.channel, member, chats)
            message = self.notice(session, campaign, language) if self.notice else None
            if message is None:  # no notice texts to hand: say no more than its number
                number = campaign.name.split(" ")[0]
                message = FollowupMessage(number, campaign.name.split(" ")[-1], number, "", "")
            token = self.token(row)
            notice = NoticeText(
                stage=message.stage,
                topic=message.topic,
                agency=message.agency,
                commitment=message.commitment,
                page_url=f"{base}/notices/{message.number}?lang={language}",
                answer_url=f"{base}/n/{token}",
            )
            delivery = Delivery(
                invitation_id=row.id,
                round=row.sending_round,
                address=address,
                language=language,
                title=message.number,
                minutes=1,
                token=token,
                telegram_link="",
                web_link=notice.answer_url,
                unsubscribe_url=f"{base}/u/{token}",
                attempt=row.attempts,
                notice=notice,
            )
            out.append((row.channel, delivery))
        return out

    def _chats(
        self, session: Session, citizen_ids: list[int]
    ) -> dict[tuple[int, str], tuple[str, str]]:
        """(citizen id, channel) → (chat address, language) for citizens on a chat."""
        rows = session.execute(
            select(
                ChannelAddress.citizen_id,
                ChannelAddress.channel,
                ChannelAddress.address,
                Citizen.language,
            )
            .join(Citizen, Citizen.id == ChannelAddress.citizen_id)
            .where(ChannelAddress.citizen_id.in_(citizen_ids))
        )
        found: dict[tuple[int, str], tuple[str, str]] = {}
        for citizen_id, channel, address, language in rows:
            found[(citizen_id, channel)] = (address, language)
        return found

    @staticmethod
    def _address(
        channel: str, member: FrameMember, chats: dict[tuple[int, str], tuple[str, str]]
    ) -> tuple[str, str]:
        import json

        strata = json.loads(member.strata or "{}")
        language = normalise_language(strata.get("language"))
        if channel in ("telegram", "web"):
            return chats.get((member.citizen_id or 0, channel), ("", language))
        if channel == "sms":
            return member.mobile or "", language
        if channel == "email":
            return member.email or "", language
        return member.postal_address or "", language
