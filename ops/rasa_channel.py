"""Rasa's REST channel, answering only callers with Rasa's API token.

`rasa run --auth-token` guards Rasa's HTTP API but not its input channels: without this,
any local process could post to `/webhooks/rest/webhook` as any citizen and read the
replies (their tickets, say). Runs inside the Rasa server (Python 3.10), named in the
credentials file that `civicbot run` writes; the token is RASA_AUTH_TOKEN from Rasa's
environment, sent as `?token=` by the project's Rasa client. Imports nothing of ours.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

TOKEN_VARIABLE = "RASA_AUTH_TOKEN"


class TokenRestInput(RestInput):
    """The REST channel (same name, same URL) with every POST checked for the token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise ValueError(f"the REST channel needs {TOKEN_VARIABLE} in Rasa's environment")
        return cls(token)

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        expected = self._token

        async def require_token(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None  # the channel's health check
            provided = (request.args.get("token") or "").encode()
            if hmac.compare_digest(provided, expected):
                return None
            return response.json({"error": "a valid token is required"}, status=401)

        webhook.middleware(require_token, "request")
        return webhook
