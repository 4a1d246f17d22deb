"""Transfers from the verified customer's current account to one of their saved payees (常用收款人).

``transfer_form`` asks for the payee, the amount, an explicit confirmation and, for large amounts, an
SMS code sent to the phone on record. Payee and amount are checked against the profile store as soon
as they are given (a saved payee, 小李 resolved to the full name; within the balance and what is left of
today's limit), so the customer can correct them at once. ``ProfileService.transfer`` checks everything
again and moves the money in one audited transaction; every failure moves nothing and says why.

The form reads the message that started it itself (the payee and amount slots are filled only by
answers to its questions), so nothing said earlier in the conversation slips into a transfer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.config import message, policy
from actions.customer import Lookup, Unanswered, answer, consult
from actions.formatting import format_amount, format_money
from actions.services import one_time_codes, profile_service
from actions.session import request_message, verified_customer
from actions.verification import typed_code
from bot.amounts import parse_amount
from bot.identifiers import mask_phone
from bot.identity import CodeCheck, OneTimeCodes
from bot.profile.errors import (
    AmbiguousPayee,
    AmountNotPositive,
    DailyLimitExceeded,
    InsufficientFunds,
    NoTransferAccount,
    OverSingleLimit,
    ProfileError,
    ProfileUnavailable,
    SelfTransfer,
    TransferRefused,
    UnknownPayee,
)
from bot.profile.payments import check_amount, check_funds, resolve_payee
from bot.profile.service import ProfileService
from bot.profile.views import SavedPayees, TransferAllowance
from bot.text import normalize

logger = logging.getLogger(__name__)
T = TypeVar("T")
Profiles = Callable[[], ProfileService]
Codes = Callable[[], OneTimeCodes]

FORM = "transfer_form"
PAYEE, AMOUNT, CONFIRMED, CODE = FORM_SLOTS = ("payee", "amount", "transfer_confirmed", "transfer_code")
# How the code step ended (the code slot never holds the code itself); the last three end the form.
VERIFIED, LOCKED, EXPIRED, STOPPED = "verified", "locked", "expired", "stopped"
ENDED = (LOCKED, EXPIRED, STOPPED)
TRANSFER_PURPOSE = "客户通过智能客服向常用收款人转账"
CODE_PURPOSE = "向客户预留手机发送转账短信验证码"
CENT = Decimal("0.01")

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


# -- rules and slots ------------------------------------------------------------------------------


_WANTING_TRANSFER = re.compile(
    r"我要转|我想转|帮我转|给我转|帮忙转|转给|转账给|打钱给|汇给|给\S{1,6}(?:转|打|汇)|转\s*[\d一二两三四五六七八九十百千万]"
)
MAX_BARE_REQUEST_CHARS = 8  # "我要转账", "转账": a short order with no question in it


def wants_transfer(text: str) -> bool:
    """ "给张伟转500" is a request; "跨行转账多久到账" and "转账失败了" are questions."""
    text = normalize(text).strip(" 。，,.!！")
    return bool(_WANTING_TRANSFER.search(text)) or ("转账" in text and len(text) <= MAX_BARE_REQUEST_CHARS)


def max_single() -> Decimal:
    return Decimal(policy("transfer", "max_single_amount"))


def second_factor_amount() -> Decimal:
    return Decimal(policy("transfer", "second_factor_amount"))


def slot_amount(tracker: Tracker) -> Decimal | None:
    """The amount the form accepted (the slot holds it as shown to the customer: 5,000元)."""
    value = tracker.get_slot(AMOUNT)
    return parse_amount(value) if isinstance(value, str) else None


def large(amount: Decimal | None) -> bool:
    """Whether a transfer of ``amount`` needs an SMS code (``transfer.second_factor_amount`` and more)."""
    return amount is not None and amount >= second_factor_amount()


def needs_code(tracker: Tracker) -> bool:
    return tracker.get_slot(CONFIRMED) is True and large(slot_amount(tracker))


def running(tracker: Tracker) -> bool:
    """Whether the form runs already (False while it is being started)."""
    return tracker.active_loop_name == FORM


def ended(how: str) -> dict[str, Any]:
    """Slot values that end the form now; the submit step then stays silent (the reason was said)."""
    return {PAYEE: None, AMOUNT: None, CONFIRMED: None, CODE: how, "requested_slot": None}


def stopped(tracker: Tracker) -> bool:
    """Whether a check earlier in this turn ended the form (later slots are then left alone)."""
    return tracker.get_slot(CODE) in ENDED


def code_subject(customer_no: str, sender_id: str) -> str:
    """Whose SMS codes: one customer in one conversation."""
    return f"transfer:{customer_no}:{sender_id}"


def request_entity(tracker: Tracker, entity: str) -> str | None:
    """The first ``entity`` in the message that started the form."""
    entities = request_message(tracker).get("entities") or []
    value = next((e.get("value") for e in entities if e.get("entity") == entity), None)
    return value if isinstance(value, str) else None


# -- what the customer is told --------------------------------------------------------------------


def refusal_text(refused: TransferRefused) -> str:
    """Why the bank does not make this transfer, with the numbers."""
    say = partial(message, "transfer_outcome")
    match refused:
        case UnknownPayee():
            return say("payee_unknown", payee=refused.name)
        case AmbiguousPayee():
            names = "、".join(refused.candidates)
            return say("payee_ambiguous", payee=refused.name, count=len(refused.candidates), names=names)
        case SelfTransfer():
            return say("payee_self")
        case AmountNotPositive():
            return message("transfer", "amount_not_positive")
        case OverSingleLimit():
            limit, amount = f"{int(refused.limit):,}", format_amount(refused.amount)
            return message("transfer", "amount_over_limit", limit=limit, amount=amount)
        case InsufficientFunds():
            return say(
                "insufficient", balance=format_money(refused.balance), amount=format_amount(refused.amount)
            )
        case DailyLimitExceeded():
            left, limit = format_amount(refused.left), format_amount(refused.limit)
            return say("over_daily_limit", left=left, limit=limit, amount=format_amount(refused.amount))
        case NoTransferAccount():
            return say("no_account")
    return say("refused")  # a refusal added to the store later


def amount_problem(amount: Decimal | None) -> str | None:
    """What is wrong with an amount whatever the accounts hold; None: nothing."""
    if amount is None:
        return message("transfer", "amount_missing")
    try:
        check_amount(amount, max_single())  # first: an absurdly long number cannot even be rounded
    except TransferRefused as refused:
        return refusal_text(refused)
    return message("transfer_outcome", "amount_fraction") if amount != amount.quantize(CENT) else None


def details_text(allowance: TransferAllowance) -> str:
    return message(
        "transfer_outcome",
        "details",
        account=allowance.masked_account,
        balance=format_money(allowance.balance),
        left=format_amount(allowance.left_today),
    )


# -- the profile store, for the verified customer -------------------------------------------------


def explain_refusal(error: ProfileError) -> str | None:
    """The transfer's own words for a store that cannot serve this flow; None: the usual message."""
    if isinstance(error, NoTransferAccount):
        return refusal_text(error)
    if isinstance(error, ProfileUnavailable):
        logger.error("transfer step without the profile store: %s", error)
        return message("transfer_outcome", "unavailable")
    return None


