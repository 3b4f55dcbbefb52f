"""The database schema. Alembic migrations in `storage/migrations/` create it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Citizen(Base):
    """A person talking to the assistant. `public_id` is the pseudonym Rasa sees, so chat
    ids and phone numbers never reach the NLU server or its tracker store."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    addresses: Mapped[list[ChannelAddress]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan"
    )


class ChannelAddress(Base):
    """Where a citizen can be reached: a Telegram chat id, a web-chat session."""

    __tablename__ = "channel_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    unreachable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="addresses")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    category: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True)
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    routed_by: Mapped[str] = mapped_column(String(32), default="nlu")
    address_text: Mapped[str | None] = mapped_column(Text, default=None)
    road: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    photo: Mapped[str | None] = mapped_column(String(255), default=None)
    # anonymous | chat | phone: how the agency may contact the citizen.
    contact: Mapped[str] = mapped_column(String(16), default="chat", server_default="chat")
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    long: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # When the due time passed with the ticket still open, and everyone was told.
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The citizen's answer after rectification: fixed or not, and their satisfaction
    # (satisfied | basically_satisfied | dissatisfied), which feeds the agency's score.
    fixed_confirmed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    satisfaction: Mapped[str | None] = mapped_column(String(24), default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketFollower(Base):
    """A citizen who chose to follow an existing ticket instead of filing a duplicate;
    followers receive the ticket's public updates too."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketEvent(Base):
    """One transition or note; a ticket's history is its list of events."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class ProcessedUpdate(Base):
    """Keys of channel updates already handled, so a repeated delivery is handled once."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ButtonPayload(Base):
    """Button payloads too long for Telegram's 64-byte callback_data, keyed by a digest."""

    __tablename__ = "button_payloads"

    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboundMessage(Base):
    """Messages waiting for a channel that cannot be pushed to directly (the web chat
    polls for them)."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


# --- The agency side: desk users, API keys, the notification outbox, agency channels ---


class AgencyUser(Base):
    """Someone working the agency desk. `agency` NULL is the evaluation office's staff,
    who see every ticket and work the triage queue."""

    __tablename__ = "agency_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(128))
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # officer | supervisor | staff
    role: Mapped[str] = mapped_column(String(16))
    # Comma-separated district codes an officer is limited to; NULL = the whole agency.
    districts: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The Telegram account that acts for this user in the agency's duty group, and the
    # digest of a one-time code that links one (sent to the bot as "/link CODE").
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    telegram_link_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    telegram_link_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )

    @property
    def district_codes(self) -> frozenset[str]:
        """The districts this user is limited to; empty means no district limit."""
        return frozenset(d for d in (self.districts or "").split(",") if d)


class StaffSession(Base):
    """A desk login. Only the SHA-256 of the token is stored, so a leaked table logs no
    one in."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("agency_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    user: Mapped[AgencyUser] = relationship()


class ApiKey(Base):
    """A key for an agency's own system (Open311). `agency` NULL is an evaluation-office
    integration that may read every ticket."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Notification(Base):
    """The outbox: a message to a citizen, written in the same transaction as the change
    it reports and delivered later, at most once per idempotency key."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True, default=None
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(32))
    body_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text, default="{}")
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending | sent | failed | unreachable
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class AgencyUpdate(Base):
    """An update an agency's system posted (Open311 servicerequestupdates), kept so the
    same `update_id` repeated is applied once and answered with the same result."""

    __tablename__ = "agency_updates"
    __table_args__ = (UniqueConstraint("api_key_id", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    update_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventPhoto(Base):
    """A photo attached to one ticket event, such as the agency's proof of rectification
    (a stored file reference or an http(s) URL)."""

    __tablename__ = "event_photos"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="CASCADE"), primary_key=True
    )
    photo: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgencyChannel(Base):
    """Where an agency hears about new tickets: a Telegram group and/or a webhook."""

    __tablename__ = "agency_channels"

    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64), default=None)
    webhook_url: Mapped[str | None] = mapped_column(String(512), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(255), default=None)


