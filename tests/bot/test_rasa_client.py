"""The gateway's Rasa client against a tiny raw HTTP server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.rasa_client import RasaClient, RasaUnavailable

HEAD = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
REPLY = json.dumps([{"recipient_id": "c1", "text": "您好"}]).encode()


class FlakyRasa:
    """Closes the connection on the first ``drops`` messages (a crash mid-request), then answers."""

    def __init__(self, drops: int) -> None:
        self.drops, self.messages = drops, 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        if head.startswith(b"POST"):
            self.messages += 1
            if self.messages <= self.drops:
                writer.close()
                return
        body = REPLY if head.startswith(b"POST") else b"Hello from Rasa"
        writer.write(HEAD % len(body))
        writer.write(body)
        await writer.drain()
        writer.close()


async def send_through(rasa: FlakyRasa, wait: float) -> list:
    server = await asyncio.start_server(rasa.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RasaClient(f"http://127.0.0.1:{port}", None, timeout_seconds=5, restart_wait_seconds=wait)
    try:
        return await client.send("c1", "查余额", {})
    finally:
        await client.close()
        server.close()


def test_a_message_dropped_mid_request_is_sent_once_more() -> None:
    rasa = FlakyRasa(drops=1)
    assert asyncio.run(send_through(rasa, wait=5)) == [{"recipient_id": "c1", "text": "您好"}]
    assert rasa.messages == 2


def test_it_is_retried_only_once() -> None:
    rasa = FlakyRasa(drops=2)
    with pytest.raises(RasaUnavailable):
        asyncio.run(send_through(rasa, wait=5))
    assert rasa.messages == 2


def test_nothing_listening_is_not_retried() -> None:
    client = RasaClient("http://127.0.0.1:9", None, timeout_seconds=5, restart_wait_seconds=60)

    async def send() -> None:
        try:
            await client.send("c1", "查余额", {})
        finally:
            await client.close()

    with pytest.raises(RasaUnavailable) as refused:
        asyncio.run(asyncio.wait_for(send(), timeout=10))  # an apology at once, not after 60 s
    assert "unreachable" in str(refused.value)
