"""What the gateway tells the actions about a conversation: channel, verified customer, the request."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

CUSTOMER_NO = re.compile(r"C[0-9]{6}")


def channel_of(tracker: Tracker) -> str | None:
    """The channel named by the gateway in the session metadata, else Rasa's input channel."""
    metadata = tracker.get_slot("session_started_metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel or tracker.get_latest_input_channel()


VERIFIED_SLOT = "verified_customer_no"


def _customer_number(value: Any) -> str | None:
    return value if isinstance(value, str) and CUSTOMER_NO.fullmatch(value) else None


def session_customer(tracker: Tracker) -> str | None:
    """The customer the gateway verified for the message that started the session (for greeting)."""
    metadata = tracker.get_slot("session_started_metadata")
    return _customer_number(metadata.get("customer_no")) if isinstance(metadata, dict) else None


def verified_customer(tracker: Tracker) -> str | None:
    """The verified customer of the conversation; None: not verified.

    Either the gateway vouches for the latest message (a web token or a bound WeChat openid: only
    the gateway reaches the Rasa channel and sets ``customer_no``), or the customer passed the
    one-time-code check in this session (``actions.verification`` sets the slot, which has no
    mapping a message could fill). Anything not shaped like a customer number counts as unverified.
    """
    metadata = tracker.latest_message.get("metadata")
    value = metadata.get("customer_no") if isinstance(metadata, dict) else None
    return _customer_number(value or tracker.get_slot(VERIFIED_SLOT))


VERIFICATION_FORM = "verification_form"


def _loop_event(event: dict[str, Any], name: str | None) -> bool:
    return event.get("event") == "active_loop" and event.get("name") == name


def request_message(tracker: Tracker) -> dict[str, Any]:
    """The message the current request came with (its text and entities).

    Usually the latest one; but a request resumed right after identity verification came with the
    message before ``verification_form`` started, and the latest one is the SMS code.
    """
    events = tracker.events
    started = [i for i, event in enumerate(events) if _loop_event(event, VERIFICATION_FORM)]
    if not started:
        return tracker.latest_message
    ended = [i for i in range(started[-1] + 1, len(events)) if _loop_event(events[i], None)]
    asked_since = ended and any(e.get("event") == "user" for e in events[ended[0] + 1 :])
    before = [e for e in events[: started[-1]] if e.get("event") == "user"]
    if not ended or asked_since or not before:
        return tracker.latest_message
    return {**(before[-1].get("parse_data") or {}), "text": before[-1].get("text") or ""}
