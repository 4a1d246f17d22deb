"""Session start: greet the customer in the way their channel expects."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted
from rasa_sdk.executor import CollectingDispatcher

from actions.config import messages


def channel_of(tracker: Tracker) -> str | None:
    """The channel named by the gateway in the session metadata, else Rasa's input channel."""
    metadata = tracker.get_slot("session_started_metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel or tracker.get_latest_input_channel()


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        greetings = messages("welcome")
        dispatcher.utter_message(text=greetings.get(channel_of(tracker), greetings["default"]))
        return [SessionStarted(), ActionExecuted("action_listen")]