def saved_payees(lookup: Lookup) -> SavedPayees:
    return lookup.profiles.saved_payees(lookup.actor, lookup.customer_no, purpose=lookup.purpose)


def allowance(lookup: Lookup) -> TransferAllowance:
    return lookup.profiles.transfer_allowance(lookup.actor, lookup.customer_no, purpose=lookup.purpose)


def send_code(lookup: Lookup, codes: OneTimeCodes, sender_id: str) -> tuple[CodeCheck, str]:
    """Send a code to the phone on record; the verdict and the masked number it went to."""
    phone = lookup.profiles.phone_for_code(lookup.actor, lookup.customer_no, purpose=lookup.purpose)
    return codes.issue(code_subject(lookup.customer_no, sender_id), phone), mask_phone(phone)


def transfer_reply(lookup: Lookup, payee: str, amount: Decimal) -> str:
    """Make the transfer and say what happened: the reference, the account and its new balance."""
    try:
        done = lookup.profiles.transfer(
            lookup.actor, lookup.customer_no, payee, amount, purpose=lookup.purpose, max_single=max_single()
        )
    except TransferRefused as refused:
        return message("transfer_outcome", "not_done", reason=refusal_text(refused))
    except ProfileUnavailable as error:
        logger.error("transfer not made: %s", error)
        return message("transfer_outcome", "unavailable")
    return message(
        "transfer_outcome",
        "done",
        payee=done.payee,
        amount=format_amount(done.amount),
        reference=done.reference,
        account=done.masked_account,
        balance=format_money(done.balance),
    )


# -- the form -------------------------------------------------------------------------------------


