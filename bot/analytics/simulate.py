"""``python -m bot simulate``: demo traffic played through the real, running system.

Simulated customers talk to the gateway over REST and the web widget's Socket.IO protocol with the
conversations in ``simulation.yml`` (some logged in through the demo website tokens), click 有用 /
没用 and suggested articles, wait for a person when the assistant hands them over, give up
sometimes, and rate the service afterwards. Simulated agents log into the console API, claim
conversations from the live queue, reply and close them. Nothing is inserted into the reporting
tables directly: the dashboard is filled by the same capture that records real conversations.

Each conversation is registered in ``report_simulations`` first, with the number of days back it
is reported on (spread over ``days`` with a weekly pattern), so the charts show a few weeks of
traffic and the dashboard can leave simulated traffic out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from tqdm import tqdm

from bot.analytics.capture import Capture, TrackerEvents
from bot.analytics.models import ReportSimulation
from bot.chat_clients import ChatError, Reply, RestCustomer, SocketCustomer
from bot.identity import sign_demo_token
from bot.privacy import pseudonym, pseudonym_key
from bot.profile.db import session_factory, session_scope
from bot.settings import Settings, load_settings

SCRIPTS = Path(__file__).with_name("simulation.yml")
VOTE_INTENT, CHOOSE_INTENT, CANCEL = "/kb_feedback", "/kb_choose_article", "不等了"
WAIT_FOR_AGENT_SECONDS = 90


def weighted(chance: random.Random, weights: dict[Any, float]) -> Any:
    return chance.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class Handoff:
    """What a waiting customer learns from the agent side."""

    claimed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False


@dataclass
class Tally:
    conversations: int = 0
    messages: int = 0
    handoffs: int = 0
    gave_up: int = 0
    ratings: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Simulation:
    def __init__(self, settings: Settings, gateway: str, config: dict[str, Any], seed: int) -> None:
        self.settings, self.gateway, self.config = settings, gateway, config
        self.chance = random.Random(seed)
        self.sessions = session_factory(settings.profile_db)
        self.key = pseudonym_key(settings)
        self.handoffs: dict[str, Handoff] = {}
        self.picked: set[str] = set()  # conversations one simulated agent has taken on: no race for them
        self.tally = Tally()

    # -- customers ---------------------------------------------------------------------------------

    def days_back(self) -> int:
        """A day in the last ``days``, fewer at the weekend (weekday of today minus n)."""
        today = time.localtime().tm_wday
        weights = {n: self.config["weekday_weights"][(today - n) % 7] for n in range(self.config["days"])}
        return weighted(self.chance, weights)

    def register(self, sender: str) -> None:
        with session_scope(self.sessions) as session:
            conversation = pseudonym(self.key, sender)
            session.add(ReportSimulation(conversation=conversation, days_back=self.days_back()))

    async def converse(self, http: aiohttp.ClientSession) -> None:
        script = weighted(self.chance, {i: c["weight"] for i, c in enumerate(self.config["conversations"])})
        script = self.config["conversations"][script]
        sender = f"sim-{uuid.uuid4().hex[:16]}"
        token = None
        if script.get("login"):
            token = sign_demo_token(self.settings, self.chance.choice(self.config["logins"]), minutes=30)
        await asyncio.to_thread(self.register, sender)
        channel = weighted(self.chance, self.config["channels"])
        chat: RestCustomer | SocketCustomer
        if channel == "webchat":
            chat = await SocketCustomer.connect(self.gateway, sender, token)
        else:
            chat = RestCustomer(http, f"{self.gateway}/webhooks/rest/webhook", sender, token)
        try:
            for step in script["steps"]:
                replies = await self.say(chat, self.chance.choice(step))
                replies = await self.react(chat, replies)
                if _state(replies) == "queued":
                    await self.wait_for_person(chat, sender)
                    break
        finally:
            await chat.close()
        self.tally.conversations += 1

    async def say(self, chat: RestCustomer | SocketCustomer, text: str) -> list[Reply]:
        self.tally.messages += 1
        await asyncio.sleep(self.chance.uniform(0.3, 1.5))  # reading and typing
        return await chat.say(text)

    async def react(self, chat: RestCustomer | SocketCustomer, replies: list[Reply]) -> list[Reply]:
        """Vote on an answer or pick a suggested article, as some customers do."""
        buttons = [b for r in replies for b in r.get("buttons") or []]
        votes = [b for b in buttons if b["payload"].startswith(VOTE_INTENT)]
        choices = [b for b in buttons if b["payload"].startswith(CHOOSE_INTENT)]
        if votes and self.chance.random() < self.config["vote_share"]:
            useful = self.chance.random() < self.config["useful_share"]
            vote = votes[0] if useful else votes[-1]
            return await self.say(chat, vote["payload"])
        if choices and self.chance.random() < self.config["choose_share"]:
            return await self.say(chat, self.chance.choice(choices)["payload"])
        return replies

    async def wait_for_person(self, chat: RestCustomer | SocketCustomer, sender: str) -> None:
        """Queued: wait for an agent (or give up), then rate the service once the agent closes."""
        self.tally.handoffs += 1
        waiting = self.handoffs.setdefault(sender, Handoff())
        patience = WAIT_FOR_AGENT_SECONDS
        if self.chance.random() < self.config["give_up_share"]:
            patience = self.chance.uniform(*self.config["patience_seconds"])
        try:
            await asyncio.wait_for(waiting.claimed.wait(), patience)
        except asyncio.TimeoutError:
            waiting.cancelled = True
            self.tally.gave_up += 1
            await self.say(chat, CANCEL)
            return
        await asyncio.wait_for(waiting.closed.wait(), WAIT_FOR_AGENT_SECONDS)
        if self.chance.random() < self.config["rating_share"]:
            self.tally.ratings += 1
            await self.say(chat, str(weighted(self.chance, self.config["ratings"])))

    # -- agents ------------------------------------------------------------------------------------

    async def agent(self, http: aiohttp.ClientSession, staff_no: str, stop: asyncio.Event) -> None:
        """Log in, claim from the live queue and serve, a few conversations at a time; log out at the
        end, so that real customers are not routed to an agent who has left."""
        login = {"staff_no": staff_no, "password": self.settings.demo_staff_password}
        async with http.post(f"{self.gateway}/agent/api/login", json=login) as answer:
            if answer.status != 200:
                self.tally.errors[f"agent {staff_no} login: HTTP {answer.status}"] += 1
                return
            headers = {"Authorization": f"Bearer {(await answer.json())['token']}"}
        serving: set[asyncio.Task] = set()
        while not stop.is_set():
            if len(serving) < self.config["agent_chats"]:
                async with http.get(f"{self.gateway}/agent/api/queue", headers=headers) as answer:
                    items = (await answer.json()).get("items", []) if answer.status == 200 else []
                fresh = [item for item in items if item["conversation_id"] not in self.picked]
                for item in fresh[: self.config["agent_chats"] - len(serving)]:
                    self.picked.add(item["conversation_id"])
                    task = asyncio.create_task(self.serve(http, headers, item))
                    serving.add(task)
                    task.add_done_callback(serving.discard)
            await asyncio.sleep(1.0)
        await asyncio.gather(*serving, return_exceptions=True)
        async with http.post(f"{self.gateway}/agent/api/logout", headers=headers):
            pass

    async def serve(self, http: aiohttp.ClientSession, headers: dict[str, str], item: dict[str, Any]) -> None:
        conversation = item["conversation_id"]
        waited = (time.time() - _epoch(item["waiting_since"])) if item.get("waiting_since") else 0.0
        await asyncio.sleep(max(0.0, self.chance.uniform(*self.config["claim_seconds"]) - waited))
        base = f"{self.gateway}/agent/api/conversations/{conversation}"
        async with http.post(f"{base}/claim", headers=headers) as answer:
            if answer.status != 200:  # another agent was faster, or the customer gave up
                return
        waiting = self.handoffs.setdefault(conversation, Handoff())
        waiting.claimed.set()
        text = self.chance.choice(self.config["agent_replies"])
        async with http.post(f"{base}/messages", json={"text": text}, headers=headers):
            pass
        await asyncio.sleep(self.chance.uniform(*self.config["handling_seconds"]))
        disposition = weighted(self.chance, self.config["dispositions"])
        async with http.post(f"{base}/close", json={"disposition": disposition}, headers=headers):
            pass
        waiting.closed.set()


def _state(replies: list[Reply]) -> str | None:
    """Who serves the conversation now, as the gateway tells clients (``bot.conversation.with_state``)."""
    states = [(r.get("metadata") or {}).get("handoff_state") for r in replies]
    return next((s for s in reversed(states) if s), None)


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


async def play(simulation: Simulation, conversations: int, concurrency: int) -> None:
    stop = asyncio.Event()
    progress = tqdm(total=conversations, unit="conversation", desc="simulating")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        agents = [asyncio.create_task(simulation.agent(http, s, stop)) for s in simulation.config["agents"]]
        await asyncio.sleep(1.0)  # agents online before the first customer needs one
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                try:
                    await simulation.converse(http)
                except (ChatError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
                    simulation.tally.errors[type(error).__name__] += 1
                progress.update()

        await asyncio.gather(*(one() for _ in range(conversations)))
        stop.set()
        await asyncio.gather(*agents)
    progress.close()


def load_config(path: Path = SCRIPTS) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [key for key in ("conversations", "channels", "agents", "days", "ratings") if key not in config]
    if missing:
        raise SystemExit(f"{path}: missing {', '.join(missing)}")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot simulate", description=__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="customers chatting at the same time")
    parser.add_argument("--gateway", help="the running gateway (default: GATEWAY_HOST/PORT)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.concurrency < 1:
        parser.error("--conversations and --concurrency must be positive")
    settings = load_settings()
    simulation = Simulation(settings, args.gateway or settings.gateway_url, load_config(), args.seed)
    started = time.monotonic()
    asyncio.run(play(simulation, args.conversations, args.concurrency))
    tally = simulation.tally
    seconds = time.monotonic() - started
    print(
        f"==> {tally.conversations} conversations, {tally.messages} messages in {seconds:.0f} s; "
        f"{tally.handoffs} handed to a person ({tally.gave_up} gave up), {tally.ratings} ratings"
    )
    for problem, count in tally.errors.most_common():
        print(f"    {count} × {problem}")
    capture = Capture(simulation.sessions, TrackerEvents(settings.tracker_db), simulation.key)
    recorded = capture.sync()
    if recorded.skipped:
        print("==> the gateway is recording them for the dashboard now")
    else:
        print(
            f"==> dashboard up to date: the gateway recorded the conversations as they happened, "
            f"the last {recorded.turns} turns just now"
        )
    return 1 if tally.errors and tally.conversations == 0 else 0
