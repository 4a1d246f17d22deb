"""The whole system as `make run` starts it: supervisor, action server, Rasa server, gateway.

Real processes on loopback ports; a customer talks to the gateway's REST channel.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from actions.config import message
from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.models import Role
from bot.profile.service import ProfileService
from bot.supervisor import healthy
from tests.e2e.conftest import TOKEN, say, texts
from tests.helpers import http

pytestmark = pytest.mark.e2e


def test_greeting_starts_a_session(system) -> None:
    replies = texts(say(system, f"c-{uuid.uuid4()}", "你好"))
    assert "星海银行" in replies


def saved_payee(system: dict[str, Any]) -> str:
    """One of 张伟's saved payees (people he has paid before) in the system's demo bank."""
    profiles = ProfileService(session_factory(f"sqlite:///{system['data_dir'] / 'profile.db'}"))
    me = Actor("e2e-test", Role.BOT, serving="C000001")
    return profiles.saved_payees(me, "C000001", purpose="端到端测试选收款人").names[0]


def paid(system: dict[str, Any], payee: str) -> list[float]:
    with sqlite3.connect(system["data_dir"] / "profile.db") as db:
        query = "SELECT amount FROM transactions WHERE counterparty = ? AND description = '转账' ORDER BY id"
        return [float(amount) for (amount,) in db.execute(query, (payee,))]


def transfer(system: dict[str, Any], sender: str, payee: str, amount: str) -> str:
    """A logged-in 张伟 asks step by step; returns what the confirmation step says."""
    say(system, sender, "我要转账", login="demo-web-1")
    say(system, sender, payee, login="demo-web-1")
    asked = texts(say(system, sender, amount, login="demo-web-1"))
    assert payee in asked, asked
    return texts(say(system, sender, "确认", login="demo-web-1"))


def test_a_logged_in_customer_transfers_to_a_saved_payee(system) -> None:
    payee = saved_payee(system)
    before = paid(system, payee)
    done = transfer(system, f"c-{uuid.uuid4()}", payee, "两百块")
    assert "转账成功" in done and "业务编号 ZZ" in done and payee in done
    assert paid(system, payee) == [*before, -200.0]


def test_a_large_transfer_needs_the_sms_code(system) -> None:
    sender, payee = f"c-{uuid.uuid4()}", saved_payee(system)
    before = paid(system, payee)
    asked = transfer(system, sender, payee, "6000元")
    assert "短信验证" in asked and paid(system, payee) == before
    done = texts(say(system, sender, latest_code(system, "13900000001"), login="demo-web-1"))
    assert "转账成功" in done and paid(system, payee) == [*before, -6000.0]


def test_form_refuses_bad_amount_then_accepts(system) -> None:
    sender, payee = f"c-{uuid.uuid4()}", saved_payee(system)
    say(system, sender, "我要转账", login="demo-web-1")
    say(system, sender, payee, login="demo-web-1")
    assert "大于 0" in texts(say(system, sender, "0元", login="demo-web-1"))
    assert payee in texts(say(system, sender, "两百块", login="demo-web-1"))
    assert "取消" in texts(say(system, sender, "算了不转了", login="demo-web-1"))


def test_a_transfer_question_is_answered_without_verification(system) -> None:
    replies = texts(say(system, f"c-{uuid.uuid4()}", "跨行转账一般多久能到账"))
    assert message("verification", "needed") not in replies and "到账" in replies


def test_hostile_text_gets_a_polite_answer(system) -> None:
    replies = say(system, f"c-{uuid.uuid4()}", "<script>alert(1)</script>")
    assert replies and all(r.get("text") for r in replies)


def knowledge(reply: dict) -> dict:
    return reply.get("metadata", {}).get("knowledge_base", {})


def test_a_knowledge_question_is_answered_and_the_vote_is_kept(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    earlier = set(kb_votes(system))
    *_welcome, answer = say(system, sender, "新办的信用卡寄到家了，要怎么激活才能用")
    assert knowledge(answer)["outcome"] == "confident" and "激活" in knowledge(answer)["question"]
    unhelpful = next(b["payload"] for b in answer["buttons"] if b["title"] == "没用")
    [sorry] = say(system, sender, unhelpful)
    assert "抱歉" in sorry["text"] and sorry["buttons"][0]["payload"] == "/request_human"
    votes = [vote for vote in kb_votes(system) if vote not in earlier]
    assert votes == [(knowledge(answer)["article_id"], 0, votes[0][2])]
    assert sender not in votes[0][2]


def kb_votes(system: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Every vote kept so far (other tests and the simulator vote too); the table comes with the first."""
    with sqlite3.connect(system["data_dir"] / "kb_feedback.db") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'kb_feedback'").fetchone():
            return []
        return db.execute("SELECT article_id, helpful, conversation FROM kb_feedback").fetchall()


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
    sender = f"c-{uuid.uuid4()}"
    greeting = texts(say(system, sender, "你好", login="demo-web-1"))
    assert greeting.startswith("张先生，您好") and "贵宾" in greeting
    balance = texts(say(system, sender, "我卡里还有多少钱", login="demo-web-1"))
    assert "张先生" in balance and "****" in balance and "元" in balance
    assert message("verification", "needed") not in balance
    history = texts(say(system, sender, "帮我查下最近一周的交易明细", login="demo-web-1"))
    assert "张先生" in history and "交易" in history
    with sqlite3.connect(system["data_dir"] / "profile.db") as db:
        audited = db.execute("SELECT count(*) FROM audit_records WHERE customer_no = 'C000001'").fetchone()[0]
    assert audited >= 2