class ValidateTransferForm(FormValidationAction):
    """Saved payee, an amount the account can send today, the confirmation, then the SMS code if needed."""

    def __init__(self, profiles: Profiles = profile_service, codes: Codes = one_time_codes) -> None:
        self.profiles, self.codes = profiles, codes

    def name(self) -> str:
        return "validate_transfer_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if not running(tracker):  # starting: every slot is read afresh from the request
            return domain_slots
        if tracker.get_slot(CODE) in ENDED:
            return []
        return domain_slots if needs_code(tracker) else [s for s in domain_slots if s != CODE]

    # Starting the form: payee and amount from the message that started it, nothing left from before.
    async def extract_payee(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {} if running(tracker) else {PAYEE: request_entity(tracker, "payee")}

    async def extract_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {} if running(tracker) else {AMOUNT: request_entity(tracker, "amount")}

    async def extract_transfer_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {} if running(tracker) else {CONFIRMED: None}

    async def extract_transfer_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {} if running(tracker) else {CODE: None}

    async def _consult(
        self, tracker: Tracker, work: Callable[[Lookup], T], purpose: str = TRANSFER_PURPOSE
    ) -> T | Unanswered:
        return await asyncio.to_thread(consult, tracker, self.profiles, purpose, work, explain_refusal)

    async def validate_payee(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if stopped(tracker):
            return {}
        if not isinstance(value, str):  # nothing named when the form started: the form asks
            return {PAYEE: None}
        name = clean_payee(complete_name(request_message(tracker).get("text") or "", value))
        if name is None:
            dispatcher.utter_message(text=message("transfer", "payee_invalid"))
            return {PAYEE: None}
        saved = await self._consult(tracker, saved_payees)
        if isinstance(saved, Unanswered):
            dispatcher.utter_message(text=saved.text)
            return ended(STOPPED)
        try:
            return {PAYEE: resolve_payee(name, saved)}
        except TransferRefused as refused:
            dispatcher.utter_message(text=refusal_text(refused))
            return {PAYEE: None}

    async def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if stopped(tracker):
            return {}
        if not isinstance(value, str):
            return {AMOUNT: None}
        amount = parse_amount(value)
        if problem := amount_problem(amount):
            dispatcher.utter_message(text=problem)
            return {AMOUNT: None}
        available = await self._consult(tracker, allowance)
        if isinstance(available, Unanswered):
            dispatcher.utter_message(text=available.text)
            return ended(STOPPED)
        if available.left_today <= 0:
            limit = format_amount(available.daily_limit)
            dispatcher.utter_message(text=message("transfer_outcome", "limit_used_up", limit=limit))
            return ended(STOPPED)
        try:
            check_funds(available, amount)
        except TransferRefused as refused:
            dispatcher.utter_message(text=refusal_text(refused))
            return {AMOUNT: None}
        dispatcher.utter_message(text=details_text(available))
        return {AMOUNT: format_amount(amount)}

    async def validate_transfer_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if stopped(tracker):
            return {}
        if not isinstance(value, bool):
            return {CONFIRMED: None}
        if value is False or not large(slot_amount(tracker)):
            return {CONFIRMED: value}
        send = partial(send_code, codes=self.codes(), sender_id=tracker.sender_id)
        sent = await self._consult(tracker, send, CODE_PURPOSE)
        if isinstance(sent, Unanswered):
            dispatcher.utter_message(text=sent.text)
            return ended(STOPPED)
        check, masked_phone = sent
        if check.verdict == LOCKED:
            dispatcher.utter_message(text=message("transfer_outcome", "code_locked"))
            return ended(LOCKED)
        threshold = format_amount(second_factor_amount())
        dispatcher.utter_message(
            text=message("transfer_outcome", "code_sent", amount=threshold, phone=masked_phone)
        )
        return {CONFIRMED: True, CODE: None}

    async def validate_transfer_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if stopped(tracker) or value is None:
            return {}
        code = typed_code(value) if isinstance(value, str) else None
        if code is None:  # not a code: the form asks again
            return {CODE: None}
        customer_no = verified_customer(tracker)
        if customer_no is None:
            dispatcher.utter_message(text=message("accounts", "verify_first"))
            return ended(STOPPED)
        subject = code_subject(customer_no, tracker.sender_id)
        try:
            check = await asyncio.to_thread(self.codes().verify, subject, code)
        except SQLAlchemyError:
            logger.exception("transfer code not checked")
            dispatcher.utter_message(text=message("transfer_outcome", "unavailable"))
            return ended(STOPPED)
        if check.verdict == VERIFIED:
            return {CODE: VERIFIED}
        if check.verdict == LOCKED:
            dispatcher.utter_message(text=message("transfer_outcome", "code_locked"))
            return ended(LOCKED)
        if check.verdict == "wrong":
            dispatcher.utter_message(
                text=message("transfer_outcome", "code_wrong", attempts=check.attempts_left)
            )
            return {CODE: None}
        dispatcher.utter_message(text=message("transfer_outcome", "code_expired"))  # expired, or none sent
        return ended(EXPIRED)


class ActionSubmitTransfer(Action):
    """Makes the confirmed (and, for large amounts, SMS-verified) transfer and clears the form."""

    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_submit_transfer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        clear = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if tracker.get_slot(CODE) in ENDED:  # the form stopped early and said why
            return clear
        payee, amount = tracker.get_slot(PAYEE), slot_amount(tracker)
        if tracker.get_slot(CONFIRMED) is not True or not payee or amount is None:
            dispatcher.utter_message(text=message("transfer", "cancelled"))
        elif needs_code(tracker) and tracker.get_slot(CODE) != VERIFIED:
            dispatcher.utter_message(text=message("transfer_outcome", "code_missing"))
        else:
            compose = partial(transfer_reply, payee=payee, amount=amount)
            text = await asyncio.to_thread(answer, tracker, self.profiles, TRANSFER_PURPOSE, compose)
            dispatcher.utter_message(text=text)
        return clear
