"""Low NLU confidence: offer the likeliest topics first, a human the second time in a row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages

ACTION_NAME = "action_handle_low_confidence"
MAX_CHOICES = 3


def low_confidence_streak(events: Iterable[dict[str, Any]]) -> int:
    """How many user turns in a row, ending with the current one, this action answered.

    Derived from the tracker's events rather than a counter slot, so it cannot drift.
    """
    turns: list[list[str]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append([])
        elif event.get("event") == "action" and turns:
            turns[-1].append(event.get("name"))
    streak = 1  # the current turn: this action is running for it
    for actions in reversed(turns[:-1]):
        if ACTION_NAME not in actions:
            break
        streak += 1
    return streak


def likely_topics(ranking: Iterable[dict[str, Any]]) -> list[str]:
    """Business intents from the NLU ranking, best first, that have a customer-facing label."""
    labels = messages("intent_labels")
    return [r["name"] for r in ranking if r.get("name") in labels][:MAX_CHOICES]


class ActionHandleLowConfidence(Action):
    def name(self) -> str:
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        labels = messages("intent_labels")
        if low_confidence_streak(tracker.events) >= 2:
            dispatcher.utter_message(
                text=message("low_confidence", "offer_human"),
                buttons=[{"title": message("low_confidence", "human_button"), "payload": "/request_human"}],
            )
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
