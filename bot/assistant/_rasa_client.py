"""The one client of the Rasa server. Rasa's failures become `RasaUnavailable`."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.observability import count_rasa_error
from civic.errors import RasaUnavailable
from civic.replies import BotMessage

log = logging.getLogger(__name__)


class RasaClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._params = {"token": token} if token else {}
        self._client = httpx.AsyncClient(timeout=timeout)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """One user turn through the REST channel; the assistant's replies come back."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        data = await self._post("/webhooks/rest/webhook", body)
        return [BotMessage.from_rasa(item) for item in data or []]

    async def parse(self, text: str) -> dict[str, Any]:
        """Intent ranking and entities for one text, without touching any conversation."""
        result = await self._post("/model/parse", {"text": text})
        return result if isinstance(result, dict) else {}

    async def forget(self, sender: str) -> None:
        """Replace a conversation's stored events with none (used on erasure)."""
        await self._request("PUT", f"/conversations/{sender}/tracker/events", [])

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._request("POST", path, body)

    async def _request(self, method: str, path: str, body: Any) -> Any:
        try:
            response = await self._client.request(
                method, self._base_url + path, json=body, params=self._params
            )
        except httpx.HTTPError as exc:
            count_rasa_error(
                "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            )
            raise RasaUnavailable(f"Rasa at {self._base_url} did not answer: {exc!r}") from exc
        if response.status_code >= 400:
            count_rasa_error(f"http_{response.status_code}")
            raise RasaUnavailable(f"Rasa answered {response.status_code} on {path}")
        try:
            return response.json()
        except ValueError as exc:
            count_rasa_error("bad_body")
            raise RasaUnavailable(f"Rasa sent a body that is not JSON on {path}") from exc

    async def ready(self) -> bool:
        try:
            response = await self._client.get(self._base_url + "/status", params=self._params)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
