"""The smart assistant's pages: a demo of the city website with the chat widget embedded
(`bot/web/static/widget.js`), and the full-page chat.

Both are static pages; the conversation goes through `POST /api/chat` like any web chat.
The full-page chat is served with a Content-Security-Policy that allows its own scripts,
styles and API only, plus images from the map's tile server when one is configured. The
demo page stands for the city's own site, whose policy is the site's to set.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates


def chat_page_policy(tile_url: str = "") -> str:
    """The full-page chat's Content-Security-Policy: its own scripts, styles and API; images
    of its own (the map, a photo's preview) and from the tile server's origin, if any."""
    images = "'self' data: blob:"
    parts = urlsplit(tile_url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'"
    )


def widget_router(templates_dir: Path | str, *, tile_url: str = "") -> APIRouter:
    """`GET /`: the demo page with the widget; `GET /chat`: the full-page chat.

    Expects the app to serve `bot/static` at `/static`, where the pages load their scripts.
    """
    templates = Jinja2Templates(directory=str(templates_dir))
    policy = chat_page_policy(tile_url)
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "demo.html", {})

    @router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def chat(request: Request) -> HTMLResponse:
        page = templates.TemplateResponse(request, "chat.html", {})
        page.headers["Content-Security-Policy"] = policy
        page.headers["Referrer-Policy"] = "no-referrer"
        page.headers["X-Content-Type-Options"] = "nosniff"
        return page

    return router
