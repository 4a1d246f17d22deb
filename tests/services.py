"""Real services for tests, installed from Debian packages and started on loopback when needed."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from tests.helpers import free_port

POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"


@cache
def apt_install(*packages: str) -> None:
    """Install Debian packages (once per test run); the tests run as root in CI."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True, env=env, capture_output=True)


def postgres_bin() -> Path:
    found = sorted(glob.glob(POSTGRES_BINARIES))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob(POSTGRES_BINARIES))
    return Path(found[-1])


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` user the package creates."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port; yields the SQLAlchemy URL of a database.

    Its data directory is a fresh one under /tmp (pytest's are private to root), removed afterwards.
    """
    binaries = postgres_bin()
    data = Path(tempfile.mkdtemp(prefix="bankbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    port = free_port()
    run = lambda *args: subprocess.run(_as_postgres(list(args)), check=True, capture_output=True)  # noqa: E731
    run(str(binaries / "initdb"), "-D", str(data), "-U", "bank", "--auth=trust", "-E", "UTF8", "--locale=C")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(data / "server.log"),
        "-w",
        "start",
    )
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "bank", "profile")
        yield f"postgresql+psycopg2://bank@127.0.0.1:{port}/profile"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)
