"""Programmatic customers of the gateway, for the load benchmark and the traffic simulator: one over
the REST channel, one over the web widget's Socket.IO protocol (Rasa's ``session_request`` /
``user_uttered`` / ``bot_uttered``). Each ``say`` returns the replies to that message."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import socketio

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's WebSocket client names aiohttp ≥ 3.10's timeout class; Rasa 3.6 pins aiohttp
    # 3.9, whose ws_connect takes the close timeout as a number.
    aiohttp.ClientWSTimeout = lambda ws_close: ws_close

Reply = dict[str, Any]
TIMEOUT = 30


class ChatError(Exception):
    """The gateway refused or failed the message (HTTP status, or no acknowledgement)."""


class RestCustomer:
    """``POST /webhooks/rest/webhook`` (or Rasa's own channel, for a bare-Rasa comparison)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        sender: str,
        token: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.http, self.url, self.sender, self.metadata = http, url, sender, metadata
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def say(self, text: str) -> list[Reply]:
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if self.metadata is not None:
            body["metadata"] = self.metadata
        async with self.http.post(self.url, json=body, headers=self.headers) as answer:
            if answer.status != 200:
                raise ChatError(f"HTTP {answer.status}")
            replies = await answer.json()
        return replies if isinstance(replies, list) else []

    async def close(self) -> None:
        return None


class SocketCustomer:
    """The web widget's conversation: replies arrive as ``bot_uttered`` before the message's ack."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.heard: list[Reply] = []
        self.client.on("bot_uttered", self.heard.append)

    @classmethod
    async def connect(cls, gateway: str, session_id: str, token: str | None = None) -> SocketCustomer:
        customer = cls()
        confirmed = asyncio.Event()
        customer.client.on("session_confirm", lambda _data: confirmed.set())
        await customer.client.connect(
            gateway, transports=["websocket"], auth={"token": token} if token else None
        )
        await customer.client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), TIMEOUT)
        return customer

    async def say(self, text: str) -> list[Reply]:
        self.heard.clear()
        ack = await self.client.call(
            "user_uttered", {"message": text, "message_id": uuid.uuid4().hex}, timeout=TIMEOUT
        )
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise ChatError(f"not acknowledged: {ack!r}")
        return list(self.heard)

    def pending(self) -> list[Reply]:
        """Replies that arrived since the last message (an agent's, pushed at once)."""
        arrived, self.heard[:] = list(self.heard), []
        return arrived

    async def close(self) -> None:
        await self.client.disconnect()