class Handoff(Base):
    """A citizen's request to talk to a person: queued for the evaluation office's staff
    until closed. While it is open the citizen's messages go to the staff, not to Rasa."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    # waiting (nobody answered yet) | answered | closed
    status: Mapped[str] = mapped_column(String(16), index=True, default="waiting")
    language: Mapped[str] = mapped_column(String(5), default="zh")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    messages: Mapped[list[HandoffMessage]] = relationship(
        order_by="HandoffMessage.id", cascade="all, delete-orphan"
    )


class HandoffMessage(Base):
    """One line of a handoff's transcript: the conversation before it, then both sides."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(16))  # citizen | assistant | staff
    staff_username: Mapped[str | None] = mapped_column(String(64), default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgencyAlert(Base):
    """An outbox row telling an agency's own system (its webhook) that a ticket reached
    it; delivered by the scheduler's agency-webhooks job, retried with backoff."""

    __tablename__ = "agency_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class DutyMessage(Base):
    """An outbox row for an agency's people on Telegram: a new ticket posted to the duty
    group (with Accept / Reroute buttons), or an overdue ticket escalated to the group and
    to each linked supervisor. Written in the same transaction as the change it reports;
    delivered by the scheduler's duty-messages job."""

    __tablename__ = "duty_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # new_ticket | escalation
    chat_id: Mapped[str] = mapped_column(String(64))
    # The supervisor a private escalation is for; NULL for the duty group.
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), default=None
    )
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    # pending | sent | failed | unreachable
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Telegram's id of the posted message, to edit it later.
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class DutyPrompt(Base):
    """The bot's question to a duty officer who tapped Reroute: their reply to that message
    (chat_id, message_id) is the reason, and sends the ticket back to triage."""

    __tablename__ = "duty_prompts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("agency_users.id", ondelete="CASCADE"))
    # The group post whose buttons were tapped, edited once the ticket has gone.
    post_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


# --- Public evaluation: surveys, the sample frame, campaigns, window ratings ---


class SurveyDefinition(Base):
    """A survey as YAML, loaded from the profile or uploaded through the admin API, and
    checked on the way in. `version` grows with each change; responses keep theirs."""

    __tablename__ = "survey_definitions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="profile")  # profile | admin
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FrameMember(Base):
    """Someone who may be sampled: a bot subscriber (opted in, `citizen_id` set) or a
    household from the evaluation office's registry (`external_id` set). Mobile, e-mail
    and postal address are personal data: never shown to agencies, erased on request."""

    __tablename__ = "frame_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # subscriber | household
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), unique=True, default=None
    )
    district: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # Other strata attributes (age_band, gender, income, ...) as a JSON object.
    strata: Mapped[str] = mapped_column(Text, default="{}")
    mobile: Mapped[str | None] = mapped_column(String(32), default=None)
    email: Mapped[str | None] = mapped_column(String(255), default=None)
    postal_address: Mapped[str | None] = mapped_column(Text, default=None)
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_sampled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Campaign(Base):
    """A survey sent to a stratified random sample on a schedule."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    survey_key: Mapped[str] = mapped_column(String(64))
    # The design as JSON: population filter, strata, allocation, n, seed, channels.
    design: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    reminder_days: Mapped[str] = mapped_column(String(64), default="[2, 5]")
    # draft | running | closed
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Invitation(Base):
    """One sampled person in one campaign, with their stratum and the state of the
    invitation and its reminders. A send is claimed (`sending`) in its own committed
    transaction before the request goes out, so a restart knows what was in flight."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        # the sender's claim: a campaign's invitations in one state, in id order
        Index("ix_invitations_claim", "campaign_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("frame_members.id", ondelete="SET NULL"), index=True
    )
    stratum: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | web | sms | email | letter
    # A random nonce; the signed token in the link names the invitation by it.
    nonce: Mapped[str] = mapped_column(String(24), unique=True)
    # pending | sending | sent | failed | unreachable | opted_out
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Which message the current claim is for: 0 the invitation, 1.. the reminders.
    sending_round: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class SurveyResponse(Base):
    """One person's answers to one survey, kept server-side so they can stop and come
    back. Invited responses have `invitation_id`; open-link ones are self-selected and
    kept out of weighted scores."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(64), index=True)
    survey_version: Mapped[int] = mapped_column(Integer, default=1)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), unique=True, default=None
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True, default=None
    )
    self_selected: Mapped[bool] = mapped_column(Boolean, default=False)
    stratum: Mapped[str | None] = mapped_column(String(255), default=None)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    # The path of answered steps as a JSON list of step ids, for "back".
    path: Mapped[str] = mapped_column(Text, default="[]")
    # in_progress | completed
    status: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SurveyAnswer(Base):
    """One answer: to a question, for one agency when the question is in an agency block.
    `value` is the option code, the number, or the typed text; NULL means skipped."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    # The step id: the question id, or "<question>@<agency>" inside an agency block.
    step: Mapped[str] = mapped_column(String(160))
    question: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    value: Mapped[str | None] = mapped_column(Text, default=None)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceWindow(Base):
    """A counter at a public service hall where citizens rate the service on the spot."""

    __tablename__ = "service_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    hall: Mapped[str] = mapped_column(String(128))
    number: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WindowRating(Base):
    """One citizen's rating of one window on one day (Asia/Shanghai calendar day)."""

    __tablename__ = "window_ratings"
    __table_args__ = (UniqueConstraint("window_id", "citizen_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_windows.id", ondelete="CASCADE"), index=True
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True
    )
    day: Mapped[str] = mapped_column(String(10))
    scale: Mapped[str] = mapped_column(String(16))  # stars | hangzhou
    score: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
