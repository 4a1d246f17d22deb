"""``make bench``: the whole system under a realistic load, next to bare Rasa with the same model.

Starts the system as ``make run`` does (``python -m bot run``, own ports and data directory), then
simulates ``--customers`` concurrent customers, half over Socket.IO (the web widget's protocol) and
half over the REST channel, each sending one message every ``--interval`` seconds: a customer plays
one of the conversations in ``bench/messages.yml`` and leaves, and a new customer with a new
conversation takes the place, so conversations have the length real ones have. The same load then
goes straight to the Rasa server's channel (bare Rasa: no gateway, no masking, no service desk), and
the NLU alone (``/model/parse``) is timed. Printed as one table and written to
``reports/bench-<profile>.json`` and ``.html``.

``--soak SECONDS`` instead runs the full-stack load that long and samples every process's memory,
to show whether it grows; ``--capacity 20,40,60`` runs the full-stack load at each customer count
to find the largest the machine serves within the p95 target. ``--profile scaled`` measures
``python -m bot run-scaled`` (two replicas of every service behind nginx, PostgreSQL, Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import yaml

from bench import report
from bot import messages
from bot.chat_clients import ChatError, RestCustomer, SocketCustomer
from bot.scaled import REPLICAS
from bot.settings import PROJECT_ROOT

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
REPORTS = PROJECT_ROOT / "reports"
FAILURE_TEXTS = {messages.SERVICE_UNAVAILABLE, messages.BOT_DEGRADED, messages.TOO_FAST}
REQUEST_TIMEOUT = 30


@dataclass
class Run:
    """Latencies (ms) and failures of one load phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def record(self, started: float, ok: bool) -> None:
        self.latencies.append(1000 * (time.perf_counter() - started))
        self.errors += not ok

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [float("nan")]

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            "messages": len(self.latencies),
            "errors": self.errors,
            "throughput_per_s": round(len(self.latencies) / self.seconds, 2) if self.seconds else 0,
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": pick(0.95),
            "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1], 1),
        }


@dataclass
class System:
    process: subprocess.Popen
    gateway: str
    rasa: str
    token: str
    data_dir: Path
    startup_seconds: float

    def pids(self) -> dict[str, int]:
        """Every service process by its pid-file name (``gateway``, or ``gateway-1``… when scaled)."""
        return {path.stem: int(path.read_text()) for path in sorted((self.data_dir / "run").glob("*.pid"))}

    def memory_mb(self, field_name: str = "VmRSS") -> dict[str, float]:
        """Resident memory per process (``VmHWM``: its peak so far)."""
        sizes = {}
        for name, pid in self.pids().items():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    sizes[name] = round(int(line.split()[1]) / 1024, 1)
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=90)


