"""Start, watch and stop the processes of the assistant (``make run`` / ``make shell``).

Three processes: the action server, the Rasa server and the gateway. The supervisor
waits for each to answer its health check, prints where everything is, restarts a process
that dies (the others keep serving: the gateway apologises meanwhile), and on Ctrl-C stops
all of them cleanly. Each process's pid is in ``BANKBOT_DATA_DIR/run/<name>.pid``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings

STARTUP_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 15
MAX_RESTARTS, RESTART_PERIOD_SECONDS = 5, 300  # a process failing more often than this is broken


@dataclass
class Service:
    name: str
    slug: str  # pid file name
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)  # this process's own variables (a replica's port)
    needs_prepared_data: bool = True  # the knowledge-base index and the profile database (see run_services)
    process: subprocess.Popen | None = field(default=None, repr=False)
    restarts: list[float] = field(default_factory=list, repr=False)

    def start(self, env: dict[str, str], pid_dir: Path | None = None) -> None:
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env={**env, **self.env}, start_new_session=True
        )
        if pid_dir is not None:
            pid_dir.mkdir(parents=True, exist_ok=True)
            (pid_dir / f"{self.slug}.pid").write_text(f"{self.process.pid}\n")

    def may_restart(self, now: float) -> bool:
        """Record a restart unless there were too many lately."""
        self.restarts = [t for t in self.restarts if now - t < RESTART_PERIOD_SECONDS]
        if len(self.restarts) >= MAX_RESTARTS:
            return False
        self.restarts.append(now)
        return True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.running():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _stop_on_termination_signals() -> None:
    """SIGTERM (kill) and SIGHUP (closed terminal) stop the children like Ctrl-C does."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


# One math thread per service unless the operator says otherwise. The services share a few cores,
# and a model that spreads each short query over all of them spins while it waits, taking the CPU
# the other services need for the next message. Measured on 2 cores: an e5 query embedding costs
# 31 ms of CPU on one PyTorch thread and 58 ms for the same wall time on two; with TensorFlow on one
# thread too, the full-stack p95 at 20 customers fell from 394 ms to 214 ms (``make bench``).
COMPUTE_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",  # PyTorch (the knowledge base's encoder in the action server)
    "MKL_NUM_THREADS",
    "TF_INTRA_OP_PARALLELISM_THREADS",  # TensorFlow (DIET, TED) in the Rasa server; read by Rasa
    "TF_INTER_OP_PARALLELISM_THREADS",
)


