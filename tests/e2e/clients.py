"""Clients of the running system for end-to-end tests: a web chat customer and a console agent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import socketio

from tests.e2e.conftest import STAFF_PASSWORD
from tests.helpers import http

WAIT = 20  # seconds for anything the system should do


class Customer:
    """A web chat client speaking Rasa's socketio protocol."""

    def __init__(self, url: str) -> None:
        self.url, self.client = url, socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session: str | None = None
        self.client.on("bot_uttered", self.replies.put_nowait)

    async def start(self, session: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.set_result(sid))
        # long-polling: this engineio client's WebSocket transport needs a newer aiohttp than Rasa pins
        await self.client.connect(self.url, transports=["polling"])
        await self.client.emit("session_request", {"session_id": session})
        self.session = await asyncio.wait_for(confirmed, WAIT)

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session})

    async def next(self, containing: str) -> dict[str, Any]:
        while True:
            reply = await asyncio.wait_for(self.replies.get(), WAIT)
            if containing in reply.get("text", ""):
                return reply

    async def silence(self, seconds: float) -> list[dict[str, Any]]:
        await asyncio.sleep(seconds)
        heard = []
        while not self.replies.empty():
            heard.append(self.replies.get_nowait())
        return heard


class Agent:
    def __init__(self, gateway: str, staff_no: str) -> None:
        status, body = http(
            "POST", f"{gateway}/agent/api/login", {"staff_no": staff_no, "password": STAFF_PASSWORD}
        )
        assert status == 200, body
        self.gateway, self.token, self.me = gateway, body["token"], body["agent"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        return http(method, f"{self.gateway}/agent/api{path}", body, headers=headers)

    def log_out(self) -> None:
        """Gone from the routing: tests that count on nobody with a skill being online stay true."""
        assert self.call("POST", "/logout")[0] == 200

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *_exception: object) -> None:
        self.log_out()  # also when the test failed: the next tests must not find this agent online

    @asynccontextmanager
    async def live(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """The console's WebSocket: every pushed event lands in the queue."""
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        async with aiohttp.ClientSession() as session:
            url = f"{self.gateway.replace('http', 'ws')}/agent/ws?token={self.token}"
            async with session.ws_connect(url) as socket:

                async def read() -> None:
                    async for frame in socket:
                        events.put_nowait(json.loads(frame.data))

                reader = asyncio.create_task(read())
                try:
                    yield events
                finally:
                    reader.cancel()


async def until(events: asyncio.Queue, accept) -> dict[str, Any]:
    while True:
        event = await asyncio.wait_for(events.get(), WAIT)
        if accept(event):
            return event


def queued(conversation: str):
    return lambda e: e["type"] == "queue" and any(i["conversation_id"] == conversation for i in e["items"])
