"""The gateway's calls to the Rasa server: a customer message, and the handoff's side doors.

Messages go through our Rasa channel (bot/channels.py). While a person owns a conversation the
gateway appends what is said to the tracker (``/conversations/<id>/tracker/events``) without the
bot answering, and when the person is done it lets the bot resume with an intent
(``/conversations/<id>/trigger_intent``). Both need Rasa's HTTP API (``--enable-api``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)
RETRY_POLL_SECONDS = 1.0


class RasaUnavailable(Exception):
    """The Rasa server did not answer, or answered with an error."""


class RasaConnectionLost(RasaUnavailable):
    """The connection dropped before the answer: Rasa stopped (or restarted) while handling it."""


class RasaClient:
    def __init__(
        self, base_url: str, token: str | None, timeout_seconds: float, restart_wait_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.restart_wait_seconds = restart_wait_seconds
        self.params = {"token": token} if token else {}
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        """Opened on first use, inside the server's event loop."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def reachable(self, path_or_url: str, absolute: bool = False) -> bool:
        url = path_or_url if absolute else self.base_url + path_or_url
        try:
            async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to a customer message.

        When the connection drops while Rasa handles it (a restart mid-conversation), the message is
        sent once more as soon as Rasa answers again, within ``restart_wait_seconds``: the
        conversation's state is in the tracker store. A Rasa that is simply down gets an apology at once.
        """
        payload = {"sender": sender, "message": text, "metadata": metadata}
        try:
            return await self._post("/webhooks/gateway/webhook", payload, with_token=False)
        except RasaConnectionLost as error:
            logger.warning("Rasa connection lost, retrying the message once it is back: %s", error)
            await self.close()  # pooled connections to the old process are dead too
            if not await self.back_within(self.restart_wait_seconds):
                raise
            return await self._post("/webhooks/gateway/webhook", payload, with_token=False)

    async def back_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await self.reachable("/"):
                return True
            await asyncio.sleep(RETRY_POLL_SECONDS)
        return False

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's events (empty for a new one)."""
        path = f"/conversations/{quote(conversation_id, safe='')}/tracker"
        try:
            async with self.http.get(self.base_url + path, params=self.params) as answer:
                if answer.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {answer.status} for the tracker")
                return (await answer.json()).get("events") or []
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa server unreachable: {error}") from error

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        await self._post(f"/conversations/{quote(conversation_id, safe='')}/tracker/events", events)

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Run the bot as if the customer had sent ``intent``; its replies (delivered by the caller)."""
        path = f"/conversations/{quote(conversation_id, safe='')}/trigger_intent"
        body = await self._post(path, {"name": intent, "entities": entities})
        return [{"recipient_id": conversation_id, **m} for m in body.get("messages", [])]

    async def _post(self, path: str, payload: Any, with_token: bool = True) -> Any:
        params = self.params if with_token else {}
        try:
            async with self.http.post(self.base_url + path, json=payload, params=params) as answer:
                if answer.status == 200:
                    return await answer.json()
                raise RasaUnavailable(f"Rasa answered HTTP {answer.status} for {path.split('/')[-1]}")
        except aiohttp.ClientConnectorError as error:  # nothing listening: down, not mid-request
            raise RasaUnavailable(f"Rasa server unreachable: {error}") from error
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:  # closed or reset
            raise RasaConnectionLost(f"Rasa server went away mid-request: {error}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa server unreachable: {error}") from error
