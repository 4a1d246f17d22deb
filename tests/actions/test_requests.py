"""The gate in front of account requests: questions get answers, requests get verification first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages, policy
from actions.requests import ActionBeginRequest, is_request
from actions.services import KnowledgeBase
from tests.actions.conftest import make_tracker

NO_KNOWLEDGE_BASE = KnowledgeBase(None, "not loaded in this test")


def begin(text: str, intent: str, customer: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    metadata = {"customer_no": customer} if customer else {}
    latest = {"text": text, "intent": {"name": intent}, "entities": [], "metadata": metadata}
    dispatcher = CollectingDispatcher()
    action = ActionBeginRequest(lambda: NO_KNOWLEDGE_BASE)
    events = asyncio.run(action.run(dispatcher, make_tracker(latest_message=latest), {}))
    return events, [m["text"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("intent", "text", "wanted"),
    [
        ("transfer_money", "帮我给张伟转500", True),
        ("transfer_money", "转给李娜两千块", True),
        ("transfer_money", "我要转账", True),
        ("transfer_money", "转账", True),
        ("transfer_money", "跨行转账多久能到账", False),
        ("transfer_money", "转账失败了怎么回事", False),
        ("transfer_money", "手机银行转账限额是多少", False),
        ("fund_redemption", "帮我赎回两万", True),
        ("fund_redemption", "我要把中欧医疗健康全卖了 亏麻了", True),
        ("fund_redemption", "赎回2万到尾号6688的卡", True),
        ("fund_redemption", "赎回易方达蓝筹精选", True),
        ("fund_redemption", "全部赎回", True),
        ("fund_redemption", "赎回费多少", False),
        ("fund_redemption", "赎回后多久到账", False),
        ("fund_redemption", "赎回不了 提示在封闭期", False),
        ("fund_redemption", "赎回按钮是灰的 点不了", False),
        ("fund_redemption", "赎回申请提交了 还能撤吗", False),
        ("fixed_investment", "把红利低波的定投先停一下", True),
        ("fixed_investment", "恢复定投", True),
        ("fixed_investment", "定投怎么开通", False),
        ("check_balance", "余额多少", True),  # intents without questions of their own are requests
        ("complain", "你们这什么破服务", True),
    ],
)
def test_requests_are_told_from_questions(intent: str, text: str, wanted: bool) -> None:
    assert is_request(intent, text) is wanted


def test_a_question_is_answered_and_the_form_does_not_start() -> None:
    events, said = begin("跨行转账多久能到账", "transfer_money")
    assert said == [messages("topic_overview")["transfer_money"]]
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


@pytest.mark.parametrize(
    ("text", "intent", "resume"),
    [
        ("查余额", "check_balance", "action_check_balance"),
        ("帮我给张伟转500", "transfer_money", "transfer_form"),
        ("帮我赎回两万", "fund_redemption", "redemption_form"),
        ("暂停定投", "fixed_investment", "fixed_investment_form"),
    ],
)
def test_an_unverified_request_starts_verification_and_remembers_it(
    text: str, intent: str, resume: str
) -> None:
    events, said = begin(text, intent)
    assert said == [message("verification", "needed")]
    assert {"event": "slot", "name": "resume_action", "value": resume, "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "verification_form"
    assert policy("verification", "resume")[intent] == resume


def test_a_verified_customers_request_passes_straight_through() -> None:
    assert begin("帮我给张伟转500", "transfer_money", "C000001") == ([], [])
