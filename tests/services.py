"""Real services for tests: Debian packages (``bot.local_services``) started on loopback when needed.

A test that cannot get a service (not root and the package missing) is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.local_services import Postgres, Redis, ServiceUnavailable, install
from tests.helpers import free_port


def apt_install(*packages: str) -> None:
    """Install Debian packages the tests need, or skip the test saying why not."""
    try:
        install(*packages)
    except ServiceUnavailable as error:
        pytest.skip(f"needs Debian packages {', '.join(packages)}: {error}")


@contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory under /tmp (pytest's are private to root; PostgreSQL runs as ``postgres``)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL server with the ``profile`` and ``tracker`` databases."""
    apt_install("postgresql")
    with scratch_directory("bankbot-pg-") as directory:
        server = Postgres(directory / "data", free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def running_redis() -> Iterator[Redis]:
    apt_install("redis-server")
    with scratch_directory("bankbot-redis-") as directory:
        server = Redis(directory, free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()
