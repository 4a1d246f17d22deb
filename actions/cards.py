"""Lost card: find out which card, confirm the freeze explicitly, freeze it.

A customer verified by the gateway gets the card frozen in the profile store, with a reference
number; anyone else is told the fastest working way to freeze it right now (the 24-hour hotline),
because a lost card cannot wait for a login.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message
from actions.customer import Lookup, answer
from actions.services import profile_service
from actions.session import verified_customer
from bot.profile.errors import AmbiguousCard, CardAlreadyFrozen, NotFound
from bot.profile.service import ProfileService
from bot.text import normalize

FORM_SLOTS = ("card_tail", "freeze_confirmed")
FREEZE_PURPOSE = "客户挂失冻结银行卡"
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


def freeze_reply(lookup: Lookup, tail: str) -> str:
    """Freeze the card in the profile store and say what happened, with the reference to quote."""
    try:
        reference = lookup.freeze_card(tail)
    except CardAlreadyFrozen:
        return message("card_freeze", "already_frozen", tail=tail)
    except NotFound:
        return message("card_freeze", "not_yours", tail=tail)
    except AmbiguousCard:
        return message("card_freeze", "ambiguous", tail=tail)
    return message("card_freeze", "frozen", name=lookup.addressed_as(), tail=tail, reference=reference)


class ActionSubmitCardFreeze(Action):
    """Freezes a verified customer's card; anyone else is sent to the 24-hour hotline at once."""

    def __init__(self, profiles: Callable[[], ProfileService] = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_submit_card_freeze"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        tail = tracker.get_slot("card_tail")
        if not tracker.get_slot("freeze_confirmed"):
            text = message("card_freeze", "cancelled", tail=tail)
        elif verified_customer(tracker) is None:  # losing a card is urgent: no detour through a login
            text = message("card_freeze", "not_available", tail=tail)
        else:
            compose = partial(freeze_reply, tail=tail)
            text = await asyncio.to_thread(answer, tracker, self.profiles, FREEZE_PURPOSE, compose)
        dispatcher.utter_message(text=text)
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
