"""Rendering the desk's pages: Jinja2 with autoescaping on (a citizen's text is shown as
text, never as markup), the reader's language, the flash message of the last action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import object_session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.web._desk import security
from bot.web._desk.texts import (
    LANG_COOKIE,
    TEMPLATES_DIR,
    has_text,
    language_of,
    requested_language,
    translator,
)
from bot.web._desk.views import Labels
from civic.agencies import HOTLINE, is_office
from civic.city import Profile
from civic.feedback import unread_suggestions
from storage.models import AgencyUser

LANG_COOKIE_SECONDS = 365 * 24 * 3600
FLASH_SECONDS = 60
HTML_LANG = {"zh": "zh-CN", "en": "en"}


@dataclass(frozen=True)
class Page:
    """Who is reading, in which language, with which CSRF token for the page's forms."""

    request: Request
    labels: Labels
    user: str | None
    csrf: str
    staff: bool = False
    unread: int | None = None  # suggestions waiting for the reader, shown in the menu
    figures: bool = False  # enters or approves the evaluation's figures
    hotline: bool = False  # files tickets for callers (/desk/hotline)

    @property
    def lang(self) -> str:
        return self.labels.lang

    def t(self, key: str, **params: Any) -> str:
        return self.labels.t(key, **params)


class Renderer:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=select_autoescape(["html"], default_for_string=True, default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(self, request: Request, user: AgencyUser | None = None, csrf: str = "") -> Page:
        lang = language_of(request)
        labels = Labels(self.profile, lang, translator(lang))
        shown = None
        if user is not None:
            where = labels.agency(user.agency) if user.agency else labels.t("nav.office")
            if user.role == HOTLINE:
                where = labels.t("nav.hotline_centre")
            shown = labels.t("nav.user", name=user.display_name, agency=where)
        staff = user is not None and is_office(user)
        figures = user is not None and user.role in ("staff", "coordinator")
        hotline = user is not None and user.role in ("staff", HOTLINE)
        return Page(
            request,
            labels,
            shown,
            csrf,
            staff=staff,
            unread=_unread(user),
            figures=figures,
            hotline=hotline,
        )

    def render(
        self, page: Page, template: str, *, here: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """The page, with the language switch pointing at `here` (a GET-able address)."""
        request = page.request
        flash_key = request.cookies.get(security.FLASH_COOKIE, "")
        known = flash_key.startswith("flash.") and has_text(flash_key)
        flash = page.t(flash_key) if known else None
        separator = "&" if "?" in here else "?"
        html = self.env.get_template(template).render(
            t=page.t,
            lang=page.lang,
            html_lang=HTML_LANG[page.lang],
            user=page.user,
            csrf=page.csrf,
            flash=flash,
            lang_links={code: f"{here}{separator}lang={code}" for code in HTML_LANG},
            **{
                "staff": page.staff,
                "unread": page.unread,
                "figures": page.figures,
                "hotline": page.hotline,
                **context,
            },
        )
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        if requested_language(request):
            security.set_cookie(request, response, LANG_COOKIE, page.lang, LANG_COOKIE_SECONDS)
        if flash_key:
            security.clear_cookie(request, response, security.FLASH_COOKIE)
        return response

    def error(self, page: Page, status: int, message: str) -> HTMLResponse:
        return self.render(page, "error.html", here="/desk/", status=status, message=message)


def _unread(user: AgencyUser | None) -> int | None:
    """Every signed-in page shows the count in its menu; the user is always loaded in the
    page's open session, which counts them too."""
    session = object_session(user) if user is not None else None
    if user is None or session is None:
        return None
    return unread_suggestions(session=session, viewer=user)


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """303 to `url` (a GET after a POST), carrying a flash message key for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        security.set_cookie(request, response, security.FLASH_COOKIE, flash, FLASH_SECONDS)
    return response