def conversations() -> list[list[str]]:
    loaded = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    return [list(map(str, c)) for c in loaded["conversations"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (a load balancer's port and its replicas')."""
    while True:
        first = free_port()
        if first + count < 65535 and all(_free(first + n) for n in range(1, count)):
            return first


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start_system(log: Path, profile: str) -> System:
    """``python -m bot run`` (or ``run-scaled``) on free ports; returns once the gateway reports ready."""
    scaled = profile == "scaled"
    block = REPLICAS + 1 if scaled else 1
    ports = {name: free_ports(block) for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT")}
    if scaled:
        ports.update(LOCAL_POSTGRES_PORT=free_port(), LOCAL_REDIS_PORT=free_port())
    data_dir = Path(tempfile.mkdtemp(prefix=f"bankbot-bench-{profile}-"))
    data_dir.chmod(0o755)  # the scaled profile's PostgreSQL runs as the postgres user and must enter it
    token = secrets.token_hex(16)
    env = dict(
        os.environ,
        **{k: str(v) for k, v in ports.items()},
        BANKBOT_DATA_DIR=str(data_dir),
        RASA_AUTH_TOKEN=token,
        RATE_LIMIT_PER_ADDRESS="1000000",  # every simulated customer comes from 127.0.0.1
    )
    for variable in ("PROFILE_DB", "KB_FEEDBACK_DB", "REDIS_URL", "TRACKER_DB_HOST"):
        env.pop(variable, None)  # the scaled profile starts its own PostgreSQL and Redis
    command = "run-scaled" if scaled else "run"
    print(f"==> starting the system: python -m bot {command} (log: {log})", flush=True)
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", command], cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output
        )
    gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
    while not _ready(gateway):
        if process.poll() is not None:
            raise SystemExit(f"the system did not start; see {log}")
        if time.monotonic() - started > 600:
            process.kill()
            raise SystemExit(f"the system was not ready within 600 s; see {log}")
        time.sleep(0.5)
    seconds = time.monotonic() - started
    print(f"==> ready in {seconds:.1f} s", flush=True)
    return System(process, gateway, f"http://127.0.0.1:{ports['RASA_PORT']}", token, data_dir, seconds)


def _ready(gateway: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{gateway}/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def answered(replies: Any) -> bool:
    """A real answer: a list of replies, none of them an apology or a refusal."""
    return (
        isinstance(replies, list)
        and bool(replies)
        and not any(isinstance(r, dict) and r.get("text") in FAILURE_TEXTS for r in replies)
    )


Chat = RestCustomer | SocketCustomer
NewChat = Callable[[], Awaitable[Chat]]  # a new customer's conversation, already connected


def arrival_offsets(customers: int, interval: float) -> list[float]:
    """When each customer sends their first message: independent customers do not type in step, so
    each starts at a random point of the interval (the same points for every phase, so the phases
    see the same arrivals). Starting them all at once would measure bursts of ``customers``
    simultaneous messages instead of a steady load."""
    chance = random.Random(20261207)
    return [chance.uniform(0, interval) for _ in range(customers)]


async def customer_slot(
    new_chat: NewChat, script: list[str], interval: float, until: float, run: Run, offset: float = 0.0
) -> None:
    """One of the concurrent customers: a conversation of ``script``, one message every ``interval``
    seconds (or right after a slower answer); when it is over, the next customer takes the slot with
    a conversation of their own, as on a real service where customers come and go."""
    await asyncio.sleep(offset)
    while time.perf_counter() < until:
        chat = await new_chat()
        try:
            for text in script:
                tick = time.perf_counter()
                if tick >= until:
                    return
                run.record(tick, await answered_in_time(chat, text))
                await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))
        finally:
            await chat.close()


async def answered_in_time(chat: Chat, text: str) -> bool:
    try:
        return answered(await asyncio.wait_for(chat.say(text), REQUEST_TIMEOUT))
    except (ChatError, aiohttp.ClientError, asyncio.TimeoutError, socketio.exceptions.SocketIOError):
        return False


def gateway_chats(system: System, http: aiohttp.ClientSession, over_socket: bool) -> NewChat:
    """New conversations with the gateway, over Socket.IO (the widget) or REST."""

    async def new_chat() -> Chat:
        sender = f"bench-{uuid.uuid4().hex[:12]}"
        if over_socket:
            return await SocketCustomer.connect(system.gateway, sender)
        return RestCustomer(http, f"{system.gateway}/webhooks/rest/webhook", sender)

    return new_chat


def bare_rasa_chats(system: System, http: aiohttp.ClientSession) -> NewChat:
    """New conversations straight with the Rasa server's channel: Rasa + actions, nothing of ours."""

    async def new_chat() -> Chat:
        url = f"{system.rasa}/webhooks/gateway/webhook"
        return RestCustomer(http, url, f"bare-{uuid.uuid4().hex[:12]}", metadata={"channel": "rest"})

    return new_chat


async def load_phase(
    name: str, chats: Callable[[int], NewChat], customers: int, interval: float, seconds: float
) -> Run:
    """``customers`` slots at once for ``seconds``, slot ``n`` taking its conversations from ``chats(n)``."""
    run, scripts = Run(name), cycle(conversations())
    until = time.perf_counter() + seconds
    slots = [
        customer_slot(chats(n), next(scripts), interval, until, run, offset)
        for n, offset in enumerate(arrival_offsets(customers, interval))
    ]
    started = time.perf_counter()
    await asyncio.gather(*slots)
    run.seconds = time.perf_counter() - started
    return run


async def full_stack(system: System, customers: int, interval: float, seconds: float) -> Run:
    """Half the customers on Socket.IO, half on REST, through the gateway."""
    async with aiohttp.ClientSession() as http:

        def chats(slot: int) -> NewChat:
            return gateway_chats(system, http, over_socket=bool(slot % 2))

        return await load_phase("full stack", chats, customers, interval, seconds)


async def bare_rasa(system: System, customers: int, interval: float, seconds: float) -> Run:
    """The same customers straight to the Rasa server's channel."""
    async with aiohttp.ClientSession() as http:
        return await load_phase(
            "bare Rasa", lambda _n: bare_rasa_chats(system, http), customers, interval, seconds
        )


async def nlu_only(system: System, rounds: int = 3) -> Run:
    """``/model/parse`` one message at a time: the NLU pipeline's own latency."""
    run = Run("NLU /model/parse")
    texts = [text for script in conversations() for text in script]
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        for text in texts * rounds:
            tick = time.perf_counter()
            url = f"{system.rasa}/model/parse"
            async with http.post(url, json={"text": text}, params={"token": system.token}) as answer:
                ok = answer.status == 200 and "intent" in await answer.json()
            run.record(tick, ok)
        run.seconds = time.perf_counter() - started
    return run


async def warm_up(system: System) -> None:
    """One conversation first, so lazy loading (first KB search, first session) is not measured."""
    async with aiohttp.ClientSession() as http:
        warm = RestCustomer(http, f"{system.gateway}/webhooks/rest/webhook", "bench-warm-up")
        for text in conversations()[0]:
            await warm.say(text)


async def benchmark(system: System, args: argparse.Namespace) -> dict[str, Any]:
    await warm_up(system)
    print(
        f"==> full stack: {args.customers} customers, one message every {args.interval} s, {args.duration} s"
    )
    full = await full_stack(system, args.customers, args.interval, args.duration)
    memory = system.memory_mb("VmHWM")
    print(f"==> bare Rasa: the same load for {args.duration} s", flush=True)
    bare = await bare_rasa(system, args.customers, args.interval, args.duration)
    print("==> NLU only", flush=True)
    nlu = await nlu_only(system)
    phases = [{"phase": run.name, **run.summary()} for run in (full, bare, nlu)]
    return {
        "profile": args.profile,
        "customers": args.customers,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "startup_seconds": round(system.startup_seconds, 1),
        "phases": phases,
        "ratios": {
            "p50_full_over_bare": round(phases[0]["p50_ms"] / phases[1]["p50_ms"], 2),
            "p95_full_over_bare": round(phases[0]["p95_ms"] / phases[1]["p95_ms"], 2),
            "p50_full_over_nlu": round(phases[0]["p50_ms"] / phases[2]["p50_ms"], 2),
        },
        "peak_rss_mb": memory,
        "cpus": os.cpu_count(),
    }


async def soak(system: System, args: argparse.Namespace) -> dict[str, Any]:
    """The full-stack load for ``args.soak`` seconds, memory sampled every ``args.sample`` seconds."""
    await warm_up(system)
    samples: list[dict[str, Any]] = []
    load = asyncio.create_task(full_stack(system, args.customers, args.interval, args.soak))
    started = time.monotonic()
    while not load.done():
        samples.append({"t_s": round(time.monotonic() - started), **system.memory_mb()})
        print(f"    {samples[-1]}", flush=True)
        await asyncio.wait([load], timeout=args.sample)
    run = load.result()
    settled = samples[max(1, len(samples) // 5)]  # after start-up effects (caches, first sessions)
    growth = {name: round(100 * (samples[-1][name] / settled[name] - 1), 1) for name in samples[-1]}
    return {
        "profile": args.profile,
        "customers": args.customers,
        "interval_s": args.interval,
        "soak_seconds": args.soak,
        "phases": [{"phase": "soak", **run.summary()}],
        "memory_samples_mb": samples,
        "rss_growth_percent_after_warm_up": growth,
    }


async def capacity(system: System, args: argparse.Namespace) -> dict[str, Any]:
    """The full-stack load at each of ``args.capacity`` customer counts: where does p95 pass the target?"""
    await warm_up(system)
    steps = []
    for customers in args.capacity:
        print(
            f"==> {customers} customers, one message every {args.interval} s, {args.duration} s", flush=True
        )
        run = (await full_stack(system, customers, args.interval, args.duration)).summary()
        within = run["p95_ms"] <= report.TARGET_P95_MS and run["errors"] == 0
        steps.append({"customers": customers, "offered_per_s": round(customers / args.interval, 1), **run})
        steps[-1]["within_target"] = within
        print(f"    p95 {run['p95_ms']} ms, {run['errors']} errors", flush=True)
    held = [step["customers"] for step in steps if step["within_target"]]
    return {
        "profile": args.profile,
        "customers": args.capacity,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "steps": steps,
        "largest_within_target": max(held, default=None),
        "cpus": os.cpu_count(),
    }


def customer_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive customer counts, e.g. 20,40,60")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a customer's messages")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per phase")
    parser.add_argument("--soak", type=float, default=0.0, help="run a soak test this many seconds instead")
    parser.add_argument("--sample", type=float, default=30.0, help="memory sampling period in a soak")
    parser.add_argument(
        "--capacity",
        type=customer_counts,
        help="instead: the full stack at each customer count, e.g. 20,40,60",
    )
    parser.add_argument("--profile", choices=("default", "scaled"), default="default")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.interval <= 0 or args.duration <= 0:
        parser.error("--customers, --interval and --duration must be positive")
    REPORTS.mkdir(exist_ok=True)
    system = start_system(REPORTS / f"bench-{args.profile}-system.log", args.profile)
    try:
        if args.soak:
            result = asyncio.run(soak(system, args))
            out = REPORTS / f"bench-soak-{args.profile}.json"
        elif args.capacity:
            result = asyncio.run(capacity(system, args))
            out = REPORTS / f"bench-capacity-{args.profile}.json"
        else:
            result = asyncio.run(benchmark(system, args))
            out = REPORTS / f"bench-{args.profile}.json"
    finally:
        system.stop()
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    page = out.with_suffix(".html")
    page.write_text(report.render_html(result), encoding="utf-8")
    print()
    print(report.summary(result))
    print(f"\nresults: {out.relative_to(PROJECT_ROOT)}, {page.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