def service_env(settings: Settings) -> dict[str, str]:
    """Environment for every child: endpoints.yml reads these variables."""
    env = dict(os.environ)
    env.update(
        ACTION_SERVER_URL=f"{settings.action_url}/webhook",
        TRACKER_DB=str(settings.data_dir / "tracker.db"),
        BANKBOT_PRELOAD="1",  # the action server loads the knowledge base while the others start
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    for variable in COMPUTE_THREAD_VARIABLES:
        env[variable] = env.get(variable) or "1"  # also when .env leaves it empty
    return env


def _masked_module(module: str, *arguments: str) -> list[str]:
    """``python -m module arguments``, every log record of the process masked (``bot.masked_logs``)."""
    return [sys.executable, "-m", "bot.masked_logs", module, *arguments]


def _named(name: str, slug: str, replica: int) -> tuple[str, str]:
    """Name and pid-file slug of a process, numbered when it is one of several replicas."""
    return (f"{name} {replica}", f"{slug}-{replica}") if replica else (name, slug)


def action_server(settings: Settings, port: int = 0, replica: int = 0) -> Service:
    port = port or settings.action_port
    return Service(
        *_named("action server", "actions", replica),
        _masked_module("bot.action_server", "--actions", "actions", "--port", str(port)),
        f"http://{settings.action_host}:{port}/health",
    )


def rasa_server(
    settings: Settings, model: Path, port: int = 0, replica: int = 0, endpoints: str = "endpoints.yml"
) -> Service:
    port = port or settings.rasa_port
    command = _masked_module(
        "rasa",
        "run",
        "--enable-api",
        "--interface",
        settings.rasa_host,
        "--port",
        str(port),
        "--model",
        str(model),
        "--endpoints",
        endpoints,
        "--credentials",
        "credentials.yml",
    )
    if settings.rasa_auth_token:
        command += ["--auth-token", settings.rasa_auth_token]
    name, slug = _named("Rasa server", "rasa", replica)
    return Service(name, slug, command, f"http://{settings.rasa_host}:{port}/", needs_prepared_data=False)


def gateway(settings: Settings, port: int = 0, replica: int = 0) -> Service:
    port = port or settings.gateway_port
    return Service(
        *_named("gateway", "gateway", replica),
        [sys.executable, "-m", "bot.gateway"],
        f"http://{settings.gateway_host}:{port}/health",
        env={"GATEWAY_PORT": str(port)},
    )


def wait_until_healthy(services: list[Service], timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending:
        for service in list(pending):
            if not service.running():
                raise RuntimeError(f"{service.name} exited during start-up (see its log above)")
            if healthy(service.health_url):
                print(f"==> {service.name} is up ({service.health_url})", flush=True)
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            raise RuntimeError(f"{names} did not become healthy within {timeout:.0f} s")
        time.sleep(0.5)


def run_all(settings: Settings, model: Path, prepare: Callable[[], None] | None = None) -> int:
    """Run the whole system in the foreground until Ctrl-C or a process dies."""
    services = [action_server(settings), rasa_server(settings, model), gateway(settings)]
    return run_services(settings, services, service_env(settings), "", prepare=prepare)


def run_services(
    settings: Settings,
    services: list[Service],
    env: dict[str, str],
    profile: str,
    timeout: float = 0,
    prepare: Callable[[], None] | None = None,
) -> int:
    """Start the services, wait until all are healthy, keep them running until Ctrl-C.

    ``prepare`` (index and database checks) runs while the services that do not need it load: the
    Rasa server's model load is the longest step of a start, so it begins first."""
    _stop_on_termination_signals()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pid_dir = settings.data_dir / "run"
    started = time.monotonic()
    try:
        start_services(services, env, pid_dir, prepare)
        wait_until_healthy(services, timeout or STARTUP_TIMEOUT_SECONDS)
        _print_banner(settings, time.monotonic() - started, profile)
        return _keep_running(services, env, pid_dir)
    except KeyboardInterrupt:
        print("\n==> stopping…", flush=True)
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for service in reversed(services):
            service.stop()


def start_services(
    services: list[Service], env: dict[str, str], pid_dir: Path, prepare: Callable[[], None] | None
) -> None:
    """Start the services that need no prepared data, then ``prepare``, then the others."""
    for service in services:
        if not service.needs_prepared_data:
            service.start(env, pid_dir)
    if prepare is not None:
        prepare()
    for service in services:
        if service.needs_prepared_data:
            service.start(env, pid_dir)


def _keep_running(services: list[Service], env: dict[str, str], pid_dir: Path) -> int:
    """Restart a process that stops; give up (stopping all) when one keeps failing."""
    while True:
        time.sleep(1)
        for service in services:
            if service.running():
                continue
            code = service.process.returncode if service.process else None
            if not service.may_restart(time.monotonic()):
                print(f"==> {service.name} keeps stopping (exit code {code}); shutting down", file=sys.stderr)
                return 1
            print(
                f"==> {service.name} stopped (exit code {code}); restarting it", file=sys.stderr, flush=True
            )
            service.start(env, pid_dir)


def _print_banner(settings: Settings, seconds: float, profile: str) -> None:
    token = " (token required)" if settings.rasa_auth_token else ""
    print(
        f"""
==> 星海银行智能客服 is running{profile} (started in {seconds:.0f} s). Ctrl-C stops everything.
    gateway        {settings.gateway_url}   REST: POST /webhooks/rest/webhook · web chat: Socket.IO
    agent console  {settings.gateway_url}/agent   demo staff XH1001 … (README: human handoff)
    Rasa server    {settings.rasa_url}   HTTP API enabled{token}
    action server  {settings.action_url}
    talk to it:    make shell
                   curl -d '{{"sender":"me","message":"你好"}}' {settings.gateway_url}/webhooks/rest/webhook
""",
        flush=True,
    )


def run_shell(settings: Settings, model: Path) -> int:
    """``rasa shell`` against the model, with an action server (reused if one is running)."""
    _stop_on_termination_signals()
    actions = action_server(settings)
    env = service_env(settings)
    command = _masked_module(
        "rasa",
        "shell",
        "--model",
        str(model),
        "--endpoints",
        "endpoints.yml",
        "--port",
        str(settings.rasa_port + 100),
    )
    try:
        if not healthy(actions.health_url):
            actions.start(env)
            wait_until_healthy([actions])
        return subprocess.call(command, cwd=PROJECT_ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        actions.stop()
