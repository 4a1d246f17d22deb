"""Low NLU confidence: try the knowledge base, else offer the likeliest topics; a person the second time.

Customers often ask things NLU has no intent for but the knowledge base answers (提前还款有手续费吗),
so the knowledge base gets the first word. A turn counts towards the "second time" only when the
customer got no answer (suggestions and topic buttons are not answers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages
from actions.handoff import hand_over
from actions.knowledge import search_reply
from actions.services import KnowledgeBase, knowledge_base
from bot.handoff.policy import escalation_policy
from knowledge_base.vocabulary import ANSWERED

ACTION_NAME = "action_handle_low_confidence"
MAX_CHOICES = 3


def low_confidence_streak(events: Iterable[dict[str, Any]]) -> int:
    """How many user turns in a row, ending with the current one, this action left unanswered.

    Derived from the tracker's events rather than a counter slot, so it cannot drift.
    """
    turns: list[dict[str, bool]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append({"fallback": False, "answered": False})
        elif turns and event.get("event") == "action" and event.get("name") == ACTION_NAME:
            turns[-1]["fallback"] = True
        elif turns and event.get("event") == "bot" and answered_from_article(event):
            turns[-1]["answered"] = True
    streak = 1  # the current turn: this action is running for it
    for turn in reversed(turns[:-1]):
        if not turn["fallback"] or turn["answered"]:
            break
        streak += 1
    return streak


def answered_from_article(bot_event: dict[str, Any]) -> bool:
    """A bot message that gave the customer a knowledge-base article (see actions/knowledge.py)."""
    details = (bot_event.get("metadata") or {}).get("knowledge_base") or {}
    return details.get("outcome") in ANSWERED


def likely_topics(ranking: Iterable[dict[str, Any]]) -> list[str]:
    """Business intents from the NLU ranking, best first, that have a customer-facing label."""
    labels = messages("intent_labels")
    return [r["name"] for r in ranking if r.get("name") in labels][:MAX_CHOICES]


class ActionHandleLowConfidence(Action):
    def __init__(self, knowledge: Callable[[], KnowledgeBase] = knowledge_base) -> None:
        self.knowledge = knowledge

    def name(self) -> str:
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        labels = messages("intent_labels")
        if low_confidence_streak(tracker.events) >= escalation_policy().low_confidence_streak:
            dispatcher.utter_message(text=message("low_confidence", "handing_over"))
            return hand_over("bot_failed")
        reply = search_reply(self.knowledge(), tracker.latest_message.get("text") or "", None)
        if reply is not None:
            reply.send(dispatcher)
            return []
        topics = likely_topics(tracker.latest_message.get("intent_ranking", []))
        if not topics:
            dispatcher.utter_message(text=message("low_confidence", "no_choices"))
            return []
        dispatcher.utter_message(
            text=message("low_confidence", "offer_choices"),
            buttons=[{"title": labels[t], "payload": f"/{t}"} for t in topics],
        )
        return []
