"""Transfers: collect payee, amount and an explicit confirmation.

The money movement itself needs the customer profile and identity verification
(not connected yet), so the submit step says honestly that nothing was transferred.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message, policy
from actions.formatting import format_amount
from bot.amounts import parse_amount
from bot.text import normalize

FORM_SLOTS = ("payee", "amount", "transfer_confirmed")
MAX_PAYEE_CHARS = 30
_NOT_A_NAME = re.compile(r"[?？吗呢怎么什么多少哪]|\d{4,}")
_PAYEE_PREFIX = re.compile(r"^(转给|转账给|打给|汇给|给|收款人是?|是)")


# Characters that cannot be part of a payee's name next to it: the words around a name in 给张伟转500.
_BEFORE_NAME = set("给向帮我请转账汇打和跟与把为对")
_AFTER_NAME = set("转汇打的了吧呗啊呀吗呢元块钱万千百十零一二三四五六七八九两个笔和")
MAX_NAME_CHARS = 4


def complete_name(text: str, name: str) -> str:
    """The whole name when NLU tagged only part of it (刘 of 刘洋, 伟 of 张伟).

    Chinese names are 2-4 characters without spaces, and the tokenizer cuts unknown names into
    single characters, so the entity can stop short; the name runs until a word that cannot belong
    to it. A name not found in ``text`` (typed as an answer, normalised) is returned unchanged.
    """
    start = text.find(name)
    if start < 0 or not name:
        return name
    end = start + len(name)
    while start > 0 and end - start < MAX_NAME_CHARS and _extends_name(text[start - 1], _BEFORE_NAME):
        start -= 1
    while end < len(text) and end - start < MAX_NAME_CHARS and _extends_name(text[end], _AFTER_NAME):
        end += 1
    return text[start:end]


def _extends_name(char: str, stops: set[str]) -> bool:
    return "\u4e00" <= char <= "\u9fff" and char not in stops


def clean_payee(text: str) -> str | None:
    """The payee's name from a free-text answer, or None if it does not look like one."""
    name = _PAYEE_PREFIX.sub("", normalize(text).strip(" 。，,.!！")).strip()
    if not name or len(name) > MAX_PAYEE_CHARS or _NOT_A_NAME.search(name):
        return None
    return name


class ValidateTransferForm(FormValidationAction):
    def name(self) -> str:
        return "validate_transfer_form"

    def validate_payee(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        name = clean_payee(complete_name(text, value)) if isinstance(value, str) else None
        if name is None:
            dispatcher.utter_message(text=message("transfer", "payee_invalid"))
        return {"payee": name}

    def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        amount = parse_amount(value) if isinstance(value, str) else None
        limit = Decimal(policy("transfer", "max_single_amount"))
        if amount is None:
            dispatcher.utter_message(text=message("transfer", "amount_missing"))
        elif amount <= 0:
            dispatcher.utter_message(text=message("transfer", "amount_not_positive"))
        elif amount > limit:
            dispatcher.utter_message(
                text=message(
                    "transfer", "amount_over_limit", limit=f"{int(limit):,}", amount=format_amount(amount)
                )
            )
        else:
            return {"amount": format_amount(amount)}
        return {"amount": None}


class ActionSubmitTransfer(Action):
    def name(self) -> str:
        return "action_submit_transfer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("transfer_confirmed"):
            dispatcher.utter_message(
                text=message(
                    "transfer",
                    "not_available",
                    payee=tracker.get_slot("payee"),
                    amount=tracker.get_slot("amount"),
                )
            )
        else:
            dispatcher.utter_message(text=message("transfer", "cancelled"))
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
