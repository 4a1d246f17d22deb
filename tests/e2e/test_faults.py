"""Faults the running system survives: a process of it dies, WeChat retries a message, a client floods.

Each test checks that no customer message is lost (it is in the tracker, once) and that the customer
gets a sensible reply. Killed processes come back through the supervisor (``bot/supervisor.py``).
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from bot import messages
from bot.conversation import CANCEL_PAYLOAD, HUMAN_BUTTON
from tests.e2e.conftest import TOKEN, WECHAT_TOKEN, say, texts
from tests.helpers import http, wait_for

pytestmark = pytest.mark.e2e
RESTART_SECONDS = 240
QUESTION = "信用卡年费怎么收"


def pid_of(system: dict[str, Any], service: str) -> int:
    return int((Path(system["data_dir"]) / "run" / f"{service}.pid").read_text())


def customer_texts(system: dict[str, Any], conversation: str) -> list[str]:
    """What the tracker store holds of a customer's messages."""
    url = f"{system['rasa']}/conversations/{quote(conversation)}/tracker?token={TOKEN}"
    status, tracker = http("GET", url)
    assert status == 200, tracker
    return [e.get("text") for e in tracker["events"] if e.get("event") == "user"]


def back_again(system: dict[str, Any], service: str, old_pid: int) -> None:
    """Wait for the supervisor to restart ``service`` and for the whole system to be ready."""
    deadline = time.monotonic() + RESTART_SECONDS
    while time.monotonic() < deadline and pid_of(system, service) == old_pid:
        time.sleep(0.5)
    assert pid_of(system, service) != old_pid, f"{service} was not restarted"
    wait_for(f"{system['gateway']}/ready", RESTART_SECONDS)


@pytest.mark.disrupts_system
def test_action_server_down_apologises_offers_a_person_and_recovers(system) -> None:
    sender = f"fault-actions-{time.time_ns()}"
    assert "年费" in texts(say(system, sender, "信用卡年费怎么收"))
    pid = pid_of(system, "actions")
    os.kill(pid, signal.SIGKILL)
    wait_for_status(f"{system['gateway']}/ready", 503)

    degraded = say(system, sender, "跨行转账多久到账")
    assert degraded[-1]["text"] == messages.BOT_DEGRADED
    assert degraded[-1]["buttons"] == [HUMAN_BUTTON]
    queued = say(system, sender, HUMAN_BUTTON["payload"])  # the button still reaches a person
    assert queued[-1]["metadata"]["handoff_state"] == "queued", queued
    assert texts(say(system, sender, CANCEL_PAYLOAD)) == messages.HANDOFF_CANCELLED

    back_again(system, "actions", pid)
    assert "到账" in texts(say(system, sender, "跨行转账多久到账"))
    said = customer_texts(system, sender)
    for text in ("信用卡年费怎么收", "跨行转账多久到账", HUMAN_BUTTON["payload"]):
        assert text in said  # nothing the customer said is lost


@pytest.mark.disrupts_system
def test_a_message_in_flight_when_rasa_dies_is_answered_after_the_restart(system) -> None:
    sender = f"fault-rasa-{time.time_ns()}"
    assert "年费" in texts(say(system, sender, "信用卡年费怎么收"))
    before = customer_texts(system, sender)
    pid = pid_of(system, "rasa")
    os.kill(pid, signal.SIGSTOP)  # frozen: the next message is accepted but not handled …
    answers: list[tuple[int, Any]] = []
    message = {"sender": sender, "message": "跨行转账多久到账"}
    url = f"{system['gateway']}/webhooks/rest/webhook"
    worker = threading.Thread(
        target=lambda: answers.append(http("POST", url, message, timeout=RESTART_SECONDS))
    )
    worker.start()
    time.sleep(2)
    os.kill(pid, signal.SIGKILL)  # … and then Rasa dies with it in flight
    worker.join(timeout=RESTART_SECONDS)

    assert answers and answers[0][0] == 200 and "到账" in texts(answers[0][1]), answers  # retried
    after = customer_texts(system, sender)
    assert after[: len(before)] == before  # the conversation's state came back from the tracker store
    assert after.count("跨行转账多久到账") == 1  # handled once
    assert "retrying the message once it is back" in Path(system["log"]).read_text(errors="replace")
    back_again(system, "rasa", pid)


def wait_for_status(url: str, status: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http("GET", url)[0] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered {status}")


def wechat_post(system: dict[str, Any], openid: str, text: str, msg_id: int) -> tuple[int, str]:
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    return http("POST", f"{system['gateway']}/webhooks/wechat?{query}", raw=xml.encode(), timeout=10)


def test_a_wechat_retry_storm_is_answered_once(system) -> None:
    openid, msg_id = f"oStorm{time.time_ns()}", time.time_ns() % 10**15
    results: list[tuple[int, str]] = []
    storm = [
        threading.Thread(
            target=lambda: results.append(wechat_post(system, openid, "信用卡年费怎么收", msg_id))
        )
        for _ in range(3)
    ]
    for thread in storm:
        thread.start()
    for thread in storm:
        thread.join(timeout=30)
    assert sorted(status for status, _ in results) == [200, 200, 200]
    answered = [body for _, body in results if body != "success"]
    assert len(answered) == 1 and "年费" in answered[0], results
    assert customer_texts(system, openid).count(QUESTION) == 1


def test_a_flooding_client_does_not_crowd_out_others(system) -> None:
    flooder, other = f"flood-{time.time_ns()}", f"calm-{time.time_ns()}"
    limited: list[str] = []

    def flood() -> None:
        for n in range(40):
            limited.extend(
                r["text"] for r in say(system, flooder, f"查询{n}") if r["text"] == messages.TOO_FAST
            )

    threads = [threading.Thread(target=flood) for _ in range(2)]
    for thread in threads:
        thread.start()
    calm = [
        texts(say(system, other, q)) for q in ("信用卡年费怎么收", "跨行转账多久到账", "忘记登录密码怎么办")
    ]
    for thread in threads:
        thread.join(timeout=120)
    assert limited, "the flood was never limited"
    assert all(reply and messages.TOO_FAST not in reply for reply in calm), calm
    assert len(customer_texts(system, flooder)) == 80 - len(limited)  # refused ones never reached Rasa
