"""The database schema, one module per noun; `storage/migrations/` creates it."""

from storage.models.agencies import AgencyAlert, AgencyChannel, AgencyUser, ApiKey, StaffSession
from storage.models.base import Base, utcnow
from storage.models.campaigns import Campaign, FrameMember, Invitation
from storage.models.channels import ButtonPayload, OutboundMessage, ProcessedUpdate
from storage.models.citizens import ChannelAddress, Citizen
from storage.models.duty import DutyMessage, DutyPrompt
from storage.models.handoffs import Handoff, HandoffMessage
from storage.models.notifications import Notification
from storage.models.surveys import SurveyAnswer, SurveyDefinition, SurveyResponse
from storage.models.tickets import AgencyUpdate, EventPhoto, Ticket, TicketEvent, TicketFollower
from storage.models.windows import ServiceWindow, WindowRating

__all__ = (
    "AgencyAlert",
    "AgencyChannel",
    "AgencyUpdate",
    "AgencyUser",
    "ApiKey",
    "Base",
    "ButtonPayload",
    "Campaign",
    "ChannelAddress",
    "Citizen",
    "DutyMessage",
    "DutyPrompt",
    "EventPhoto",
    "FrameMember",
    "Handoff",
    "HandoffMessage",
    "Invitation",
    "Notification",
    "OutboundMessage",
    "ProcessedUpdate",
    "ServiceWindow",
    "StaffSession",
    "SurveyAnswer",
    "SurveyDefinition",
    "SurveyResponse",
    "Ticket",
    "TicketEvent",
    "TicketFollower",
    "WindowRating",
    "utcnow",
)
