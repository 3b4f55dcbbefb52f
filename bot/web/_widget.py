"""The smart assistant's pages: a demo of the city website with the chat widget embedded
(`bot/web/static/widget.js`), and the full-page chat.

Both are static pages; the conversation goes through `POST /api/chat` like any web chat.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates


def widget_router(templates_dir: Path | str) -> APIRouter:
    """`GET /`: the demo page with the widget; `GET /chat`: the full-page chat.

    Expects the app to serve `bot/static` at `/static`, where the pages load their scripts.
    """
    templates = Jinja2Templates(directory=str(templates_dir))
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "demo.html", {})

    @router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def chat(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "chat.html", {})

    return router
