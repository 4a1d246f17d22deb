"""PostgreSQL, Redis and nginx from Debian packages, run on loopback in a directory of their own.

The scaled profile on one machine (``make run-scaled``) and the tests use them; production uses the
bank's managed PostgreSQL and Redis and its load balancer (``deploy/``). Packages are installed by
``scripts/setup_services.sh`` (``install()`` here runs it).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT
from bot.supervisor import healthy

POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"
START_TIMEOUT_SECONDS = 30


class ServiceUnavailable(RuntimeError):
    """A service's package is missing and cannot be installed here."""


def install(*packages: str) -> None:
    """Install Debian packages (as root) unless present; ``ServiceUnavailable`` when that fails."""
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "setup_services.sh"), *packages],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ServiceUnavailable(done.stderr.strip() or done.stdout.strip())


def postgres_binaries() -> Path:
    found = sorted(glob.glob(POSTGRES_BINARIES))
    if not found:
        install("postgresql")
        found = sorted(glob.glob(POSTGRES_BINARIES))
    return Path(found[-1])


def _as_service_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` user the package creates."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _wait_for(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT_SECONDS} s")
        time.sleep(0.1)


@dataclass
class Postgres:
    """A PostgreSQL cluster (user ``bank``, trust auth on loopback) with the given databases."""

    directory: Path
    port: int
    databases: tuple[str, ...] = ("profile", "tracker")

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://bank@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        binaries = postgres_binaries()
        fresh = not (self.directory / "PG_VERSION").exists()
        if fresh:
            self.directory.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.directory, "postgres")
            self._run(binaries / "initdb", "-D", self.directory, "-U", "bank", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.directory / "server.log"
        self._run(binaries / "pg_ctl", "-D", self.directory, "-o", options, "-l", log, "-w", "start")
        if fresh:
            for database in self.databases:
                self._run(binaries / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "bank", database)

    def stop(self, mode: str = "fast") -> None:
        self._run(postgres_binaries() / "pg_ctl", "-D", self.directory, "-m", mode, "-w", "stop")

    def _run(self, *command: object) -> None:
        """A PostgreSQL tool as its service user; its own words when it fails (say, the data directory
        sits under a folder the ``postgres`` user may not enter)."""
        done = subprocess.run(_as_service_user([str(c) for c in command]), capture_output=True, text=True)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[-1500:]
            raise RuntimeError(f"PostgreSQL: {Path(str(command[0])).name} failed ({done.returncode}): {said}")


@dataclass
class Redis:
    """A Redis server without persistence: what it holds is live state the replicas rebuild."""

    directory: Path
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            install("redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.directory,
            stdout=open(self.directory / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self.ping, "Redis")

    def ping(self) -> bool:
        try:
            done = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=2
            )
        except subprocess.TimeoutExpired:
            return False
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


@dataclass
class Nginx:
    """nginx in the foreground with a configuration file written for it."""

    directory: Path
    config: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, health_url: str) -> None:
        if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
            install("nginx")
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        config = self.directory / "nginx.conf"
        config.write_text(self.config)
        command = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(self.directory), "-c", str(config)]
        subprocess.run([*command, "-t"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL, start_new_session=True
        )
        _wait_for(lambda: healthy(health_url), "nginx")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(timeout=10)
