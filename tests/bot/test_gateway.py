"""The gateway on its own: input checks, and an honest answer when Rasa is down."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from bot import messages
from bot.gateway import BadRequest, message_metadata, parse_rest_request
from bot.privacy import Sealer, find_pii, mask_pii
from tests.helpers import http, running_gateway


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


WEB_SECRET = "gateway-test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def gateway_without_rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("log") / "gateway.log"
    GATEWAY_LOG.append(log)
    with running_gateway(
        tmp_path_factory.mktemp("var"),
        log,
        MAX_MESSAGE_CHARS="50",
        WEB_TOKEN_SECRET=WEB_SECRET,
        RATE_LIMIT_PER_CUSTOMER="3",
        LOG_FORMAT="json",
    ) as url:
        yield url


GATEWAY_LOG: list[Path] = []  # where the module's gateway writes its log


def test_a_flooding_sender_is_told_to_slow_down_and_counted(gateway_without_rasa: str) -> None:
    url = f"{gateway_without_rasa}/webhooks/rest/webhook"
    answers = [http("POST", url, {"sender": "flood", "message": f"查余额{n}"}) for n in range(4)]
    assert [status for status, _ in answers] == [503, 503, 503, 200]  # Rasa is down for the first three
    assert answers[-1][1] == [{"recipient_id": "flood", "text": messages.TOO_FAST}]
    status, exposition = http("GET", f"{gateway_without_rasa}/metrics")
    assert status == 200
    assert 'bankbot_rate_limited_total{limit="customer"} 1.0' in exposition
    assert 'bankbot_messages_total{channel="rest",outcome="unanswered"}' in exposition
    assert 'bankbot_stage_seconds_count{stage="gateway"}' in exposition
    assert 'bankbot_queue_length{status="queued"} 0.0' in exposition


def test_logs_are_json_lines_naming_the_conversation(gateway_without_rasa: str) -> None:
    url = f"{gateway_without_rasa}/webhooks/rest/webhook"
    assert http("POST", url, {"sender": "log-reader", "message": "我的手机13812345678"})[0] == 503
    output = GATEWAY_LOG[0].read_text(errors="replace").splitlines()
    lines = [json.loads(line) for line in output if line.startswith("{")]
    unanswered = [line for line in lines if line["conversation_id"] == "log-reader"]
    assert unanswered and "was not answered" in unanswered[0]["message"]
    assert "13812345678" not in "".join(output)


def test_rasa_down_gives_a_chinese_apology(gateway_without_rasa: str) -> None:
    status, body = http(
        "POST", f"{gateway_without_rasa}/webhooks/rest/webhook", {"sender": "u1", "message": "查余额"}
    )
    assert status == 503
    assert body == [{"recipient_id": "u1", "text": messages.SERVICE_UNAVAILABLE}]


def test_not_ready_when_dependencies_are_down(gateway_without_rasa: str) -> None:
    status, body = http("GET", f"{gateway_without_rasa}/ready")
    assert status == 503
    assert body == {"ready": False, "checks": {"rasa": False, "actions": False, "database": True}}


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


def web_token(secret: str = WEB_SECRET, minutes: int = 5) -> str:
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    return jwt.encode({"sub": "web-user-9", "exp": expires}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {web_token(secret='forged-secret-0123456789abcdef0000')}",
        f"Bearer {web_token(minutes=-5)}",
        "Bearer not-a-token",
        f"Basic {web_token()}",
        "Bearer ",
    ],
)
def test_an_untrustworthy_login_is_refused_in_chinese(gateway_without_rasa: str, authorization: str) -> None:
    status, body = http(
        "POST",
        f"{gateway_without_rasa}/webhooks/rest/webhook",
        {"sender": "u1", "message": "查余额"},
        headers={"Authorization": authorization},
    )
    assert status == 401 and "重新登录" in body["message"]


def test_a_valid_login_goes_on_to_the_assistant(gateway_without_rasa: str) -> None:
    status, body = http(
        "POST",
        f"{gateway_without_rasa}/webhooks/rest/webhook",
        {"sender": "u1", "message": "查余额"},
        headers={"Authorization": f"Bearer {web_token()}"},
    )
    assert status == 503 and "稍后" in body[0]["text"]  # past identification; Rasa is down in this test


def test_an_anonymous_phone_number_goes_on_masked_and_sealed_for_verification() -> None:
    sealer = Sealer(b"g" * 32)
    text = "我的手机号是 138 0013 8000，卡号 6222020200112233445"
    found = find_pii(text)
    metadata = message_metadata("rest", None, found, sealer)
    assert set(metadata) == {"channel", "phone_handle"}
    assert sealer.open(metadata["phone_handle"]) == "13800138000"
    assert "8000" not in metadata["phone_handle"] and "13800138000" not in mask_pii(text, found)


def test_a_verified_customer_or_a_message_without_a_phone_gets_no_handle() -> None:
    sealer = Sealer(b"g" * 32)
    found = find_pii("手机号13800138000")
    assert message_metadata("rest", "C000001", found, sealer) == {"channel": "rest", "customer_no": "C000001"}
    assert message_metadata("rest", None, find_pii("查余额"), sealer) == {"channel": "rest"}


def test_a_stopped_gateway_leaves_no_task_behind(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    with running_gateway(tmp_path, log, REPORTING_CAPTURE_SECONDS="1") as url:
        time.sleep(1.5)  # the reporting loop has run and is waiting for its next round
        assert http("GET", f"{url}/health")[0] == 200
    output = log.read_text(errors="replace")
    assert "Stopping worker" in output or "Server Stopped" in output, output[-2000:]
    assert "Task was destroyed but it is pending" not in output and "Traceback" not in output
