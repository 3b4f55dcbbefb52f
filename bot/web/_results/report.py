"""The annual social evaluation report (年度社会评价报告) as one printable HTML document,
from a frozen version: summary, ranking with its chart, a page per department, the
districts and the method, in one language. `civicbot evaluation report` writes it and,
for PDF, prints it with a headless Chromium, which embeds the fonts.

The figures and their wording are those of the public pages (`figures`), so the report
and the website never disagree. Given the year's public-opinion figures (`gather_opinion`),
it ends with the top problems and the improvement notices issued in the year.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bot.web._results import figures
from bot.web._results.figures import Reader
from bot.web._results.opinion_figures import OpinionYear, opinion_view
from bot.web._results.pages import template_environment
from civic.evaluation import Scheme, Version
from civic.i18n import t

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
PRINT_SECONDS = 120


class ReportError(Exception):
    """The report could not be made; the message says why, in the reader's words."""


def reader_for(lang: str) -> Reader:
    return Reader(lang, lambda key, **params: t(f"results.{key}", lang, **params))


def render_report(
    *,
    result: dict[str, Any],
    scheme: Scheme,
    version: Version,
    lang: str,
    opinion: OpinionYear | None = None,
) -> str:
    """The whole report as a standalone HTML document (styles inline, charts inline)."""
    reader = reader_for(lang)
    rows = figures.ranking(result, scheme, reader)
    chart = figures.ranking_chart(result, scheme, reader)
    agencies = []
    for agency in result["agencies"]:
        code = agency["agency"]
        public = agency["components"].get("public", {})
        agencies.append(
            {
                "agency": agency,
                "name": reader.name(agency["name"]),
                "row": next(r for r in rows if r.code == code),
                "component_rows": figures.components(agency, scheme, reader),
                "public_index": reader.number(public.get("index")),
                "sources": figures.sources(agency, reader),
                "survey": figures.survey_figure(agency),
                "targets": figures.targets(agency, scheme, reader),
                "indicators": figures.indicators(
                    agency, reader, prefix=f"r-{code}", with_trend=True
                ),
            }
        )
    districts = [
        {
            "name": reader.name(card["name"]),
            "satisfaction": card["satisfaction"],
            "indicators": {
                row.code: row.value
                for row in figures.indicators(card, reader, prefix="d", with_trend=False)
            },
        }
        for card in result["districts"]
    ]
    names = {a["agency"]: reader.name(a["name"]) for a in result["agencies"]}
    bands = figures.band_names(result, reader)
    band_members = [
        (bands[code], reader.t("list_separator").join(names[c] for c in codes) or figures.NO_VALUE)
        for code, codes in result["bands"].items()
    ]
    css = (Path(__file__).resolve().parent.parent / "static" / "results.css").read_text("utf-8")
    return (
        template_environment()
        .get_template("report.html")
        .render(
            t=reader.t,
            fmt=reader,
            lang=lang,
            html_lang={"zh": "zh-CN", "en": "en"}[lang],
            css=css,
            year=result["year"],
            version=version,
            result=result,
            scheme_name=reader.name(result["scheme"]["name"]),
            components=figures.component_names(scheme, reader),
            order=figures.COMPONENTS,
            ranked=[r for r in rows if r.rank != figures.NO_VALUE],
            unranked=[r for r in rows if r.rank == figures.NO_VALUE],
            chart=chart[0] if chart else None,
            bands=[(name, rule) for name, rule in figures.method(result, scheme, reader).bands],
            band_members=band_members,
            agencies=agencies,
            districts=districts,
            method=figures.method(result, scheme, reader),
            op=opinion_view(opinion, lang) if opinion is not None else None,
        )
    )


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: str, out: Path, browser: str | None = None) -> None:
    """Print the HTML to a PDF with a headless Chromium (A4, backgrounds on)."""
    browser = browser or chromium()
    if browser is None:
        raise ReportError("chromium")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        page.write_text(html, "utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReportError(f"print: {exc}") from None
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ReportError(f"print: exit {done.returncode} {detail[0]}")
