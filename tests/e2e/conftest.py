"""The whole system as `make run` starts it, once for all end-to-end tests: real processes on loopback."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from bot.settings import PROJECT_ROOT
from tests.helpers import free_port, http, wait_for


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that stop or break parts of the shared system go last, whichever module they are in."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("stops_system") is not None,
            item.get_closest_marker("disrupts_system") is not None,
        )
    )


TOKEN = "e2e-secret-token"
WEB_SECRET = "e2e-web-token-secret-0123456789abcdef"
STAFF_PASSWORD = "e2e-staff-password"
WECHAT_APP_ID, WECHAT_TOKEN = "wxe2e0000000000001", "e2e-wechat-token"


@pytest.fixture(scope="session")
def system(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ports = {name: free_port() for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT")}
    data_dir = tmp_path_factory.mktemp("var")
    env = dict(
        os.environ,
        **{k: str(v) for k, v in ports.items()},
        RASA_AUTH_TOKEN=TOKEN,
        BANKBOT_DATA_DIR=str(data_dir),
        WEB_TOKEN_SECRET=WEB_SECRET,
        BANKBOT_DEMO_STAFF_PASSWORD=STAFF_PASSWORD,
        KB_DRAFTS_DIR=str(data_dir / "drafts"),
        WECHAT_APP_ID=WECHAT_APP_ID,
        WECHAT_TOKEN=WECHAT_TOKEN,
        WECHAT_API_BASE=f"http://127.0.0.1:{free_port()}",  # no API: the passive path is measured
        LOG_LEVEL="DEBUG",  # Rasa logs message texts only at DEBUG: the PII test reads those lines too
    )
    log = tmp_path_factory.mktemp("logs") / "system.log"
    urls = {
        "gateway": f"http://127.0.0.1:{ports['GATEWAY_PORT']}",
        "rasa": f"http://127.0.0.1:{ports['RASA_PORT']}",
        "actions": f"http://127.0.0.1:{ports['ACTION_PORT']}",
    }
    process = start_system("run", env, log, urls["gateway"], 240)
    yield {**urls, "process": process, "log": str(log), "data_dir": data_dir}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def start_system(
    command: str, env: dict[str, str], log: Path, gateway: str, timeout: float
) -> subprocess.Popen:
    """``python -m bot <command>`` with its output in ``log``, once the gateway says it is ready."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", command],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"{gateway}/ready", timeout, process)
    except (RuntimeError, TimeoutError):
        process.kill()
        pytest.fail(f"system ({command}) did not start:\n{log.read_text(errors='replace')[-5000:]}")
    return process


def say(system: dict[str, Any], sender: str, text: str, login: str | None = None) -> list[dict]:
    """A customer's message; ``login`` is the website's user id the customer is logged in as."""
    headers = {"Authorization": f"Bearer {web_login(login)}"} if login else {}
    status, body = http(
        "POST",
        f"{system['gateway']}/webhooks/rest/webhook",
        {"sender": sender, "message": text},
        headers=headers,
    )
    assert status == 200, body
    return body


def web_login(user_id: str) -> str:
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    return jwt.encode({"sub": user_id, "exp": expires}, WEB_SECRET, algorithm="HS256")


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)
