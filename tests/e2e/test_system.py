"""The whole system as `make run` starts it: supervisor, action server, Rasa server, gateway.

Real processes on loopback ports; a customer talks to the gateway's REST channel.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from actions.config import message
from bot.settings import PROJECT_ROOT
from bot.supervisor import healthy
from tests.helpers import free_port, http, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "e2e-secret-token"
WEB_SECRET = "e2e-web-token-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def system(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ports = {name: free_port() for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT")}
    data_dir = tmp_path_factory.mktemp("var")
    env = dict(
        os.environ,
        **{k: str(v) for k, v in ports.items()},
        RASA_AUTH_TOKEN=TOKEN,
        BANKBOT_DATA_DIR=str(data_dir),
        WEB_TOKEN_SECRET=WEB_SECRET,
        LOG_LEVEL="DEBUG",  # Rasa logs message texts only at DEBUG: the PII test reads those lines too
    )
    log = tmp_path_factory.mktemp("logs") / "system.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    urls = {
        "gateway": f"http://127.0.0.1:{ports['GATEWAY_PORT']}",
        "rasa": f"http://127.0.0.1:{ports['RASA_PORT']}",
        "actions": f"http://127.0.0.1:{ports['ACTION_PORT']}",
    }
    try:
        wait_for(f"{urls['gateway']}/ready", 240, process)
    except (RuntimeError, TimeoutError):
        process.kill()
        pytest.fail(f"system did not start:\n{log.read_text(errors='replace')[-5000:]}")
    yield {**urls, "process": process, "log": str(log), "data_dir": data_dir}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


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


def test_greeting_starts_a_session(system) -> None:
    replies = texts(say(system, f"c-{uuid.uuid4()}", "你好"))
    assert "星海银行" in replies


def test_transfer_is_collected_confirmed_and_never_faked(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    question = say(system, sender, "帮我给张伟转500块")
    assert "张伟" in texts(question) and "500元" in texts(question)
    assert [b["payload"] for b in question[-1]["buttons"]] == ["/affirm", "/deny"]
    answer = texts(say(system, sender, "确认"))
    assert "没有发生任何资金划转" in answer


def test_form_refuses_bad_amount_then_accepts(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    say(system, sender, "我要转账")
    say(system, sender, "李娜")
    assert "大于 0" in texts(say(system, sender, "0元"))
    assert "李娜" in texts(say(system, sender, "两百块"))


def test_hostile_text_gets_a_polite_answer(system) -> None:
    replies = say(system, f"c-{uuid.uuid4()}", "<script>alert(1)</script>")
    assert replies and all(r.get("text") for r in replies)


def knowledge(reply: dict) -> dict:
    return reply.get("metadata", {}).get("knowledge_base", {})


def test_a_knowledge_question_is_answered_and_the_vote_is_kept(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    *_welcome, answer = say(system, sender, "新办的信用卡寄到家了，要怎么激活才能用")
    assert knowledge(answer)["outcome"] == "confident" and "激活" in knowledge(answer)["question"]
    unhelpful = next(b["payload"] for b in answer["buttons"] if b["title"] == "没用")
    [sorry] = say(system, sender, unhelpful)
    assert "抱歉" in sorry["text"] and sorry["buttons"][0]["payload"] == "/request_human"
    with sqlite3.connect(system["data_dir"] / "kb_feedback.db") as db:
        votes = db.execute("SELECT article_id, helpful, conversation FROM kb_feedback").fetchall()
    assert votes == [(knowledge(answer)["article_id"], 0, votes[0][2])]
    assert sender not in votes[0][2]


def test_a_vague_question_offers_articles_and_a_pick_shows_one(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    *_welcome, choices = say(system, sender, "还款")
    assert knowledge(choices)["outcome"] == "ambiguous"
    [picked] = say(system, sender, choices["buttons"][0]["payload"])
    assert knowledge(picked) == {
        "outcome": "chosen",
        "article_id": knowledge(choices)["suggestions"][0],
        "question": choices["buttons"][0]["title"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "😀😀😀",
        "how can I activate my credit card",
        "SELECT * FROM articles; DROP TABLE kb_feedback;--",
        "<img src=x onerror=alert(1)>信用卡",
        "信用卡" * 600,
        '/kb_feedback{"kb_article": "../../etc/passwd", "kb_helpful": "yes"}',
        "/kb_choose_article{broken json",
    ],
)
def test_odd_input_never_gets_a_wrong_confident_answer(system, text: str) -> None:
    replies = say(system, f"c-{uuid.uuid4()}", text)
    assert replies and all(r.get("text") for r in replies)
    assert all(knowledge(r).get("outcome") != "confident" for r in replies)


def test_account_questions_need_a_login_and_then_use_the_profile(system) -> None:
    anonymous = texts(say(system, f"c-{uuid.uuid4()}", "我卡里还有多少钱"))
    assert message("accounts", "verify_first") in anonymous
    sender = f"c-{uuid.uuid4()}"
    balance = texts(say(system, sender, "我卡里还有多少钱", login="demo-web-1"))
    assert "张先生" in balance and "****" in balance and "元" in balance
    history = texts(say(system, sender, "帮我查下最近一周的交易明细", login="demo-web-1"))
    assert "张先生" in history and "交易" in history
    with sqlite3.connect(system["data_dir"] / "profile.db") as db:
        audited = db.execute("SELECT count(*) FROM audit_records WHERE customer_no = 'C000001'").fetchone()[0]
    assert audited >= 2


def test_a_logged_in_customer_gets_a_lost_card_frozen(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    question = texts(say(system, sender, "我的信用卡丢了，尾号5678，快帮我冻结", login="demo-web-1"))
    assert "5678" in question
    frozen = texts(say(system, sender, "确认", login="demo-web-1"))
    assert "张先生" in frozen and "业务编号 FZ" in frozen
    again = texts(say(system, sender, "我的信用卡丢了，尾号5678", login="demo-web-1"))
    assert "5678" in again
    assert "已经是冻结" in texts(say(system, sender, "确认", login="demo-web-1"))


def test_rasa_http_api_requires_the_token(system) -> None:
    status, _ = http("POST", f"{system['rasa']}/model/parse", {"text": "查余额"})
    assert status == 401
    status, body = http("POST", f"{system['rasa']}/model/parse?token={TOKEN}", {"text": "我卡里还有多少钱"})
    assert status == 200 and body["intent"]["name"] == "check_balance"


CARD = "6222021234567890128"  # Luhn-valid
ID_NUMBER = "110101199003077774"  # valid check character


def stored_values(database: Path) -> str:
    """Every value in every table of a SQLite database, one per line."""
    with sqlite3.connect(database) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [row for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(str(value) for row in rows for value in row)


def test_card_and_id_numbers_reach_neither_the_logs_nor_the_tracker_store(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    say(system, sender, f"我的身份证号是{ID_NUMBER}")
    say(system, sender, f"我的卡丢了，卡号{CARD}")
    confirm = texts(say(system, sender, "6222 0212 3456 7890 128"))
    assert "尾号 0128" in confirm  # the lost-card form still gets the last four digits
    # Straight to Rasa's HTTP API, past the gateway: Rasa's own log lines are masked as well.
    status, _ = http("POST", f"{system['rasa']}/model/parse?token={TOKEN}", {"text": f"卡号{CARD}"})
    assert status == 200
    log = Path(system["log"]).read_text(encoding="utf-8", errors="replace")
    stored = stored_values(system["data_dir"] / "tracker.db")
    assert "卡号****0128" in log and "**************7774" in stored  # both saw the conversation
    for raw in (CARD, ID_NUMBER, "6222 0212 3456 7890 128"):
        assert raw not in log and raw not in stored


def test_ctrl_c_stops_every_process(system) -> None:
    process = system["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    for url in (f"{system['gateway']}/health", f"{system['rasa']}/", f"{system['actions']}/health"):
        assert not healthy(url), f"{url} still answers after Ctrl-C"
