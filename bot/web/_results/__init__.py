"""The public results of the annual evaluation, without login, in Chinese and English
(`pages`: /evaluation/...), and the annual social evaluation report from the same figures
(`report`: HTML, and PDF printed by a headless Chromium)."""

from bot.web._results.charts import Line, lines
from bot.web._results.pages import results_router
from bot.web._results.report import ReportError, print_pdf, render_report

__all__ = ["Line", "ReportError", "lines", "print_pdf", "render_report", "results_router"]
