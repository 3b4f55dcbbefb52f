"""`/u/<token>`: the unsubscribe link of SMS and e-mail invitations. GET shows a page with
one button; POST (the button, or a mail client's one-click List-Unsubscribe-Post) opts the
person out of every campaign at once. The signed token is the only credential needed."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from civic.campaigns import find_by_nonce, opt_out_member, verify
from civic.i18n import t
from storage.models import FrameMember

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font:1rem/1.6 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head><body>{body}</body></html>"""
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(key: str, status: int = 200, form: bool = False) -> HTMLResponse:
    """The page in both languages, Chinese first."""
    parts = []
    for lang in ("zh", "en"):
        lang_attr = "zh-CN" if lang == "zh" else "en"
        parts.append(
            f'<section lang="{lang_attr}"><h1>{escape(t(key + "_title", lang))}</h1>'
            f"<p>{escape(t(key, lang))}</p></section>"
        )
    if form:
        label = f"{t('optout.button', 'zh')} / {t('optout.button', 'en')}"
        parts.append(f'<form method="post"><button type="submit">{escape(label)}</button></form>')
    title = escape(t(key + "_title", "zh"))
    return HTMLResponse(PAGE.format(title=title, body="".join(parts)), status, HEADERS)


def optout_router(sessions: sessionmaker[Session], secret: str) -> APIRouter:
    router = APIRouter()

    def member_of(session: Session, token: str) -> FrameMember | None:
        nonce = verify(secret=secret, token=token)
        invitation = find_by_nonce(session=session, nonce=nonce) if nonce else None
        if invitation is None or invitation.member_id is None:
            return None
        return session.get(FrameMember, invitation.member_id)

    def show(token: str) -> HTMLResponse:
        with sessions() as session:
            member = member_of(session, token)
        if member is None:
            return _page("optout.invalid", 404)
        if member.opted_out_at is not None:
            return _page("optout.done")
        return _page("optout.confirm", form=True)

    def opt_out(token: str) -> HTMLResponse:
        with sessions.begin() as session:
            member = member_of(session, token)
            if member is None:
                return _page("optout.invalid", 404)
            if member.opted_out_at is None:
                opt_out_member(session=session, member=member, now=datetime.now(UTC))
        return _page("optout.done")

    @router.get("/u/{token}")
    async def confirm(token: str) -> HTMLResponse:
        return await run_in_threadpool(show, token)

    @router.post("/u/{token}")
    async def unsubscribe(token: str, request: Request) -> HTMLResponse:
        return await run_in_threadpool(opt_out, token)

    return router
