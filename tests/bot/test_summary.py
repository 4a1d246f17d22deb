"""The handoff summary of scripted conversations: what the agent reads instead of asking again."""

from __future__ import annotations

import pytest

from bot.handoff.policy import EscalationPolicy
from bot.summary import CustomerFacts, mask_name, summarise

LABELS = {
    "transfer_money": "转账汇款",
    "fund_redemption": "基金赎回",
    "request_human": "人工客服",
    "greet": "问候",
}


def user(text: str, intent: str, sentiment: str = "neutral", entities: list | None = None) -> dict:
    parse = {
        "intent": {"name": intent},
        "entities": entities or [],
        "sentiment": {"label": sentiment, "score": 0.8},
    }
    return {"event": "user", "text": text, "parse_data": parse}


def bot(text: str, **metadata) -> dict:
    return {"event": "bot", "text": text, "metadata": metadata}


TRANSFER_THEN_HUMAN = [
    user("你好", "greet"),
    bot("您好！我是小星"),
    user("给李娜转6000", "transfer_money", entities=[{"entity": "payee", "value": "李娜"}]),
    {"event": "action", "name": "transfer_form"},
    {"event": "active_loop", "name": "transfer_form"},
    {"event": "slot", "name": "amount", "value": "6000"},
    {"event": "slot", "name": "payee", "value": "李娜"},
    bot("请输入短信验证码"),
    user("怎么又要验证码 烦死了", "transfer_money", "negative"),
    user("转人工", "request_human", "negative"),
    {"event": "action", "name": "action_handoff_to_human"},
]
ZHANG = CustomerFacts("张*", "贵宾", "平衡型", ("星海稳进年年盈（一年期）",), "李娜")


@pytest.fixture(scope="module")
def rules() -> EscalationPolicy:
    return EscalationPolicy.load()


def test_a_transfer_abandoned_for_a_person(rules) -> None:
    escalation = rules.for_reason("customer_request", topic="transfer_money")
    summary = summarise(TRANSFER_THEN_HUMAN, escalation, ZHANG, LABELS)
    assert summary.intents == ("转账汇款", "人工客服")  # greetings say nothing; repeats collapse
    assert summary.details == {"金额": "6000", "收款人": "李娜"}
    assert summary.forms == ("转账（进行中）",)
    assert summary.sentiment == ("中性", "中性", "负面", "负面")
    assert [t["who"] for t in summary.last_turns][-2:] == ["customer", "customer"]
    text = summary.text
    assert len(text) <= 200
    for expected in (
        "张*（贵宾，平衡型）",
        "客户要求人工服务",
        "P3",
        "转账汇款",
        "金额6000",
        "中性→中性→负面→负面",
    ):
        assert expected in text, text


def test_knowledge_base_answers_and_finished_forms_are_listed(rules) -> None:
    events = [
        user("赎回要几天到账", "fund_redemption"),
        bot(
            "开放式基金一般 T+1 至 T+4 到账",
            knowledge_base={
                "outcome": "confident",
                "article_id": "wealth-004",
                "question": "基金赎回多久到账？",
            },
        ),
        {"event": "active_loop", "name": "redemption_form"},
        {"event": "action", "name": "redemption_form"},
        {"event": "active_loop", "name": None},
        {"event": "active_loop", "name": "verification_form"},
        {"event": "action", "name": "action_deactivate_loop"},
        {"event": "active_loop", "name": None},
    ]
    summary = summarise(events, rules.for_reason("large_redemption"), ZHANG, LABELS)
    assert summary.kb_articles == ("wealth-004 基金赎回多久到账",)
    assert summary.forms == ("基金赎回（已完成）", "身份验证（已中断）")
    assert "基金赎回多久到账" in summary.text and "理财" in summary.text


def test_an_unverified_customer_and_the_structured_fields(rules) -> None:
    summary = summarise(
        [user("人工!!", "request_human", "negative")], rules.for_reason("fraud"), CustomerFacts(), LABELS
    )
    as_json = summary.as_dict()
    assert summary.text.startswith("未验证身份的客户因“疑似诈骗或盗刷”转人工（P1·反欺诈）")
    assert as_json["customer"] == {
        "name": None,
        "tier": None,
        "risk_level": None,
        "products": [],
        "advisor": None,
    }
    assert as_json["priority"] == "P1" and as_json["skill"] == "反欺诈" and as_json["reason_code"] == "fraud"
    assert as_json["next_step"].startswith("立即核实")
    assert as_json["last_turns"] == [{"who": "customer", "text": "人工!!"}]


def test_long_conversations_stay_within_200_characters_and_are_deterministic(rules) -> None:
    long_words = "我上个月在你们网点买的理财产品到现在都没有收益而且手续费也没有说清楚" * 3
    events = [
        user(long_words, "fund_redemption", "negative", [{"entity": "product", "value": long_words}])
    ] * 8
    escalation = rules.for_reason("negative_sentiment", topic="fund_redemption")
    first = summarise(events, escalation, ZHANG, LABELS)
    assert len(first.text) <= 200
    assert first == summarise(events, escalation, ZHANG, LABELS)
    assert "建议：" in first.text  # the next step survives; details are dropped first


def test_button_payloads_are_not_quoted_as_customer_words(rules) -> None:
    events = [user('/kb_feedback{"kb_article": "x", "kb_helpful": "no"}', "kb_feedback")]
    summary = summarise(events, rules.for_reason("customer_request"), CustomerFacts(), LABELS)
    assert summary.last_turns == ()


@pytest.mark.parametrize(
    ("name", "masked"), [("张伟", "张*"), ("王小明", "王**"), ("欧阳娜娜", "欧阳**"), ("李", "李*")]
)
def test_mask_name(name, masked) -> None:
    assert mask_name(name) == masked
