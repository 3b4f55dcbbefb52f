"""The one client of the Rasa server. Rasa's failures become `RasaUnavailable`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.observability import count_rasa_error
from civic.errors import RasaUnavailable
from civic.replies import BotMessage

log = logging.getLogger(__name__)

# While Rasa (re)starts and loads its model it refuses connections. A turn waits for it
# that long rather than telling the citizen to try again. Only a refused connection is
# tried again: the message never reached Rasa, so it cannot be handled twice.
START_WAIT_SECONDS = 30.0
RETRY_SECONDS = 0.5


class RasaClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        wait_for_start: float = START_WAIT_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._params = {"token": token} if token else {}
        self._client = httpx.AsyncClient(timeout=timeout)
        self._wait_for_start = wait_for_start
        self._sleep = sleep

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
        waited = 0.0
        while True:
            try:
                response = await self._client.request(
                    method, self._base_url + path, json=body, params=self._params
                )
                break
            except httpx.ConnectError as exc:
                if waited >= self._wait_for_start:
                    count_rasa_error("unreachable")
                    raise self._unavailable(exc) from exc
                await self._sleep(RETRY_SECONDS)
                waited += RETRY_SECONDS
            except httpx.HTTPError as exc:
                count_rasa_error(
                    "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
                )
                raise self._unavailable(exc) from exc
        if response.status_code >= 400:
            count_rasa_error(f"http_{response.status_code}")
            raise RasaUnavailable(f"Rasa answered {response.status_code} on {path}")
        try:
            return response.json()
        except ValueError as exc:
            count_rasa_error("bad_body")
            raise RasaUnavailable(f"Rasa sent a body that is not JSON on {path}") from exc

    def _unavailable(self, exc: Exception) -> RasaUnavailable:
        return RasaUnavailable(f"Rasa at {self._base_url} did not answer: {exc!r}")

    async def ready(self) -> bool:
        try:
            response = await self._client.get(self._base_url + "/status", params=self._params)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
