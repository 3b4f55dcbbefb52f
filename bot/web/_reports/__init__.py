"""The citizen's own report page by signed link (`/my-report/...`) and the public list
and map of reports (`/reports/`), in Chinese and English, with a strict CSP."""

from bot.web._reports.public import public_reports_router
from bot.web._reports.report_page import report_page_router

__all__ = ["public_reports_router", "report_page_router"]
