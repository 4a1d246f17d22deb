"""``make bench``: the whole system under a realistic load, next to bare Rasa with the same model.

Starts the system as ``make run`` does (``python -m bot run``, own ports and data directory), then
simulates ``--customers`` concurrent customers, half over Socket.IO (the web widget's protocol) and
half over the REST channel, each sending one message every ``--interval`` seconds from the
conversations in ``bench/messages.yml``. The same load then goes straight to the Rasa server's
channel (bare Rasa: no gateway, no masking, no service desk), and the NLU alone (``/model/parse``)
is timed. Printed as one table and written to ``reports/bench-<profile>.json`` and ``.html``.

``--soak SECONDS`` instead runs the full-stack load that long and samples every process's memory,
to show whether it grows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
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
from bot.settings import PROJECT_ROOT

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's WebSocket client names aiohttp ≥ 3.10's timeout class; Rasa 3.6 pins aiohttp
    # 3.9, whose ws_connect takes the close timeout as a number.
    aiohttp.ClientWSTimeout = lambda ws_close: ws_close

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
REPORTS = PROJECT_ROOT / "reports"
SERVICES = ("gateway", "rasa", "actions")
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
        run = self.data_dir / "run"
        return {name: int((run / f"{name}.pid").read_text()) for name in SERVICES}

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
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_system(log: Path) -> System:
    """``python -m bot run`` on free ports; returns once the gateway reports ready."""
    ports = {name: free_port() for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT")}
    data_dir = Path(tempfile.mkdtemp(prefix="bankbot-bench-"))
    token = secrets.token_hex(16)
    env = dict(
        os.environ,
        **{k: str(v) for k, v in ports.items()},
        BANKBOT_DATA_DIR=str(data_dir),
        RASA_AUTH_TOKEN=token,
        RATE_LIMIT_PER_ADDRESS="1000000",  # every simulated customer comes from 127.0.0.1
    )
    print(f"==> starting the system (log: {log})", flush=True)
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output
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


Send = Callable[[str], Awaitable[bool]]


async def customer(send: Send, script: list[str], interval: float, until: float, run: Run) -> None:
    """One customer: a message every ``interval`` seconds (or right after a slower answer)."""
    for text in cycle(script):
        tick = time.perf_counter()
        if tick >= until:
            return
        try:
            ok = await asyncio.wait_for(send(text), REQUEST_TIMEOUT)
        except (aiohttp.ClientError, asyncio.TimeoutError, socketio.exceptions.SocketIOError):
            ok = False
        run.record(tick, ok)
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))


def rest_sender(http: aiohttp.ClientSession, url: str, sender: str, with_metadata: bool) -> Send:
    async def send(text: str) -> bool:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if with_metadata:
            body["metadata"] = {"channel": "rest"}
        async with http.post(url, json=body) as answer:
            return answer.status == 200 and answered(await answer.json())

    return send


async def socket_sender(gateway: str, sender: str) -> tuple[Send, socketio.AsyncClient]:
    client = socketio.AsyncClient(reconnection=False)
    confirmed = asyncio.Event()
    replies: list[dict[str, Any]] = []
    client.on("session_confirm", lambda _data: confirmed.set())
    client.on("bot_uttered", replies.append)
    await client.connect(gateway, transports=["websocket"])
    await client.emit("session_request", {"session_id": sender})
    await asyncio.wait_for(confirmed.wait(), REQUEST_TIMEOUT)

    async def send(text: str) -> bool:
        replies.clear()
        ack = await client.call("user_uttered", {"message": text, "message_id": uuid.uuid4().hex})
        return bool(ack and ack.get("ok")) and answered(list(replies))

    return send, client


async def full_stack(system: System, customers: int, interval: float, seconds: float) -> Run:
    """Half the customers on Socket.IO, half on REST, through the gateway."""
    run, scripts = Run("full stack"), cycle(conversations())
    until = time.perf_counter() + seconds
    sockets = []
    async with aiohttp.ClientSession() as http:
        tasks = []
        for n in range(customers):
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            if n % 2:
                send, client = await socket_sender(system.gateway, sender)
                sockets.append(client)
            else:
                send = rest_sender(http, f"{system.gateway}/webhooks/rest/webhook", sender, False)
            tasks.append(customer(send, next(scripts), interval, until, run))
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
    for client in sockets:
        await client.disconnect()
    return run


async def bare_rasa(system: System, customers: int, interval: float, seconds: float) -> Run:
    """The same customers straight to the Rasa server's channel: Rasa + actions, nothing of ours."""
    run, scripts = Run("bare Rasa"), cycle(conversations())
    until = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as http:
        url = f"{system.rasa}/webhooks/gateway/webhook"
        tasks = [
            customer(
                rest_sender(http, url, f"bare-{uuid.uuid4().hex[:12]}", True),
                next(scripts),
                interval,
                until,
                run,
            )
            for _ in range(customers)
        ]
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
    return run


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
        send = rest_sender(http, f"{system.gateway}/webhooks/rest/webhook", "bench-warm-up", False)
        for text in conversations()[0]:
            await send(text)


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
    growth = {name: round(100 * (samples[-1][name] / settled[name] - 1), 1) for name in SERVICES}
    return {
        "profile": args.profile,
        "customers": args.customers,
        "interval_s": args.interval,
        "soak_seconds": args.soak,
        "phases": [{"phase": "soak", **run.summary()}],
        "memory_samples_mb": samples,
        "rss_growth_percent_after_warm_up": growth,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a customer's messages")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per phase")
    parser.add_argument("--soak", type=float, default=0.0, help="run a soak test this many seconds instead")
    parser.add_argument("--sample", type=float, default=30.0, help="memory sampling period in a soak")
    parser.add_argument("--profile", default="default")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.interval <= 0 or args.duration <= 0:
        parser.error("--customers, --interval and --duration must be positive")
    REPORTS.mkdir(exist_ok=True)
    system = start_system(REPORTS / f"bench-{args.profile}-system.log")
    try:
        if args.soak:
            result = asyncio.run(soak(system, args))
            out = REPORTS / f"bench-soak-{args.profile}.json"
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
