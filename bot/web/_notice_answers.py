"""`/n/<token>`: the one-tap answer page an improvement notice's SMS follow-up links to.
GET shows the question with three buttons, in both languages; POST records the answer
against the notice (civic.notices). The signed token is the only credential needed, as
for the opt-out link."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._optout import HEADERS, PAGE
from civic.i18n import t
from civic.notices import ANSWERS, answer_by_token, followup_of
from civic.notices import invitation_for as find_invitation
from storage.models import Campaign

LANGS = ("zh", "en")


def _sections(title_key: str, body: dict[str, str]) -> str:
    return "".join(
        f'<section lang="{"zh-CN" if lang == "zh" else "en"}">'
        f"<h1>{escape(t(title_key, lang))}</h1><p>{escape(body[lang])}</p></section>"
        for lang in LANGS
    )


def _buttons() -> str:
    buttons = "".join(
        f'<p><button type="submit" name="answer" value="{answer}">'
        f"{escape(t(f'notices_citizen.answer_{answer}', 'zh'))} / "
        f"{escape(t(f'notices_citizen.answer_{answer}', 'en'))}</button></p>"
        for answer in ANSWERS
    )
    return f'<form method="post">{buttons}</form>'


def _page(
    title_key: str, body: dict[str, str], status: int = 200, form: bool = False
) -> HTMLResponse:
    html = _sections(title_key, body) + (_buttons() if form else "")
    title = escape(t(title_key, "zh"))
    return HTMLResponse(PAGE.format(title=title, body=html), status, HEADERS)


def _said(key: str) -> dict[str, str]:
    return {lang: t(key, lang) for lang in LANGS}


def notice_answers_router(sessions: sessionmaker[Session], secret: str) -> APIRouter:
    router = APIRouter()

    def show(token: str) -> HTMLResponse:
        with sessions() as session:
            invitation = find_invitation(session, secret, token)
            campaign = session.get(Campaign, invitation.campaign_id) if invitation else None
            if campaign is None or followup_of(campaign) is None:
                return _page("notices_citizen.page_title", _said("notices_citizen.not_found"), 404)
        return _page("notices_citizen.page_title", _said("notices_citizen.page_intro"), form=True)

    def answer(token: str, value: str) -> HTMLResponse:
        with sessions.begin() as session:
            recorded, key = answer_by_token(
                session=session, secret=secret, token=token, answer=value, now=datetime.now(UTC)
            )
        if not recorded:
            return _page("notices_citizen.page_title", _said(key), 400, form=value not in ANSWERS)
        return _page("notices_citizen.page_done_title", _said(key))

    @router.get("/n/{token}")
    async def question(token: str) -> HTMLResponse:
        return await run_in_threadpool(show, token)

    @router.post("/n/{token}")
    async def submit(token: str, request: Request) -> HTMLResponse:
        form = await request.form()
        value = form.get("answer")
        return await run_in_threadpool(answer, token, value if isinstance(value, str) else "")

    return router
