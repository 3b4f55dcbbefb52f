"""The annual public-opinion analysis (年度民意分析报告) as one printable HTML document, in
one language: the year's top problems, what changed since the year before and which of
those changes are significant, where the comments came from, and the improvement notices
issued in the year with where each stands. `civicbot opinion report` writes it and, for
PDF, prints it with the same headless Chromium as the evaluation report (`print_pdf`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from bot.web._results.opinion_figures import OpinionYear, gather_opinion, opinion_view
from bot.web._results.pages import HTML_LANG, template_environment
from civic.city import Profile
from civic.opinion import Codebook

STYLES = Path(__file__).resolve().parent.parent / "static" / "results.css"


def render_opinion_report(
    *, session: Session, profile: Profile, codebook: Codebook, year: int, lang: str
) -> str:
    """The year's opinion report as a standalone HTML document (styles and chart inline)."""
    opinion = gather_opinion(session=session, profile=profile, codebook=codebook, year=year)
    return render_opinion(opinion, lang)


def render_opinion(opinion: OpinionYear, lang: str) -> str:
    """The report of figures already gathered (one gathering serves both languages)."""
    view = opinion_view(opinion, lang)
    return (
        template_environment()
        .get_template("opinion_report.html")
        .render(
            t=view.t,
            op=view,
            lang=lang,
            html_lang=HTML_LANG[lang],
            css=STYLES.read_text("utf-8"),
        )
    )
