"""The public results of the annual evaluation, without login, in Chinese and English
(`pages`: /evaluation/...), the public improvement notices (`notices`: /notices/...), the
annual social evaluation report from the same figures (`report`: HTML, and PDF printed by
a headless Chromium) and the annual public-opinion analysis (`opinion_report`)."""

from bot.web._results.charts import Line, lines
from bot.web._results.notices import public_notices_router
from bot.web._results.opinion_figures import OpinionYear, gather_opinion
from bot.web._results.opinion_report import render_opinion, render_opinion_report
from bot.web._results.pages import results_router
from bot.web._results.report import ReportError, print_pdf, render_report

__all__ = [
    "Line",
    "OpinionYear",
    "ReportError",
    "gather_opinion",
    "lines",
    "print_pdf",
    "public_notices_router",
    "render_opinion",
    "render_opinion_report",
    "render_report",
    "results_router",
]
