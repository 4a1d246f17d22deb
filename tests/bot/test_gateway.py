"""The gateway on its own: input checks, and an honest answer when Rasa is down."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot import messages
from bot.gateway import BadRequest, parse_rest_request
from bot.settings import PROJECT_ROOT
from tests.helpers import free_port, http, wait_for


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"message": "你好"},
        {"sender": "", "message": "你好"},
        {"sender": "x" * 200, "message": "你好"},
        {"sender": "u1", "message": 5},
    ],
)
def test_parse_rest_request_refuses_malformed(body) -> None:
    with pytest.raises(BadRequest):
        parse_rest_request(body)


def test_parse_rest_request_accepts() -> None:
    assert parse_rest_request({"sender": " u1 ", "message": "你好"}) == ("u1", "你好")


@pytest.fixture(scope="module")
def gateway_without_rasa() -> Iterator[str]:
    port, dead_port = free_port(), free_port()
    env = dict(
        os.environ,
        GATEWAY_PORT=str(port),
        RASA_PORT=str(dead_port),
        ACTION_PORT=str(dead_port),
        MAX_MESSAGE_CHARS="50",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.gateway"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 60, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_rasa_down_gives_a_chinese_apology(gateway_without_rasa: str) -> None:
    status, body = http(
        "POST", f"{gateway_without_rasa}/webhooks/rest/webhook", {"sender": "u1", "message": "查余额"}
    )
    assert status == 503
    assert body == [{"recipient_id": "u1", "text": messages.SERVICE_UNAVAILABLE}]


def test_not_ready_when_dependencies_are_down(gateway_without_rasa: str) -> None:
    status, body = http("GET", f"{gateway_without_rasa}/ready")
    assert status == 503
    assert body == {"ready": False, "checks": {"rasa": False, "actions": False}}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"sender": "u1", "message": "   "}, messages.EMPTY_MESSAGE),
        ({"sender": "u1", "message": "转" * 51}, messages.MESSAGE_TOO_LONG.format(limit=50)),
    ],
)
def test_empty_and_long_messages_are_answered_without_rasa(gateway_without_rasa, payload, expected) -> None:
    status, body = http("POST", f"{gateway_without_rasa}/webhooks/rest/webhook", payload)
    assert status == 200
    assert body == [{"recipient_id": "u1", "text": expected}]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'["a"]'])
def test_malformed_bodies_get_400(gateway_without_rasa: str, raw: bytes) -> None:
    status, body = http("POST", f"{gateway_without_rasa}/webhooks/rest/webhook", raw=raw)
    assert status == 400
    assert body["message"] == messages.BAD_REQUEST


def test_oversized_body_is_refused(gateway_without_rasa: str) -> None:
    status, _ = http(
        "POST",
        f"{gateway_without_rasa}/webhooks/rest/webhook",
        raw=b'{"sender":"u1","message":"' + b"a" * 200_000 + b'"}',
    )
    assert status == 413
