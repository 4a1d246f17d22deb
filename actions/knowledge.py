"""Answers from the knowledge base, and customers' votes on them.

``action_search_knowledge_base`` answers informational questions (rules in data/rules/answers.yml)
and is consulted first when NLU is unsure (actions/fallback.py). Three outcomes, decided by
``knowledge_base.search`` with the calibrated thresholds of knowledge_base/retrieval.yml:

* confident: the article's answer, with "有用 / 没用" buttons; an article marked ``escalate`` is
  followed by a handoff to a person (actions/handoff.py);
* ambiguous: the 2-3 closest articles' questions as buttons to pick from;
* none: the topic's overview (actions/messages.yml) or an honest "not found" with a human.

Every reply carries ``knowledge_base`` metadata (outcome, article id) that bot/channels.py passes
on to the customer's client and that stays in the tracker for agents and analytics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages
from actions.customer import Lookup
from actions.handoff import hand_over
from actions.personal import FEE_CATEGORY, fee_note
from actions.services import KnowledgeBase, feedback_store, knowledge_base, profile_service
from actions.session import channel_of, verified_customer
from bot.metrics import timed
from bot.profile.errors import ProfileError
from bot.profile.service import ProfileService
from knowledge_base.articles import Article
from knowledge_base.feedback import FeedbackStore
from knowledge_base.search import Answer, Retriever
from knowledge_base.vocabulary import ANSWERED, ARTICLE_ENTITY, CHOOSE_INTENT, FEEDBACK_INTENT, VOTE_ENTITY

logger = logging.getLogger(__name__)
FEE_PURPOSE = "按客户等级说明收费标准"
SEARCH_ACTION = "action_search_knowledge_base"
VOTES = {"yes": True, "no": False}
HUMAN_PAYLOAD = "/request_human"
ARTICLE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Reply:
    """One bot message: text, buttons, and the metadata that says where the text came from."""

    text: str
    outcome: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def send(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(
            text=self.text, buttons=self.buttons, knowledge_base={"outcome": self.outcome, **self.details}
        )


def payload(intent: str, **entities: str) -> str:
    """A button payload that bypasses NLU: ``/intent{"entity": "value"}``."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


def human_button(key: str = "human_button") -> dict[str, str]:
    return {"title": message("knowledge", key), "payload": HUMAN_PAYLOAD}


def article_reply(retriever: Retriever, article_id: str, outcome: str) -> Reply:
    """The article's answer with vote buttons."""
    article = retriever.index.articles[article_id]
    buttons = [
        {"title": message("knowledge", "helpful_button"), "payload": vote(article_id, "yes")},
        {"title": message("knowledge", "unhelpful_button"), "payload": vote(article_id, "no")},
    ]
    return Reply(article.answer, outcome, buttons, {"article_id": article_id, "question": article.question})


def vote(article_id: str, value: str) -> str:
    return payload(FEEDBACK_INTENT, **{ARTICLE_ENTITY: article_id, VOTE_ENTITY: value})


def suggestions_reply(answer: Answer) -> Reply:
    """The closest articles' questions to pick from, and a way out to a person."""
    buttons = [
        {"title": s.question, "payload": payload(CHOOSE_INTENT, **{ARTICLE_ENTITY: s.id})}
        for s in answer.suggestions
    ]
    buttons.append(human_button("none_of_these_button"))
    ids = [s.id for s in answer.suggestions]
    return Reply(message("knowledge", "choose_article"), "ambiguous", buttons, {"suggestions": ids})


def consult(retriever: Retriever, query: str, intent: str | None) -> Answer:
    """Search within the NLU intent's category first; an answer it is confident about wins.

    Otherwise the whole knowledge base decides: NLU may have picked the wrong topic, and an
    article that is only a close second inside the category can be clearly first overall.
    """
    if intent in retriever.categories:
        return retriever.answer(query, intent, widen=True)
    return retriever.answer(query)


def search_reply(knowledge: KnowledgeBase, query: str, intent: str | None) -> Reply | None:
    """The knowledge base's reply to ``query``; None when it has nothing to offer."""
    if knowledge.retriever is None:
        return None
    with timed("kb_search"):
        answer = consult(knowledge.retriever, query, intent)
    if answer.outcome == "confident":
        return article_reply(knowledge.retriever, answer.article_id, "confident")
    if answer.outcome == "ambiguous":
        return suggestions_reply(answer)
    return None


