"""Talking to the web chat API as the widget does: a session issued by the server
(`POST /api/chat/session`), then its token in the body of every call. Works with
FastAPI's TestClient and with an httpx.Client on a running app alike."""

from __future__ import annotations

from typing import Any, Protocol


class _Poster(Protocol):
    def post(self, url: str, *, json: Any = ...) -> Any: ...


def new_session(client: _Poster) -> str:
    """A fresh session token from the server."""
    response = client.post("/api/chat/session", json={})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert isinstance(token, str)
    return token


def say(client: _Poster, token: str, text: str, **fields: Any) -> list[dict[str, Any]]:
    """The replies to `text` in the session `token` (asserting it was accepted)."""
    response = client.post("/api/chat", json={"token": token, "text": text, **fields})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages
