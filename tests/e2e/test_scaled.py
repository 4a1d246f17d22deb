"""The scaled profile (``python -m bot run-scaled``) end to end: two replicas of every service behind
nginx, PostgreSQL and Redis from Debian packages, and faults only replicas survive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
import socketio

from bot.local_services import Postgres, Redis
from bot.replicas import CONSOLE_CHANNEL
from tests.e2e.clients import WAIT, Agent, Customer, queued, until
from tests.e2e.conftest import STAFF_PASSWORD, TOKEN, WEB_SECRET, start_system
from tests.helpers import free_port, http
from tests.services import apt_install, scratch_directory

pytestmark = [pytest.mark.e2e, pytest.mark.scaled]
REPLICAS = 2


def free_block(size: int) -> int:
    """A port such that it and the next ``size - 1`` are free (nginx + replicas)."""
    while True:
        base = free_port()
        if base + size < 65535 and all(_free(base + n) for n in range(1, size)):
            return base


def _free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def scaled(trained_model: Path) -> Iterator[dict[str, Any]]:
    apt_install("postgresql", "redis-server", "nginx")
    with scratch_directory("bankbot-scaled-") as data_dir:
        ports = {name: free_block(REPLICAS + 1) for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT")}
        redis_port, postgres_port = free_port(), free_port()
        env = dict(
            os.environ,
            **{k: str(v) for k, v in ports.items()},
            LOCAL_POSTGRES_PORT=str(postgres_port),
            LOCAL_REDIS_PORT=str(redis_port),
            RASA_AUTH_TOKEN=TOKEN,
            BANKBOT_DATA_DIR=str(data_dir),
            WEB_TOKEN_SECRET=WEB_SECRET,
            BANKBOT_DEMO_STAFF_PASSWORD=STAFF_PASSWORD,
        )
        for variable in ("PROFILE_DB", "KB_FEEDBACK_DB", "REDIS_URL", "TRACKER_DB_HOST"):
            env.pop(variable, None)
        log = data_dir / "system.log"
        gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
        process = start_system("run-scaled", env, log, gateway, 420)
        redis = Redis(data_dir / "scaled" / "redis", redis_port)  # a test restarts it: this handle stops it
        yield {
            "gateway": gateway,
            "replicas": [f"http://127.0.0.1:{ports['GATEWAY_PORT'] + n}" for n in range(1, REPLICAS + 1)],
            "rasa": f"http://127.0.0.1:{ports['RASA_PORT']}",
            "redis": redis,
            "postgres": Postgres(data_dir / "scaled" / "postgres", postgres_port),
            "data_dir": data_dir,
            "log": log,
        }
        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)
        redis.stop()


@pytest.fixture(autouse=True)
def system_log_when_failed(scaled: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[None]:
    """The system's log lines written during a test that failed, for whoever reads the CI output."""
    log: Path = scaled["log"]
    start, failed = log.stat().st_size, request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        with open(log, "rb") as lines:
            lines.seek(start)
            print(lines.read().decode(errors="replace")[-20000:])


def tracker_texts(scaled: dict[str, Any], conversation: str) -> list[str]:
    status, tracker = http("GET", f"{scaled['rasa']}/conversations/{conversation}/tracker?token={TOKEN}")
    assert status == 200
    return [e.get("text") or "" for e in tracker["events"] if e["event"] in ("user", "bot")]


def test_ready_checks_every_shared_backend(scaled) -> None:
    for url in [scaled["gateway"], *scaled["replicas"]]:
        status, body = http("GET", f"{url}/ready")
        assert status == 200, body
        assert body["checks"] == {"rasa": True, "actions": True, "database": True, "redis": True}


def test_an_agent_on_one_replica_serves_a_customer_on_the_other(scaled) -> None:
    asyncio.run(_agent_on_one_replica_serves_a_customer_on_the_other(scaled))


def customer_and_agent(scaled: dict[str, Any]) -> tuple[str, Customer, Agent]:
    """A web chat customer on the first gateway replica, an agent on the second."""
    first, second = scaled["replicas"]
    return f"web-{uuid.uuid4().hex}", Customer(first), Agent(second, "XH1001")


async def _agent_on_one_replica_serves_a_customer_on_the_other(scaled: dict[str, Any]) -> None:
    conversation, customer, agent = customer_and_agent(scaled)
    async with agent.live() as console:
        await customer.start(conversation)
        await customer.say("我要投诉，找人工")
        await customer.next("")
        await until(console, queued(conversation))  # the queue changed on the customer's replica

        status, _ = agent.call("POST", f"/conversations/{conversation}/claim")
        assert status == 200
        await customer.next("已接入")
        status, _ = agent.call(
            "POST", f"/conversations/{conversation}/messages", {"text": "您好，我是小赵。"}
        )
        assert status == 200
        await customer.next("我是小赵")

        await customer.say("我的信用卡被多扣了年费")
        turn = await until(console, lambda e: e["type"] == "turn" and e["conversation_id"] == conversation)
        assert "年费" in turn["turn"]["text"]
        status, _ = agent.call("POST", f"/conversations/{conversation}/handback")
        assert status == 200
        await customer.next("")
    await customer.client.disconnect()
    assert any("我是小赵" in text for text in tracker_texts(scaled, conversation))


def _serving_replica(scaled: dict[str, Any]) -> int:
    """Which gateway replica nginx sends this machine's customers to (its answered-message counter grew)."""
    counts = [_answered(url) for url in scaled["replicas"]]
    status, _ = http(
        "POST", f"{scaled['gateway']}/webhooks/rest/webhook", {"sender": uuid.uuid4().hex, "message": "你好"}
    )
    assert status == 200
    grown = [n for n, url in enumerate(scaled["replicas"]) if _answered(url) > counts[n]]
    assert len(grown) == 1, grown
    return grown[0]


def _answered(url: str) -> float:
    status, text = http("GET", f"{url}/metrics")
    assert status == 200
    found = re.findall(r'^bankbot_messages_total\{channel="rest",outcome="answered"\} (\S+)$', text, re.M)
    return float(found[0]) if found else 0.0


def test_a_customer_whose_replica_dies_continues_on_the_other(scaled) -> None:
    victim = _serving_replica(scaled)
    asyncio.run(_customer_whose_replica_dies_continues_on_the_other(scaled, victim))


async def _customer_whose_replica_dies_continues_on_the_other(scaled: dict[str, Any], victim: int) -> None:
    conversation = f"web-{uuid.uuid4().hex}"
    client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=1)
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    histories: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    client.on("bot_uttered", replies.put_nowait)
    client.on("history", histories.put_nowait)

    async def ask_for_the_session() -> None:  # what the widget does on every (re)connect
        await client.emit("session_request", {"session_id": conversation})

    client.on("connect", ask_for_the_session)
    await client.connect(scaled["gateway"], transports=["polling"])
    assert not [m for m in await asyncio.wait_for(histories.get(), WAIT) if m["who"] == "customer"]
    await client.emit("user_uttered", {"message": "信用卡年费怎么收"})
    first_answer = await _reply_containing(replies, "年费")

    pid = int((scaled["data_dir"] / "run" / f"gateway-{victim + 1}.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    restored = await asyncio.wait_for(histories.get(), WAIT)  # reconnected through nginx
    assert [m["text"] for m in restored if m["who"] == "customer"] == ["信用卡年费怎么收"]
    assert first_answer["text"] in [m["text"] for m in restored if m["who"] == "bot"]

    await client.emit("user_uttered", {"message": "那怎么免年费"})
    assert await _reply_containing(replies, "")
    await client.disconnect()
    texts = tracker_texts(scaled, conversation)
    assert texts.count("信用卡年费怎么收") == 1 and texts.count("那怎么免年费") == 1


async def _reply_containing(replies: asyncio.Queue[dict[str, Any]], word: str) -> dict[str, Any]:
    """The first reply mentioning ``word``; a new conversation's greeting may come first."""
    while True:
        reply = await asyncio.wait_for(replies.get(), WAIT)
        if word in reply["text"]:
            return reply


def test_redis_restarts_and_replicas_share_again(scaled) -> None:
    asyncio.run(_redis_restarts(scaled))


async def _redis_restarts(scaled: dict[str, Any]) -> None:
    conversation, customer, agent = customer_and_agent(scaled)
    await customer.start(conversation)
    await customer.say("转人工")
    await customer.next("")
    assert agent.call("POST", f"/conversations/{conversation}/claim")[0] == 200
    await customer.next("已接入")

    redis: Redis = scaled["redis"]
    subprocess.run(["redis-cli", "-p", str(redis.port), "shutdown", "nosave"], capture_output=True)
    try:
        during = await asyncio.to_thread(
            http,
            "POST",
            f"{scaled['gateway']}/webhooks/rest/webhook",
            {"sender": conversation + "-b", "message": "你好"},
        )
        assert during[0] in (200, 503) and during[1][0]["text"], during  # an answer or an apology, in Chinese
        print(f"\nwhile Redis was down: HTTP {during[0]} {during[1][-1]['text'][:40]}")
        redis.start()
        await asyncio.to_thread(_replicas_back_on, redis, conversation)
        assert agent.call("POST", f"/conversations/{conversation}/messages", {"text": "还在吗？"})[0] == 200
        await customer.next("还在吗")  # the agent's replica reaches the customer's again
        status, answer = await asyncio.to_thread(
            http,
            "POST",
            f"{scaled['gateway']}/webhooks/rest/webhook",
            {"sender": conversation + "-c", "message": "信用卡年费怎么收"},
        )
        assert status == 200 and "年费" in answer[-1]["text"]
    finally:
        await customer.client.disconnect()
        if not redis.ping():
            redis.start()


def _replicas_back_on(redis: Redis, conversation: str, timeout: float = 120) -> None:
    """Wait until every gateway replica listens on both shared channels again and the customer's socket
    is announced again. Socket.IO's listener retries with a doubling back-off (up to 60 s), so a
    fixed sleep would be a guess."""
    client = sync_redis.Redis.from_url(redis.url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(sync_redis.RedisError):
            listeners = dict(client.pubsub_numsub("bankbot:socketio", CONSOLE_CHANNEL))
            if min(listeners.values()) >= REPLICAS and client.exists(f"bankbot:presence:{conversation}"):
                return
        time.sleep(0.5)
    raise TimeoutError(f"replicas did not rejoin Redis within {timeout} s")


def test_the_database_briefly_unavailable(scaled) -> None:
    """PostgreSQL (tracker store, profiles, desk) restarts while a customer's message is on its way:
    the message waits, is answered once the database is back, and the conversation keeps its history."""
    sender = f"pg-{uuid.uuid4().hex}"
    webhook = f"{scaled['gateway']}/webhooks/rest/webhook"
    status, before = http("POST", webhook, {"sender": sender, "message": "信用卡年费怎么收"})
    assert status == 200 and "年费" in before[-1]["text"]
    postgres: Postgres = scaled["postgres"]
    postgres.stop()
    try:
        status, ready = http("GET", f"{scaled['gateway']}/ready")
        assert status == 503 and ready["checks"]["database"] is False
        with ThreadPoolExecutor(1) as pool:
            during = pool.submit(http, "POST", webhook, {"sender": sender, "message": "那怎么免年费"})
            time.sleep(4)
            assert not during.done()  # waiting for the database, not apologising
            postgres.start()
            status, answer = during.result(timeout=60)
    finally:
        if not (postgres.directory / "postmaster.pid").exists():
            postgres.start()
    assert status == 200 and answer[-1]["text"], answer
    texts = tracker_texts(scaled, sender)
    assert texts.count("信用卡年费怎么收") == 1 and texts.count("那怎么免年费") == 1
    assert texts.index("信用卡年费怎么收") < texts.index("那怎么免年费")
