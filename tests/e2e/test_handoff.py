"""Human handoff end to end, on the real system: a web chat customer (Socket.IO), agents on the
console API and its WebSocket, the Rasa tracker as the record.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.clients import WAIT, Agent, Customer, queued, until
from tests.e2e.conftest import TOKEN, say, texts
from tests.helpers import http

pytestmark = pytest.mark.e2e


def tracker_texts(system: dict[str, Any], conversation: str) -> list[str]:
    status, tracker = http("GET", f"{system['rasa']}/conversations/{conversation}/tracker?token={TOKEN}")
    assert status == 200
    return [e.get("text") or "" for e in tracker["events"] if e["event"] in ("user", "bot")]


def test_escalate_claim_reply_hand_back(system) -> None:
    asyncio.run(_escalate_claim_reply_hand_back(system))


async def _escalate_claim_reply_hand_back(system: dict[str, Any]) -> None:
    zhao = Agent(system["gateway"], "XH1001")  # cards and complaints
    qian = Agent(system["gateway"], "XH1002")
    conversation = f"web-{uuid.uuid4().hex}"
    customer = Customer(system["gateway"])
    async with zhao.live() as console:
        await customer.start(conversation)
        await customer.say("信用卡额度能提高吗")
        await customer.next("")
        started = time.monotonic()
        await customer.say("人工!!")
        notice = await customer.next("排在第")
        assert [r["title"] for r in notice["quick_replies"]] == ["取消排队，返回智能助手"]
        await until(console, queued(conversation))
        print(f"\nescalation → agent queue (WebSocket): {1000 * (time.monotonic() - started):.0f} ms")

        status, body = zhao.call("GET", "/queue")
        item = next(i for i in body["items"] if i["conversation_id"] == conversation)
        assert (item["channel"], item["priority"], item["reason"]) == ("socketio", "P3", "customer_request")
        assert item["skill"] == "cards" and item["waiting_since"]
        summary = item["summary"]
        assert "客户要求人工服务" in summary["text"] and len(summary["text"]) <= 200
        assert summary["last_turns"][0]["text"] == "信用卡额度能提高吗"
        assert {"customer", "wants", "tried", "sentiment", "next_step"} <= summary.keys()

        assert zhao.call("POST", f"/conversations/{conversation}/claim")[0] == 200
        assert qian.call("POST", f"/conversations/{conversation}/claim")[0] == 409
        await customer.next("赵敏已接入")
        assert (
            zhao.call("POST", f"/conversations/{conversation}/messages", {"text": "您好，我来帮您申请提额"})[
                0
            ]
            == 200
        )
        await customer.next("我来帮您申请提额")

        await customer.say("好的，卡号尾号是 6228")
        turn = await until(console, lambda e: e["type"] == "turn" and e["conversation_id"] == conversation)
        assert "尾号" in turn["turn"]["text"]
        assert await customer.silence(3) == []  # the bot stays silent while a person owns it

        assert zhao.call("POST", f"/conversations/{conversation}/handback")[0] == 200
        back = await customer.next("转回智能助手")
        assert back["quick_replies"][0]["payload"] == '/rate_service{"rating": "5"}'
        await customer.say("5")
        await customer.next("感谢您的评价")
        await customer.say("信用卡年费怎么收")
        await customer.next("年费")
        await customer.client.disconnect()

    status, body = zhao.call("GET", f"/conversations/{conversation}")
    assert body["conversation"]["status"] == "handed_back" and body["conversation"]["rating"] == 5
    assert [t["who"] for t in body["transcript"]][:3] == ["system", "agent", "customer"]
    history = tracker_texts(system, conversation)
    for said in ("人工!!", "您好，我来帮您申请提额", "好的，卡号尾号是 6228", "信用卡年费怎么收"):
        assert said in history  # the tracker keeps the whole conversation, the human part included
    status, body = zhao.call("POST", f"/conversations/{conversation}/messages", {"text": "还在吗"})
    assert status == 409 and body["message"]


def test_fraud_goes_first_and_the_agent_sees_a_customer_leave(system) -> None:
    asyncio.run(_fraud_and_disconnect(system))


async def _fraud_and_disconnect(system: dict[str, Any]) -> None:
    sun = Agent(system["gateway"], "XH1003")  # cards and fraud
    conversation = f"web-{uuid.uuid4().hex}"
    customer = Customer(system["gateway"])
    async with sun.live() as console:
        await customer.start(conversation)
        await customer.say("有人自称公安让我把钱转到安全账户，我已经转了5000")
        advice = await customer.next("不要再向对方转账")
        assert "110" in advice["text"]
        await customer.next("反欺诈")
        event = await until(console, queued(conversation))
        assert event["items"][0]["conversation_id"] == conversation  # P1 heads the queue
        assert event["items"][0]["priority"] == "P1" and event["items"][0]["skill"] == "fraud"
        assert sun.call("POST", f"/conversations/{conversation}/claim")[0] == 200
        await customer.client.disconnect()
        await until(console, lambda e: e["type"] == "customer_left" and e["conversation_id"] == conversation)
    _, body = sun.call("GET", f"/conversations/{conversation}")
    assert body["conversation"]["customer_present"] is False
    assert "客户已离开" in body["transcript"][-1]["text"]
    assert sun.call("POST", f"/conversations/{conversation}/close", {"disposition": "resolved"})[0] == 200


def test_no_agent_with_the_skill_offers_a_callback(system) -> None:
    conversation = f"rest-{uuid.uuid4().hex}"
    say(system, conversation, "现在美元汇率多少")
    offer = say(system, conversation, "转人工")
    assert "登记回电" in [b["title"] for b in offer[-1].get("buttons", [])], offer
    booked = texts(say(system, conversation, "/request_callback"))
    assert "已为您登记回电" in booked
    assert "年费" in texts(say(system, conversation, "信用卡年费怎么收"))  # the bot serves meanwhile
    chen = Agent(system["gateway"], "XH2002")  # wealth and tax/cross-border advisor
    _, body = chen.call("GET", "/queue")
    item = next(i for i in body["items"] if i["conversation_id"] == conversation)
    assert (item["status"], item["skill"]) == ("callback", "tax_cross_border")


def test_a_queued_customer_can_cancel_and_return_to_the_bot(system) -> None:
    conversation = f"rest-{uuid.uuid4().hex}"
    say(system, conversation, "转人工")
    assert "取消人工排队" in texts(say(system, conversation, "不等了"))
    assert "年费" in texts(say(system, conversation, "信用卡年费怎么收"))


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc", "Bearer "])
def test_agent_api_refuses_without_a_valid_token(system, header) -> None:
    headers = {"Authorization": header} if header else {}
    status, body = http("GET", f"{system['gateway']}/agent/api/queue", headers=headers)
    assert status == 401 and body["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"staff_no": "XH1001", "password": "wrong"},
        {"staff_no": "XH1001"},
        [],
        {"staff_no": 1, "password": "x"},
    ],
)
def test_agent_login_refuses_bad_credentials(system, body) -> None:
    status, answer = http("POST", f"{system['gateway']}/agent/api/login", body)
    assert status in (400, 401) and answer["message"]


def test_knowledge_base_quick_insert(system) -> None:
    zhao = Agent(system["gateway"], "XH1001")
    status, body = zhao.call("GET", "/kb?q=" + quote("信用卡年费怎么收"))
    assert status == 200 and "年费" in body["articles"][0]["answer"]
    assert zhao.call("GET", "/kb?q=")[1] == {"articles": []}


def test_agent_api_bad_requests(system) -> None:
    zhao = Agent(system["gateway"], "XH1001")
    assert zhao.call("POST", "/conversations/nobody/claim")[0] == 404
    assert zhao.call("POST", "/conversations/nobody/messages", {"text": ""})[0] == 400
    assert zhao.call("POST", "/conversations/nobody/messages", {"text": "x" * 3000})[0] == 400
    assert zhao.call("POST", "/conversations/nobody/transfer", {"skill": "astrology"})[0] == 400
    assert zhao.call("POST", "/conversations/nobody/close", {"disposition": "whatever"})[0] == 400


def test_a_private_banking_client_with_a_wealth_need_goes_to_an_advisor(system) -> None:
    conversation = f"rest-{uuid.uuid4().hex}"
    replies = texts(say(system, conversation, "我想赎回一部分基金", login="demo-web-2"))  # 王芳, 私人银行
    assert "理财方向的人工客服" in replies, replies
    supervisor, advisor = Agent(system["gateway"], "XH3001"), Agent(system["gateway"], "XH2002")
    _, body = supervisor.call("GET", f"/conversations/{conversation}")
    item = body["conversation"]
    assert (item["reason"], item["priority"], item["skill"]) == ("private_banking", "P2", "wealth")
    customer = item["summary"]["customer"]
    assert (customer["name"], customer["tier"], customer["advisor"]) == ("王*", "私人银行", "林峰")
    assert customer["risk_level"] == "进取型" and customer["products"]
    # the profile panel follows the role: a supervisor sees everything, another advisor's client only
    # shows contact details to an advisor
    _, full = supervisor.call("GET", f"/conversations/{conversation}/customer")
    assert full["hidden"] == [] and "账户与余额" in [s["title"] for s in full["sections"]]
    _, limited = advisor.call("GET", f"/conversations/{conversation}/customer")
    assert [s["title"] for s in limited["sections"]] == ["基本信息"]
    assert "账户与余额" in limited["hidden"] and "理财持仓" in limited["hidden"]
    assert "王*" in json.dumps(limited, ensure_ascii=False) and "王芳" not in json.dumps(
        limited, ensure_ascii=False
    )


def test_an_upset_customer_is_handed_over(system) -> None:
    conversation = f"rest-{uuid.uuid4().hex}"
    said = [
        texts(say(system, conversation, text)) for text in ("还款又失败了，搞什么", "扣了我两次钱 烦死了")
    ]
    assert any("人工客服" in reply and "转接" in reply for reply in said), said
    _, body = Agent(system["gateway"], "XH3001").call("GET", f"/conversations/{conversation}")
    assert body["conversation"]["reason"] in ("strongly_negative", "negative_sentiment")
    assert "负面" in body["conversation"]["summary"]["sentiment"]


def test_a_resent_web_chat_message_is_answered_once(system) -> None:
    asyncio.run(_resent_once(system))


async def _resent_once(system: dict[str, Any]) -> None:
    customer = Customer(system["gateway"])
    await customer.start(f"web-{uuid.uuid4().hex}")
    message = {"message": "信用卡年费怎么收", "message_id": "m-1", "session_id": customer.session}
    first = await customer.client.call("user_uttered", message, timeout=WAIT)
    again = await customer.client.call("user_uttered", message, timeout=WAIT)  # after a dropped connection
    assert first == {"ok": True} and again == {"ok": True, "duplicate": True}
    await customer.next("年费")
    assert [r for r in await customer.silence(2) if "年费" in r.get("text", "")] == []
    await customer.client.disconnect()