def latest_code(system: dict[str, Any], phone: str) -> str:
    """The code the development SMS sender wrote to the log for this phone (last four digits)."""
    log = Path(system["log"]).read_text(encoding="utf-8", errors="replace")
    return re.findall(rf"one-time code for phone ending {phone[-4:]}: (\d{{6}})", log)[-1]


def test_an_anonymous_customer_verifies_by_sms_and_gets_what_they_asked(system) -> None:
    sender, phone = f"c-{uuid.uuid4()}", "13900000003"
    asked = texts(say(system, sender, "帮我查下最近一周的交易明细"))
    assert message("verification", "needed") in asked and "手机号" in asked
    sent = texts(say(system, sender, f"我的手机号是 {phone}"))
    assert "139****0003" in sent and "验证码" in sent
    wrong = f"{(int(latest_code(system, phone)) + 1) % 1_000_000:06d}"
    assert "还可以再试 2 次" in texts(say(system, sender, wrong))
    done = texts(say(system, sender, latest_code(system, phone)))
    assert "刘先生，您好！身份验证成功" in done and "交易" in done
    balance = texts(say(system, sender, "那余额呢"))  # verified for the rest of the session
    assert "刘先生" in balance and "元" in balance
    log = Path(system["log"]).read_text(encoding="utf-8", errors="replace")
    stored = stored_values(system["data_dir"] / "tracker.db")
    assert phone not in log and phone not in stored and "139****0003" in stored


def test_a_number_that_is_no_customers_gets_the_same_answer_and_no_code(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    say(system, sender, "查余额")
    sent = texts(say(system, sender, "18800001111"))
    assert "188****1111" in sent and "验证码" in sent
    assert "ending 1111" not in Path(system["log"]).read_text(encoding="utf-8", errors="replace")
    assert "还可以再试 2 次" in texts(say(system, sender, "123456"))


def test_a_complaint_status_is_looked_up_and_a_new_complaint_filed(system) -> None:
    status = texts(say(system, f"c-{uuid.uuid4()}", "我的投诉处理到哪了", login="demo-web-4"))
    assert "业务编号 TS" in status and "解决时限" in status
    sender = f"c-{uuid.uuid4()}"
    filed = texts(say(system, sender, "我要投诉 你们网点的柜员态度太差了 排了两个小时队", login="demo-web-1"))
    if "业务编号 TS" not in filed:  # the category was not clear enough: it is asked with buttons
        filed = texts(say(system, sender, "服务质量", login="demo-web-1"))
    assert "您的投诉已受理" in filed and "1 小时内响应" in filed


def test_a_redemption_states_the_settlement_rule_and_is_submitted(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    product = say(system, sender, "我要赎回基金", login="demo-web-1")
    choice = next(b["payload"] for r in product for b in r.get("buttons", []))
    say(system, sender, choice, login="demo-web-1")
    confirm = texts(say(system, sender, "1000元", login="demo-web-1"))
    assert "到账" in confirm and "1,000.00" in confirm
    done = texts(say(system, sender, "确认", login="demo-web-1"))
    assert "您的赎回申请已提交" in done and "业务编号 SH" in done


def test_an_appointment_is_booked_with_a_matching_advisor(system) -> None:
    sender = f"c-{uuid.uuid4()}"
    say(system, sender, "我想预约理财经理聊聊基金配置", login="demo-web-1")
    say(system, sender, "下周二上午十点", login="demo-web-1")
    confirm = texts(say(system, sender, "朝阳门支行", login="demo-web-1"))
    assert "朝阳门支行" in confirm
    booked = texts(say(system, sender, "确认", login="demo-web-1"))
    assert "您的预约已成功" in booked and "业务编号 YY" in booked and "客户经理" in booked


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


@pytest.mark.stops_system
def test_ctrl_c_stops_every_process(system) -> None:
    process = system["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    for url in (f"{system['gateway']}/health", f"{system['rasa']}/", f"{system['actions']}/health"):
        assert not healthy(url), f"{url} still answers after Ctrl-C"
