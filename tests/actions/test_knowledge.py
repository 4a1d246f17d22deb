"""Knowledge-base actions against the shipped knowledge base (real index, model and SQLite votes)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages, policy
from actions.knowledge import (
    ActionRecordKbFeedback,
    ActionSearchKnowledgeBase,
    consult,
    payload,
)
from actions.services import KnowledgeBase
from knowledge_base.feedback import FeedbackStore
from knowledge_base.search import Retriever
from tests.actions.conftest import make_tracker

UNAVAILABLE = KnowledgeBase(None, "no index in this test")


def run_search(retriever: Retriever | None, text: str, intent: str, entities: list | None = None) -> dict:
    knowledge = KnowledgeBase(retriever) if retriever else UNAVAILABLE
    dispatcher = CollectingDispatcher()
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or []}
    asyncio.run(
        ActionSearchKnowledgeBase(lambda: knowledge).run(dispatcher, make_tracker(latest_message=latest), {})
    )
    [reply] = dispatcher.messages
    return reply


def parse_payload(text: str) -> tuple[str, dict[str, Any]]:
    intent, entities = re.fullmatch(r"/(\w+)(\{.*\})", text).groups()
    return intent, json.loads(entities)


def test_a_clear_question_gets_the_article_with_vote_buttons(kb_retriever: Retriever) -> None:
    reply = run_search(kb_retriever, "新办的信用卡寄到了，怎么激活", "card_service")
    details = reply["knowledge_base"]
    assert details["outcome"] == "confident"
    article = kb_retriever.index.articles[details["article_id"]]
    assert reply["text"] == article.answer and "激活" in article.question
    votes = [parse_payload(b["payload"]) for b in reply["buttons"]]
    assert votes == [
        ("kb_feedback", {"kb_article": details["article_id"], "kb_helpful": "yes"}),
        ("kb_feedback", {"kb_article": details["article_id"], "kb_helpful": "no"}),
    ]


def test_a_vague_question_offers_articles_to_choose_and_a_person(kb_retriever: Retriever) -> None:
    reply = run_search(kb_retriever, "还款", "repayment")
    assert reply["knowledge_base"]["outcome"] == "ambiguous"
    *choices, way_out = reply["buttons"]
    assert 2 <= len(choices) <= 3 and way_out["payload"] == "/request_human"
    chosen = [parse_payload(b["payload"]) for b in choices]
    assert [intent for intent, _ in chosen] == ["kb_choose_article"] * len(choices)
    ids = [entities["kb_article"] for _, entities in chosen]
    assert ids == reply["knowledge_base"]["suggestions"]
    assert [b["title"] for b in choices] == [kb_retriever.index.articles[i].question for i in ids]


def test_picking_a_suggestion_shows_that_article(kb_retriever: Retriever) -> None:
    article_id = kb_retriever.index.article_ids[5]
    entities = [{"entity": "kb_article", "value": article_id}]
    reply = run_search(
        kb_retriever, payload("kb_choose_article", kb_article=article_id), "kb_choose_article", entities
    )
    assert reply["text"] == kb_retriever.index.articles[article_id].answer
    assert reply["knowledge_base"] == {
        "outcome": "chosen",
        "article_id": article_id,
        "question": kb_retriever.index.articles[article_id].question,
    }


@pytest.mark.parametrize("article_id", ["no-such-article", None])
def test_a_removed_or_missing_article_is_explained(kb_retriever: Retriever, article_id: str | None) -> None:
    entities = [{"entity": "kb_article", "value": article_id}] if article_id else []
    reply = run_search(kb_retriever, "/kb_choose_article", "kb_choose_article", entities)
    assert reply["text"] == message("knowledge", "unknown_article")


@pytest.mark.parametrize(
    "text",
    [
        "今天天气怎么样",
        "how do I activate my card",
        "<script>alert('x')</script>",
        "'; DROP TABLE articles;--",
        "😀😀😀",
    ],
)
def test_unrelated_or_hostile_text_gets_the_topic_overview(kb_retriever: Retriever, text: str) -> None:
    reply = run_search(kb_retriever, text, "card_service")
    assert reply["text"] == messages("topic_overview")["card_service"]
    assert reply["knowledge_base"]["outcome"] == "none"


def test_without_a_topic_overview_the_customer_is_offered_a_person(kb_retriever: Retriever) -> None:
    reply = run_search(kb_retriever, "今天天气怎么样", "nlu_fallback")
    assert reply["text"] == message("knowledge", "not_found")
    assert reply["buttons"][0]["payload"] == "/request_human"


def test_an_unavailable_knowledge_base_falls_back_to_the_overview() -> None:
    reply = run_search(None, "信用卡怎么激活", "card_service")
    assert reply["text"] == messages("topic_overview")["card_service"]


def test_an_escalated_topic_is_answered_then_handed_to_a_person(kb_retriever: Retriever) -> None:
    escalated = next(i for i, a in kb_retriever.index.articles.items() if a.escalate)
    latest = {
        "text": "",
        "intent": {"name": "kb_choose_article"},
        "entities": [{"entity": "kb_article", "value": escalated}],
    }
    dispatcher = CollectingDispatcher()
    action = ActionSearchKnowledgeBase(lambda: KnowledgeBase(kb_retriever))
    events = asyncio.run(action.run(dispatcher, make_tracker(latest_message=latest), {}))
    [reply] = dispatcher.messages
    assert reply["text"] == kb_retriever.index.articles[escalated].answer
    assert [(e["event"], e.get("value") or e["name"]) for e in events] == [
        ("slot", "kb_escalate"),
        ("followup", "action_handoff_to_human"),
    ]


def test_an_ordinary_answer_does_not_hand_over(kb_retriever: Retriever) -> None:
    ordinary = next(i for i, a in kb_retriever.index.articles.items() if not a.escalate)
    latest = {
        "text": "",
        "intent": {"name": "kb_choose_article"},
        "entities": [{"entity": "kb_article", "value": ordinary}],
    }
    action = ActionSearchKnowledgeBase(lambda: KnowledgeBase(kb_retriever))
    assert asyncio.run(action.run(CollectingDispatcher(), make_tracker(latest_message=latest), {})) == []


def test_a_wrong_nlu_topic_does_not_hide_a_clear_answer(kb_retriever: Retriever) -> None:
    overall = kb_retriever.answer("新办的信用卡寄到了，怎么激活")
    assert consult(kb_retriever, "新办的信用卡寄到了，怎么激活", "loan_application") == overall


@pytest.mark.parametrize("query", ["转账要收费吗", "卡不用了怎么注销", "理财没到期能提前赎回吗", "密码忘了"])
@pytest.mark.parametrize(
    "intent", ["interest_and_fees", "close_account", "fund_redemption", "account_access"]
)
def test_an_answer_is_either_the_overall_one_or_from_the_nlu_topic(
    kb_retriever: Retriever, query: str, intent: str
) -> None:
    answer = consult(kb_retriever, query, intent)
    if answer.outcome == "confident":
        in_topic = kb_retriever.index.articles[answer.article_id].category == intent
        assert in_topic or answer == kb_retriever.answer(query)
    else:
        assert answer == kb_retriever.answer(query)


# ----------------------------------------------------------------------------- votes


def run_vote(store: FeedbackStore, knowledge: KnowledgeBase, entities: dict[str, str]) -> dict:
    dispatcher = CollectingDispatcher()
    latest = {
        "text": payload("kb_feedback", **entities),
        "intent": {"name": "kb_feedback"},
        "entities": [{"entity": k, "value": v} for k, v in entities.items()],
    }
    action = ActionRecordKbFeedback(lambda: store, lambda: knowledge)
    asyncio.run(action.run(dispatcher, make_tracker(latest_message=latest), {}))
    [reply] = dispatcher.messages
    return reply


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'votes.db'}", b"k" * 32)


def test_votes_are_recorded_per_article(kb_retriever: Retriever, store: FeedbackStore) -> None:
    knowledge = KnowledgeBase(kb_retriever)
    article_id = kb_retriever.index.article_ids[0]
    thanks = run_vote(store, knowledge, {"kb_article": article_id, "kb_helpful": "yes"})
    assert thanks["text"] == message("knowledge", "thanks_helpful")
    sorry = run_vote(store, knowledge, {"kb_article": kb_retriever.index.article_ids[1], "kb_helpful": "no"})
    assert sorry["text"] == message("knowledge", "sorry_unhelpful")
    assert sorry["buttons"][0]["payload"] == "/request_human"
    counts = {v.article_id: (v.helpful, v.unhelpful) for v in store.summary()}
    assert counts == {article_id: (1, 0), kb_retriever.index.article_ids[1]: (0, 1)}


@pytest.mark.parametrize(
    "entities",
    [
        {"kb_article": "no-such-article", "kb_helpful": "yes"},
        {"kb_article": "cards-003", "kb_helpful": "maybe"},
        {"kb_helpful": "yes"},
        {"kb_article": "<script>", "kb_helpful": "no"},
    ],
)
def test_malformed_votes_are_refused_and_not_stored(
    kb_retriever: Retriever, store: FeedbackStore, entities: dict[str, str]
) -> None:
    reply = run_vote(store, KnowledgeBase(kb_retriever), entities)
    assert reply["text"] == message("knowledge", "feedback_invalid")
    assert store.summary() == []


def fee_question(retriever: Retriever, customer: str | None, service) -> dict:
    dispatcher = CollectingDispatcher()
    metadata = {"customer_no": customer} if customer else {}
    latest = {
        "text": "借记卡年费怎么收",
        "intent": {"name": "interest_and_fees"},
        "entities": [],
        "metadata": metadata,
    }
    action = ActionSearchKnowledgeBase(lambda: KnowledgeBase(retriever), lambda: service)
    asyncio.run(action.run(dispatcher, make_tracker(latest_message=latest), {}))
    [reply] = dispatcher.messages
    return reply


@pytest.mark.parametrize(("customer", "tier"), [("C000001", "vip"), ("C000002", "private")])
def test_a_verified_customer_gets_their_tiers_fee_terms(
    kb_retriever: Retriever, service, customer, tier
) -> None:
    reply = fee_question(kb_retriever, customer, service)
    article = kb_retriever.index.articles[reply["knowledge_base"]["article_id"]]
    assert article.category == "interest_and_fees" and reply["text"].startswith(article.answer)
    assert policy("tiers", tier)["fee_terms"] in reply["text"]


def test_an_anonymous_customer_gets_the_plain_fee_answer(kb_retriever: Retriever, service) -> None:
    reply = fee_question(kb_retriever, None, service)
    article = kb_retriever.index.articles[reply["knowledge_base"]["article_id"]]
    assert reply["text"] == article.answer
