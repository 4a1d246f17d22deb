"""The escalation rules, table-driven: which turns hand over, why, how urgently, to which skill."""

from __future__ import annotations

import copy

import pytest
import yaml

from bot.handoff.policy import CONFIG, EscalationPolicy, PolicyConfigError, Turn, turns_since_handoff

NEUTRAL = Turn("check_balance")


def neg(intent: str | None = "payment_issue", score: float = 0.7) -> Turn:
    return Turn(intent, "negative", score)


@pytest.fixture(scope="module")
def rules() -> EscalationPolicy:
    return EscalationPolicy.load()


@pytest.mark.parametrize(
    ("turns", "tier", "expected"),
    [
        # explicit request: P3, skill from the topic of the conversation
        ([Turn("request_human")], None, ("customer_request", "P3", "general")),
        ([Turn("repayment"), Turn("request_human")], None, ("customer_request", "P3", "loans")),
        # fraud: immediate, top priority, fraud desk, whatever the topic
        ([Turn("wealth_product_inquiry"), Turn("fraud_report")], None, ("fraud", "P1", "fraud")),
        # a strongly negative turn at once
        ([neg(score=0.95)], None, ("strongly_negative", "P2", "cards")),
        # negative in 2 of the last 3 turns
        ([neg(), NEUTRAL, neg()], None, ("negative_sentiment", "P2", "cards")),
        ([neg("repayment"), neg("repayment")], None, ("negative_sentiment", "P2", "loans")),
        # private-banking client with a wealth or cross-border need goes to a person
        ([Turn("fund_redemption")], "private", ("private_banking", "P2", "wealth")),
        ([Turn("exchange_rate")], "private", ("private_banking", "P2", "tax_cross_border")),
        # fraud outranks an upset request for a person
        ([neg(), Turn("fraud_report", "negative", 0.97)], None, ("fraud", "P1", "fraud")),
    ],
)
def test_turns_that_hand_over(rules, turns, tier, expected) -> None:
    escalation = rules.on_turn(turns, tier)
    assert escalation is not None
    assert (escalation.reason, escalation.priority, escalation.skill) == expected


@pytest.mark.parametrize(
    ("turns", "tier"),
    [
        ([], None),
        ([NEUTRAL], None),
        ([neg()], None),  # one mildly negative turn is not enough
        ([neg(), NEUTRAL, NEUTRAL, neg()], None),  # 2 negative, but not within the last 3
        ([neg(), neg(), NEUTRAL], None),  # only the latest turn can trigger
        ([Turn("fund_redemption")], "vip"),  # wealth need, not private banking
        ([Turn("check_balance")], "private"),  # private banking, not a wealth topic
        # the complaint flow escalates itself once the ticket exists; buttons are not sentiment
        ([neg("complain", 0.99)], None),
        ([neg(), neg("rate_service", 0.99)], None),
        ([neg(), Turn("transfer_money", "negative", 0.8, active_loop="complaint_form")], None),
    ],
)
def test_turns_that_do_not(rules, turns, tier) -> None:
    assert rules.on_turn(turns, tier) is None


@pytest.mark.parametrize(
    ("reason", "topic", "expected"),
    [
        ("bot_failed", None, ("P3", "general")),
        ("bot_failed", "credit_limit", ("P3", "cards")),
        ("large_redemption", None, ("P2", "wealth")),
        ("complaint", "repayment", ("P2", "complaints")),
        ("kb_escalate", "exchange_rate", ("P3", "tax_cross_border")),
    ],
)
def test_reasons_named_by_actions(rules, reason, topic, expected) -> None:
    escalation = rules.for_reason(reason, topic=topic)
    assert (escalation.priority, escalation.skill) == expected
    assert escalation.label and escalation.skill_label


def user(intent: str, label: str = "neutral", score: float = 0.5) -> dict:
    return {
        "event": "user",
        "parse_data": {"intent": {"name": intent}, "sentiment": {"label": label, "score": score}},
    }


def test_turns_are_counted_only_since_the_last_handoff(rules) -> None:
    events = [
        user("payment_issue", "negative", 0.7),
        user("request_human"),
        {"event": "action", "name": "action_handoff_to_human"},
        {"event": "user", "parse_data": {"intent": {"name": None}}},  # said to the agent
        user("handoff_ended"),
        user("payment_issue", "negative", 0.7),
    ]
    turns = turns_since_handoff(events)
    assert turns == [Turn("payment_issue", "negative", 0.7)]
    assert rules.on_turn(turns) is None  # the negative turn before the handoff no longer counts


def test_turns_remember_the_active_form() -> None:
    events = [
        {"event": "active_loop", "name": "complaint_form"},
        user("inform"),
        {"event": "active_loop", "name": None},
    ]
    events.append(user("greet"))
    assert [t.active_loop for t in turns_since_handoff(events)] == ["complaint_form", None]


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("reasons", "fraud", "priority"), "P9", "reasons.fraud.priority"),
        (("reasons", "fraud", "skill"), "astrology", "unknown skill"),
        (("intents", "request_human"), "no_such_reason", "unknown reason"),
        (("topic_skills", "repayment"), "astrology", "topic_skills.repayment"),
        (("sentiment",), None, r"sentiment: missing"),
    ],
)
def test_malformed_config_is_refused_with_the_entry_named(path, value, complaint) -> None:
    config = copy.deepcopy(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PolicyConfigError, match=complaint):
        EscalationPolicy(config)


def test_unreadable_config_file(tmp_path) -> None:
    broken = tmp_path / "escalation.yml"
    broken.write_text("reasons: [", encoding="utf-8")
    with pytest.raises(PolicyConfigError, match=r"escalation\.yml"):
        EscalationPolicy.load(broken)
