"""The web edge: the app, the chat page and widget with their API and signed sessions,
the agency desk, Open311, the open-data files, the public evaluation results and
improvement notices, the annual report and the opinion report, opt-out links and the
survey admin API."""

from bot.web._app import create_app
from bot.web._chat_sessions import chat_session_router
from bot.web._chat_updates import web_updates_router
from bot.web._desk import desk_router
from bot.web._desk.entries import entries_router
from bot.web._desk.evaluation import evaluation_router
from bot.web._desk.feedback import feedback_router
from bot.web._desk.hotline import hotline_router
from bot.web._desk.notices import notices_router
from bot.web._desk.opinion_coding import opinion_coding_router
from bot.web._desk.opinion_topics import opinion_topics_router
from bot.web._desk.opinion_trends import opinion_trends_router
from bot.web._open311 import open311_router
from bot.web._open_data import open_data_router
from bot.web._optout import optout_router
from bot.web._results import (
    OpinionYear,
    ReportError,
    gather_opinion,
    print_pdf,
    public_notices_router,
    render_opinion,
    render_opinion_report,
    render_report,
    results_router,
)
from bot.web._survey_admin import survey_admin_router
from bot.web._widget import widget_router

__all__ = [
    "OpinionYear",
    "ReportError",
    "chat_session_router",
    "create_app",
    "desk_router",
    "entries_router",
    "evaluation_router",
    "feedback_router",
    "gather_opinion",
    "hotline_router",
    "notices_router",
    "open311_router",
    "open_data_router",
    "opinion_coding_router",
    "opinion_topics_router",
    "opinion_trends_router",
    "optout_router",
    "print_pdf",
    "public_notices_router",
    "render_opinion",
    "render_opinion_report",
    "render_report",
    "results_router",
    "survey_admin_router",
    "web_updates_router",
    "widget_router",
]
