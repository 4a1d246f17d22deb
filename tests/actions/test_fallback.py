import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionHandleLowConfidence, likely_topics, low_confidence_streak
from actions.services import KnowledgeBase
from knowledge_base.search import Retriever
from tests.actions.conftest import make_tracker


def no_knowledge_base() -> KnowledgeBase:
    return KnowledgeBase(None, "not loaded in this test")


def user(intent: str) -> dict:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


RANKING = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "repayment", "confidence": 0.30},
    {"name": "greet", "confidence": 0.10},
    {"name": "bill_inquiry", "confidence": 0.08},
    {"name": "credit_limit", "confidence": 0.05},
    {"name": "loan_application", "confidence": 0.02},
]


def test_streak_counts_consecutive_low_confidence_turns() -> None:
    first = [user("greet"), action("utter_greet"), user("nlu_fallback")]
    assert low_confidence_streak(first) == 1
    second = [*first, action("action_handle_low_confidence"), action("action_listen"), user("nlu_fallback")]
    assert low_confidence_streak(second) == 2
    broken = [
        *second,
        action("action_handle_low_confidence"),
        user("greet"),
        action("utter_greet"),
        user("nlu_fallback"),
    ]
    assert low_confidence_streak(broken) == 1


def test_likely_topics_skip_chitchat_and_fallback() -> None:
    assert likely_topics(RANKING) == ["repayment", "bill_inquiry", "credit_limit"]


def test_first_low_confidence_turn_offers_choices(domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(latest_message={"intent_ranking": RANKING}, events=[user("nlu_fallback")])
    asyncio.run(ActionHandleLowConfidence(no_knowledge_base).run(dispatcher, tracker, domain))
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/repayment", "/bill_inquiry", "/credit_limit"]
    assert [b["title"] for b in buttons] == ["还款", "账单查询", "额度"]


def test_second_low_confidence_turn_hands_over_to_a_person(domain) -> None:
    dispatcher = CollectingDispatcher()
    events = [user("nlu_fallback"), action("action_handle_low_confidence"), user("nlu_fallback")]
    tracker = make_tracker(latest_message={"intent_ranking": RANKING}, events=events)
    result = asyncio.run(ActionHandleLowConfidence(no_knowledge_base).run(dispatcher, tracker, domain))
    assert "人工" in dispatcher.messages[0]["text"]
    assert [(e["event"], e.get("value") or e["name"]) for e in result] == [
        ("slot", "bot_failed"),
        ("followup", "action_handoff_to_human"),
    ]


def test_no_business_topic_asks_to_rephrase(domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        latest_message={"intent_ranking": [{"name": "greet", "confidence": 0.4}]},
        events=[user("nlu_fallback")],
    )
    asyncio.run(ActionHandleLowConfidence(no_knowledge_base).run(dispatcher, tracker, domain))
    assert "换个说法" in dispatcher.messages[0]["text"]
    assert not dispatcher.messages[0].get("buttons")


def bot_answer(outcome: str) -> dict:
    return {"event": "bot", "text": "…", "metadata": {"knowledge_base": {"outcome": outcome}}}


def test_a_turn_answered_from_the_knowledge_base_breaks_the_streak() -> None:
    answered = [user("nlu_fallback"), action("action_handle_low_confidence"), bot_answer("confident")]
    assert low_confidence_streak([*answered, user("nlu_fallback")]) == 1
    suggested = [user("nlu_fallback"), action("action_handle_low_confidence"), bot_answer("ambiguous")]
    assert low_confidence_streak([*suggested, user("nlu_fallback")]) == 2


def test_the_knowledge_base_answers_first_when_nlu_is_unsure(domain, kb_retriever: Retriever) -> None:
    dispatcher = CollectingDispatcher()
    latest = {"text": "提前把定期取出来利息会怎么算", "intent_ranking": RANKING}
    tracker = make_tracker(latest_message=latest, events=[user("nlu_fallback")])
    action = ActionHandleLowConfidence(lambda: KnowledgeBase(kb_retriever))
    asyncio.run(action.run(dispatcher, tracker, domain))
    [reply] = dispatcher.messages
    assert reply["knowledge_base"]["outcome"] == "confident"
    assert reply["text"] == kb_retriever.index.articles[reply["knowledge_base"]["article_id"]].answer


def test_off_topic_text_still_gets_topic_buttons(domain, kb_retriever: Retriever) -> None:
    dispatcher = CollectingDispatcher()
    latest = {"text": "帮我订一张去上海的机票", "intent_ranking": RANKING}
    tracker = make_tracker(latest_message=latest, events=[user("nlu_fallback")])
    asyncio.run(
        ActionHandleLowConfidence(lambda: KnowledgeBase(kb_retriever)).run(dispatcher, tracker, domain)
    )
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        "/repayment",
        "/bill_inquiry",
        "/credit_limit",
    ]
