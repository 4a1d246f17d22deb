"""Lost card: find out which card, confirm the freeze explicitly.

Freezing needs identity verification and the card registry (not connected yet), so the
submit step tells the customer the fastest working way to freeze the card right now.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message
from bot.text import normalize

FORM_SLOTS = ("card_tail", "freeze_confirmed")
_DIGIT_RUN = re.compile(r"\d+")
_MASKED_CARD = re.compile(r"\*{4}(\d{4})(?!\d)")
FULL_CARD_MIN_DIGITS = 12


def card_tail_of(text: str) -> tuple[str | None, bool]:
    """(last four digits, whether the customer typed a whole card number).

    A run of 4 digits is the tail itself; a run of 12+ digits is a card number and
    only its last four are kept. The gateway masks whole card numbers as ``****1234``
    (bot/privacy.py), so that form also means the customer typed the whole number.
    """
    text = normalize(text)
    if masked := _MASKED_CARD.search(text):
        return masked.group(1), True
    for run in reversed(_DIGIT_RUN.findall(text)):
        if len(run) == 4:
            return run, False
        if len(run) >= FULL_CARD_MIN_DIGITS:
            return run[-4:], True
    return None, False


class ValidateLostCardForm(FormValidationAction):
    def name(self) -> str:
        return "validate_lost_card_form"

    def validate_card_tail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        tail, was_full_number = card_tail_of(value) if isinstance(value, str) else (None, False)
        if tail is None:
            dispatcher.utter_message(text=message("card_freeze", "tail_invalid"))
        elif was_full_number:
            dispatcher.utter_message(text=message("card_freeze", "full_number_warning", tail=tail))
        return {"card_tail": tail}


class ActionSubmitCardFreeze(Action):
    def name(self) -> str:
        return "action_submit_card_freeze"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        tail = tracker.get_slot("card_tail")
        key = "not_available" if tracker.get_slot("freeze_confirmed") else "cancelled"
        dispatcher.utter_message(text=message("card_freeze", key, tail=tail))
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
