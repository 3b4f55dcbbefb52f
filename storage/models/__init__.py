"""The database schema, one module per noun; `storage/migrations/` creates it."""

from storage.models._agencies import AgencyAlert, AgencyChannel, AgencyUser, ApiKey, StaffSession
from storage.models._base import PERSONAL_KINDS, Base, utcnow
from storage.models._campaigns import Campaign, FrameMember, Invitation
from storage.models._channels import ButtonPayload, OutboundMessage, ProcessedUpdate
from storage.models._citizens import ChannelAddress, Citizen, OfferedButton
from storage.models._comments import (
    CodingSample,
    CodingSampleItem,
    Comment,
    CommentCode,
    CommentCoding,
    CommentCount,
    CommentCountCell,
    Topic,
    TopicRun,
)
from storage.models._duty import DutyMessage, DutyPrompt
from storage.models._evaluation import (
    EvaluationAdjustment,
    EvaluationAudit,
    EvaluationSnapshot,
    IndicatorEntry,
)
from storage.models._feedback import Feedback
from storage.models._handoffs import Handoff, HandoffMessage
from storage.models._notices import Notice, NoticeEvent, NoticeLink, NoticeMilestone
from storage.models._notifications import Notification
from storage.models._phone_codes import PhoneCode
from storage.models._surveys import SurveyAnswer, SurveyDefinition, SurveyResponse
from storage.models._tickets import AgencyUpdate, EventPhoto, Ticket, TicketEvent, TicketFollower
from storage.models._windows import ServiceWindow, WindowRating

__all__ = [
    "PERSONAL_KINDS",
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
    "CodingSample",
    "CodingSampleItem",
    "Comment",
    "CommentCode",
    "CommentCoding",
    "CommentCount",
    "CommentCountCell",
    "DutyMessage",
    "DutyPrompt",
    "EvaluationAdjustment",
    "EvaluationAudit",
    "EvaluationSnapshot",
    "EventPhoto",
    "Feedback",
    "FrameMember",
    "Handoff",
    "HandoffMessage",
    "IndicatorEntry",
    "Invitation",
    "Notice",
    "NoticeEvent",
    "NoticeLink",
    "NoticeMilestone",
    "Notification",
    "OfferedButton",
    "OutboundMessage",
    "PhoneCode",
    "ProcessedUpdate",
    "ServiceWindow",
    "StaffSession",
    "SurveyAnswer",
    "SurveyDefinition",
    "SurveyResponse",
    "Ticket",
    "TicketEvent",
    "TicketFollower",
    "Topic",
    "TopicRun",
    "WindowRating",
    "utcnow",
]
