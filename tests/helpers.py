"""Helpers for tests that start real processes on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.profile.errors import ProfileError
from bot.settings import PROJECT_ROOT
from bot.supervisor import healthy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str,
    url: str,
    body: Any = None,
    raw: bytes | None = None,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, decoded JSON or text) without raising on HTTP error statuses."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, payload = reply.status, reply.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode(errors="replace")


def wait_for(url: str, timeout: float, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        if healthy(url):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


class CapturingSender:
    """An SMS gateway that keeps what it would send, so a test can type the code a customer got."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))


def at_once(*attempts: Callable[[], str]) -> list[str]:
    """Run the attempts in threads released together; each returns what happened (a ``ProfileError``
    it raises is recorded by its class name: refused, or the database was busy; nothing changed)."""
    start, outcomes = threading.Barrier(len(attempts)), []

    def run(attempt: Callable[[], str]) -> None:
        start.wait()
        try:
            outcomes.append(attempt())
        except ProfileError as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@contextmanager
def running_gateway(data_dir: Path, log: Path, **env: str) -> Iterator[str]:
    """``python -m bot.gateway`` alone on a free port (Rasa and the action server unreachable unless
    ``env`` says where they are), with its output in ``log``; yields its base URL, stops it after."""
    port = free_port()
    env = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), **env}
    variables = dict(os.environ, GATEWAY_PORT=str(port), BANKBOT_DATA_DIR=str(data_dir), **env)
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.gateway"],
            cwd=PROJECT_ROOT,
            env=variables,
            stdout=output,
            stderr=output,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 60, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
