"""The agency desk: server-rendered pages where agencies' officers and the evaluation
office's staff work their tickets. `desk_router` is mounted by the web app at `/desk`."""

from bot.web._desk.router import desk_router

__all__ = ["desk_router"]