def overview_reply(intent: str | None) -> Reply:
    """The topic's overview when there is one, else an honest "not found" with a human."""
    overviews = messages("topic_overview")
    if intent in overviews:
        return Reply(overviews[intent], "none", details={"topic": intent})
    return Reply(message("knowledge", "not_found"), "none", [human_button()])


def chosen_reply(knowledge: KnowledgeBase, article_id: str | None) -> Reply:
    """The article a customer picked from suggestions (it may have been removed since)."""
    retriever = knowledge.retriever
    if retriever is None or article_id not in retriever.index.articles:
        return Reply(message("knowledge", "unknown_article"), "none")
    return article_reply(retriever, article_id, "chosen")


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return value if isinstance(value, str) else None


def answered_article(knowledge: KnowledgeBase, reply: Reply) -> Article | None:
    """The article a reply gave the customer; None for suggestions, overviews and "not found"."""
    article_id = reply.details.get("article_id")
    if reply.outcome not in ANSWERED or knowledge.retriever is None or article_id is None:
        return None
    return knowledge.retriever.index.articles[article_id]


def is_fee_answer(knowledge: KnowledgeBase, reply: Reply) -> bool:
    article = answered_article(knowledge, reply)
    return article is not None and article.category == FEE_CATEGORY


def with_tier_terms(reply: Reply, profiles: ProfileService, customer_no: str) -> Reply:
    """A fee answer followed by what the customer's own tier pays (unchanged if the store cannot say)."""
    try:
        note = fee_note(Lookup(profiles, customer_no, FEE_PURPOSE))
    except ProfileError as error:
        logger.warning("fee answer without the tier terms: %s", type(error).__name__)
        return reply
    return replace(reply, text=f"{reply.text}\n\n{note}")


class ActionSearchKnowledgeBase(Action):
    def __init__(
        self,
        knowledge: Callable[[], KnowledgeBase] = knowledge_base,
        profiles: Callable[[], ProfileService] = profile_service,
    ) -> None:
        self.knowledge, self.profiles = knowledge, profiles

    def name(self) -> str:
        return SEARCH_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message
        intent = (latest.get("intent") or {}).get("name")
        if intent == CHOOSE_INTENT:
            reply = chosen_reply(self.knowledge(), entity(tracker, ARTICLE_ENTITY))
        else:
            query = latest.get("text") or ""
            reply = search_reply(self.knowledge(), query, intent) or overview_reply(intent)
        customer = verified_customer(tracker)
        if customer and is_fee_answer(self.knowledge(), reply):
            reply = await asyncio.to_thread(with_tier_terms, reply, self.profiles(), customer)
        reply.send(dispatcher)
        return hand_over("kb_escalate") if needs_person(self.knowledge(), reply) else []


def needs_person(knowledge: KnowledgeBase, reply: Reply) -> bool:
    """An answer from an article marked ``escalate``: a person takes over after it."""
    article = answered_article(knowledge, reply)
    return article is not None and article.escalate


class ActionRecordKbFeedback(Action):
    """Stores a "有用 / 没用" vote for the article it was given on."""

    def __init__(
        self,
        store: Callable[[], FeedbackStore] = feedback_store,
        knowledge: Callable[[], KnowledgeBase] = knowledge_base,
    ) -> None:
        self.store = store
        self.knowledge = knowledge

    def name(self) -> str:
        return "action_record_kb_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        article_id, value = entity(tracker, ARTICLE_ENTITY), entity(tracker, VOTE_ENTITY)
        if value not in VOTES or not self.known_article(article_id):
            dispatcher.utter_message(text=message("knowledge", "feedback_invalid"))
            return []
        self.store().record(article_id, VOTES[value], tracker.sender_id, channel_of(tracker) or "unknown")
        if VOTES[value]:
            dispatcher.utter_message(text=message("knowledge", "thanks_helpful"))
        else:
            dispatcher.utter_message(text=message("knowledge", "sorry_unhelpful"), buttons=[human_button()])
        return []

    def known_article(self, article_id: str | None) -> bool:
        """An article of the loaded knowledge base (any well-formed id while it is unavailable)."""
        if article_id is None or not ARTICLE_ID.match(article_id):
            return False
        retriever = self.knowledge().retriever
        return retriever is None or article_id in retriever.index.articles
