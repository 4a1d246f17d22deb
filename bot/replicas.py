"""What gateway replicas share, so that any replica can serve any customer and any agent.

One gateway keeps this in its own memory (``Alone``). Several replicas behind a load balancer set
``REDIS_URL`` and share it through Redis (``Together``):

- Socket.IO rooms: python-socketio's Redis manager passes every emit to all replicas, so an agent's
  message sent through replica B reaches the customer's socket on replica A;
- agent console events (queue changes, customer turns) on a Redis channel, for agents on any replica;
- which conversations have an open customer socket somewhere (``presence``), so a message is held
  for later only when the customer is really away;
- the rate-limit windows, so a flood spread over replicas is counted once.

Everything that must not be lost (conversations, queue, deduplication) lives in the databases; Redis
only carries what is live. When Redis is unreachable each replica goes on alone (its own sockets,
agents and counts) and logs it, and picks up sharing again when Redis is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError, RedisError

logger = logging.getLogger(__name__)

Event = dict[str, Any]
Handler = Callable[[Event], Awaitable[None]]
CONSOLE_CHANNEL = "bankbot:console"
HEARTBEAT_SECONDS = 5
REPLICA_TTL_SECONDS = 15  # a replica silent this long (killed) no longer counts its sockets
REDIS_TIMEOUT_SECONDS = 2
RATE_KEY_TTL_SECONDS = 600  # longer than any sensible window; Redis drops old windows by itself
PRESENCE_TTL_SECONDS = 86400  # sockets of replicas that died are dropped at last after a day


class Alone:
    """A single gateway: events go straight to this process's handler, counts stay in memory."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.sockets: defaultdict[str, set[str]] = defaultdict(set)
        self.window, self.counts = -1, Counter[str]()

    def socketio_manager(self) -> socketio.AsyncManager | None:
        return None

    def on_event(self, handler: Handler) -> None:
        self.handler = handler

    async def publish(self, event: Event) -> None:
        if self.handler is not None:
            await self.handler(event)

    async def joined(self, conversation: str, sid: str) -> None:
        self.sockets[conversation].add(sid)

    async def left(self, conversation: str, sid: str) -> bool:
        """Forget a socket; True when the conversation still has another one open."""
        self.sockets[conversation].discard(sid)
        if not self.sockets[conversation]:
            del self.sockets[conversation]
            return False
        return True

    async def online(self, conversation: str) -> bool:
        return bool(self.sockets.get(conversation))

    async def count(self, window: int, key: str) -> int:
        """One more hit for ``key`` in time window number ``window``; the hits so far in it."""
        if window != self.window:
            self.window, self.counts = window, Counter()
        self.counts[key] += 1
        return self.counts[key]

    async def reachable(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Together(Alone):
    """Replicas sharing state through Redis; falls back to ``Alone`` behaviour while Redis is away."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.replica = uuid.uuid4().hex[:12]
        # A pooled connection left over from before a Redis restart fails its next command: retried once
        # on a new connection, so the first command after a restart does not count as Redis being down.
        connections = dict(socket_connect_timeout=REDIS_TIMEOUT_SECONDS, retry_on_error=[ConnectionError])
        self.redis = aioredis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, **connections)
        # the listener waits for events indefinitely, so no read timeout; pings find a dead connection
        self.listener = aioredis.Redis.from_url(url, health_check_interval=HEARTBEAT_SECONDS, **connections)
        self.tasks: list[asyncio.Task] = []

    def socketio_manager(self) -> socketio.AsyncManager:
        return socketio.AsyncRedisManager(self.url, channel="bankbot:socketio")

    async def publish(self, event: Event) -> None:
        try:
            await self.redis.publish(CONSOLE_CHANNEL, json.dumps(event, ensure_ascii=False))
        except (RedisError, OSError) as error:
            logger.warning("Redis unavailable, console event for this replica's agents only: %s", error)
            await super().publish(event)

    async def joined(self, conversation: str, sid: str) -> None:
        await super().joined(conversation, sid)
        await self._quietly(self._announce({conversation: {sid}}))

    async def left(self, conversation: str, sid: str) -> bool:
        here = await super().left(conversation, sid)
        await self._quietly(self.redis.hdel(_presence_key(conversation), f"{self.replica}:{sid}"))
        return here or await self.online(conversation)

    async def online(self, conversation: str) -> bool:
        """An open socket on this replica, or on another replica that is still alive."""
        if await super().online(conversation):
            return True
        try:
            sockets = [s.decode() for s in await self.redis.hkeys(_presence_key(conversation))]
            replicas = sorted({s.split(":", 1)[0] for s in sockets})
            alive = await self.redis.mget([_replica_key(r) for r in replicas]) if replicas else []
        except (RedisError, OSError) as error:
            logger.warning("Redis unavailable, only this replica's sockets are known: %s", error)
            return False
        return any(alive)

    async def count(self, window: int, key: str) -> int:
        name = f"bankbot:rate:{window}:{key}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                hits, _ = await pipe.incr(name).expire(name, RATE_KEY_TTL_SECONDS).execute()
            return int(hits)
        except (RedisError, OSError) as error:
            logger.warning("Redis unavailable, rate limits counted per replica: %s", error)
            return await super().count(window, key)

    async def reachable(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._listen())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self._quietly(self.redis.delete(_replica_key(self.replica)))
        await self.redis.close()
        await self.listener.close()

    async def _announce(self, sockets: dict[str, set[str]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for conversation, sids in sockets.items():
                key = _presence_key(conversation)
                pipe.hset(key, mapping={f"{self.replica}:{sid}": 1 for sid in sids})
                pipe.expire(key, PRESENCE_TTL_SECONDS)
            await pipe.execute()

    async def _heartbeat(self) -> None:
        """Tell the other replicas this one (and so its sockets) is alive.

        When Redis has forgotten this replica (it restarted, or this replica was cut off for a while),
        the replica's open sockets are announced again.
        """
        while True:
            try:
                known = await self.redis.set(_replica_key(self.replica), 1, ex=REPLICA_TTL_SECONDS, get=True)
                if known is None and self.sockets:
                    await self._announce(self.sockets)
            except (RedisError, OSError) as error:
                logger.warning("Redis unavailable: %s", error)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _listen(self) -> None:
        """Console events from every replica (this one included), resubscribing after Redis restarts."""
        backoff = 0.5
        while True:
            try:
                async with self.listener.pubsub(ignore_subscribe_messages=True) as channel:
                    await channel.subscribe(CONSOLE_CHANNEL)
                    backoff = 0.5
                    while True:
                        message = await channel.get_message(timeout=HEARTBEAT_SECONDS)
                        if message is not None:
                            await self._dispatch(message["data"])
            except (RedisError, OSError) as error:
                logger.warning("lost the Redis console channel, retrying in %.1f s: %s", backoff, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _dispatch(self, data: bytes) -> None:
        try:
            await super().publish(json.loads(data))
        except Exception:  # one bad event must not stop the listener
            logger.exception("a console event could not be handled")

    async def _quietly(self, command: Awaitable[Any]) -> None:
        try:
            await command
        except (RedisError, OSError) as error:
            logger.warning("Redis unavailable: %s", error)


def _presence_key(conversation: str) -> str:
    return f"bankbot:presence:{conversation}"


def _replica_key(replica: str) -> str:
    return f"bankbot:replica:{replica}"


def shared_state(redis_url: str | None) -> Alone:
    return Together(redis_url) if redis_url else Alone()
