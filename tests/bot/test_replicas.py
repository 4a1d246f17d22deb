"""Two gateway replicas sharing console events and socket presence through a real Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.local_services import Redis
from bot.replicas import HEARTBEAT_SECONDS, REDIS_TIMEOUT_SECONDS, Event, Together
from tests.services import running_redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


class Inbox:
    """A replica's console: what its agents would be pushed."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()

    async def __call__(self, event: Event) -> None:
        await self.events.put(event)

    async def next(self, timeout: float = 5) -> Event:
        return await asyncio.wait_for(self.events.get(), timeout)


@asynccontextmanager
async def replicas(url: str) -> AsyncIterator[tuple[Together, Together, Inbox, Inbox]]:
    first, second, first_inbox, second_inbox = Together(url), Together(url), Inbox(), Inbox()
    first.on_event(first_inbox)
    second.on_event(second_inbox)
    await first.start()
    await second.start()
    await asyncio.sleep(0.5)  # both listeners subscribed
    try:
        yield first, second, first_inbox, second_inbox
    finally:
        await first.stop()
        await second.stop()


async def eventually(condition, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.2)
    return False


def test_console_events_reach_every_replica_even_after_a_quiet_spell(
    redis_server: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with replicas(redis_server.url) as (first, _, first_inbox, second_inbox):
            await asyncio.sleep(REDIS_TIMEOUT_SECONDS + 1.5)  # longer than any command's read timeout
            await first.publish({"type": "queue", "size": 3})
            assert await second_inbox.next() == {"type": "queue", "size": 3}
            assert await first_inbox.next() == {"type": "queue", "size": 3}

    with caplog.at_level(logging.WARNING, logger="bot.replicas"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if "console channel" in r.getMessage()]  # never resubscribed


def test_a_socket_on_one_replica_is_online_for_the_other(redis_server: Redis) -> None:
    async def scenario() -> None:
        async with replicas(redis_server.url) as (first, second, _, _):
            await first.joined("conv-1", "sid-a")
            await first.joined("conv-1", "sid-b")
            assert await second.online("conv-1") and not await second.online("conv-2")
            assert await first.left("conv-1", "sid-a")  # sid-b is still open
            assert not await first.left("conv-1", "sid-b")
            assert not await second.online("conv-1")

    asyncio.run(scenario())


def test_sockets_of_a_replica_that_died_are_not_online(redis_server: Redis) -> None:
    async def scenario() -> None:
        async with replicas(redis_server.url) as (first, second, _, _):
            await first.joined("conv-dead", "sid-a")
            for task in first.tasks:  # killed: no heartbeat, its key expires
                task.cancel()
            await first.redis.delete(f"bankbot:replica:{first.replica}")
            assert not await second.online("conv-dead")

    asyncio.run(scenario())


def test_after_a_redis_restart_sockets_are_announced_and_events_flow_again(redis_server: Redis) -> None:
    async def announced(conversation: str) -> bool:
        probe = aioredis.Redis.from_url(redis_server.url)
        try:
            return bool(await probe.exists(f"bankbot:presence:{conversation}"))
        except RedisError:
            return False
        finally:
            await probe.close()

    async def busy(replica: Together) -> list[bool]:
        """Requests at the same time, as a busy gateway has them: several pooled connections."""
        return list(await asyncio.gather(*(replica.online("conv-r") for _ in range(4))))

    async def scenario() -> None:
        async with replicas(redis_server.url) as (first, second, _, second_inbox):
            await first.joined("conv-r", "sid-a")
            await busy(second)
            await asyncio.to_thread(redis_server.stop)
            assert await first.online("conv-r")  # its own socket, known without Redis
            await first.publish({"type": "during"})  # delivered to this replica's agents only
            await asyncio.to_thread(redis_server.start)
            assert await eventually(lambda: announced("conv-r"), 3 * HEARTBEAT_SECONDS)
            assert await busy(second) == [True] * 4  # its old pooled connections do not mean "Redis down"

            async def delivered() -> bool:
                await first.publish({"type": "after"})
                try:
                    return (await second_inbox.next(timeout=0.5))["type"] == "after"
                except asyncio.TimeoutError:
                    return False

            assert await eventually(delivered, 4 * HEARTBEAT_SECONDS)

    asyncio.run(scenario())


def test_without_redis_each_replica_counts_alone(redis_server: Redis) -> None:
    async def scenario() -> None:
        async with replicas(redis_server.url) as (first, _, first_inbox, _):
            await asyncio.to_thread(redis_server.stop)
            try:
                assert not await first.reachable()
                assert [await first.count(7, "c1") for _ in range(3)] == [1, 2, 3]
                await first.publish({"type": "local"})
                assert await first_inbox.next() == {"type": "local"}
            finally:
                await asyncio.to_thread(redis_server.start)

    asyncio.run(scenario())
