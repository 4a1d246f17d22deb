"""What the gateway tells the actions about a conversation, and greeting at session start."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted
from rasa_sdk.executor import CollectingDispatcher

from actions.config import messages

CUSTOMER_NO = re.compile(r"C[0-9]{6}")


def channel_of(tracker: Tracker) -> str | None:
    """The channel named by the gateway in the session metadata, else Rasa's input channel."""
    metadata = tracker.get_slot("session_started_metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel or tracker.get_latest_input_channel()


VERIFIED_SLOT = "verified_customer_no"


def verified_customer(tracker: Tracker) -> str | None:
    """The verified customer of the conversation; None: not verified.

    Either the gateway vouches for the latest message (a web token or a bound WeChat openid: only
    the gateway reaches the Rasa channel and sets ``customer_no``), or the customer passed the
    one-time-code check in this session (``actions.verification`` sets the slot, which has no
    mapping a message could fill). Anything not shaped like a customer number counts as unverified.
    """
    metadata = tracker.latest_message.get("metadata")
    value = metadata.get("customer_no") if isinstance(metadata, dict) else None
    value = value or tracker.get_slot(VERIFIED_SLOT)
    return value if isinstance(value, str) and CUSTOMER_NO.fullmatch(value) else None


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        greetings = messages("welcome")
        dispatcher.utter_message(text=greetings.get(channel_of(tracker), greetings["default"]))
        return [SessionStarted(), ActionExecuted("action_listen")]
