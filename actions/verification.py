"""Identity verification in the chat: phone number on record, then a one-time SMS code.

Account requests from someone the gateway does not vouch for (no web login, no bound WeChat openid)
start ``verification_form`` (``actions.requests``), which remembers what was asked.
The gateway never forwards the typed phone number, only its mask and a sealed copy in the metadata
(``bot.privacy.Sealer``) that this module opens. Codes go only to the number the bank has on file
for that customer; a number that is no customer's gets a code that is never delivered, so the chat
answers the same either way. Once verified, the customer number is kept for the session in a slot
no message can fill, a WeChat openid is bound for next time, and the original request runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.accounts import ActionCheckBalance, ActionTransactionHistory
from actions.complaints import ActionHandleComplaint
from actions.config import message
from actions.customer import ASSISTANT_ID, Lookup, answer
from actions.services import blind_codes, one_time_codes, profile_service, sealer
from actions.session import VERIFIED_SLOT, channel_of, verified_customer
from bot.handoff.policy import TIER_SLOT
from bot.identifiers import mask_phone
from bot.identity import CodeCheck, OneTimeCodes
from bot.privacy import Sealer
from bot.profile.access import Actor
from bot.profile.errors import ProfileError
from bot.profile.models import Channel, Role
from bot.profile.service import ProfileService
from bot.text import fold_width

PHONE_SLOT, CODE_SLOT = "verification_phone", "verification_code"
CANDIDATE_SLOT, HANDLE_SLOT, RESUME_SLOT = "verification_candidate", "verification_handle", "resume_action"
FORM_SLOTS = (PHONE_SLOT, CODE_SLOT, CANDIDATE_SLOT, HANDLE_SLOT)
VERIFIED, LOCKED, EXPIRED = "verified", "locked", "expired"  # how the code step ended
logger = logging.getLogger(__name__)

IDENTIFY_PURPOSE = "客户通过短信验证码验证身份"
BIND_PURPOSE = "验证通过后绑定微信账号"
GREET_PURPOSE = "验证通过后称呼客户"
# NLU may read the last digits of a typed phone number (139****0003) as a card tail; a later "余额呢"
# must not then ask about card 0003.
NOT_A_CARD = {"card_tail": None}
TIER_PURPOSE = "验证通过后确定客户等级以便转接合适的人工"
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
_RESEND = re.compile(r"重发|重新发|再发|没收到|收不到|没有收到")


def subject_of(tracker: Tracker) -> str:
    """Whose codes these are: one conversation on one channel."""
    return f"verify:{channel_of(tracker) or 'rest'}:{tracker.sender_id}"


def typed_code(text: str) -> str | None:
    """The 6-digit code in a reply such as "验证码 123 456" (spaces and full-width digits allowed)."""
    found = _CODE.search(re.sub(r"\s+", "", fold_width(text)))
    return found[0] if found else None


def lock_message(check: CodeCheck, now: dt.datetime | None = None) -> str:
    """How long the customer has to wait, in whole minutes (at least one)."""
    until = check.locked_until or dt.datetime.now(dt.timezone.utc)
    left = (until - (now or dt.datetime.now(dt.timezone.utc))).total_seconds()
    return message("verification", "locked", minutes=max(1, math.ceil(left / 60)))


class ValidateVerificationForm(FormValidationAction):
    def __init__(
        self,
        profiles: Callable[[], ProfileService] = profile_service,
        codes: Callable[[], OneTimeCodes] = one_time_codes,
        undelivered: Callable[[], OneTimeCodes] = blind_codes,
        seals: Callable[[], Sealer] = sealer,
    ) -> None:
        self.profiles, self.codes, self.undelivered, self.seals = profiles, codes, undelivered, seals

    def name(self) -> str:
        return "validate_verification_form"

    async def validate_verification_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared when verification starts: nothing typed yet
            return {PHONE_SLOT: None}
        metadata = tracker.latest_message.get("metadata") or {}
        handle = metadata.get("phone_handle") if isinstance(metadata, dict) else None
        phone = self.seals().open(handle)
        if phone is None:
            dispatcher.utter_message(text=message("verification", "phone_invalid"))
            return {PHONE_SLOT: None}
        customer = await asyncio.to_thread(self._customer_with, phone)
        check = await self._send_code(tracker, phone, customer)
        if check.verdict == LOCKED:
            dispatcher.utter_message(text=lock_message(check))
            return {PHONE_SLOT: mask_phone(phone), CODE_SLOT: LOCKED, **NOT_A_CARD}
        dispatcher.utter_message(text=message("verification", "code_sent", phone=mask_phone(phone)))
        return {PHONE_SLOT: mask_phone(phone), CANDIDATE_SLOT: customer, HANDLE_SLOT: handle, **NOT_A_CARD}

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        code = typed_code(text)
        if code is None:
            return await self._no_code_typed(text, dispatcher, tracker)
        customer = tracker.get_slot(CANDIDATE_SLOT)
        check = await asyncio.to_thread(self._codes_for(customer).verify, subject_of(tracker), code)
        if check.verdict == VERIFIED and customer:
            return await self._verified(tracker, customer)
        if check.verdict == LOCKED:
            dispatcher.utter_message(text=lock_message(check))
            return {CODE_SLOT: LOCKED}
        if check.verdict in ("expired", "no_code"):
            dispatcher.utter_message(text=message("verification", "expired"))
            return {CODE_SLOT: EXPIRED}
        dispatcher.utter_message(text=message("verification", "wrong", attempts=check.attempts_left))
        return {CODE_SLOT: None}

    def _customer_with(self, phone: str) -> str | None:
        actor = Actor(ASSISTANT_ID, Role.BOT)
        return self.profiles().customer_by_phone(actor, phone, purpose=IDENTIFY_PURPOSE)

    def _codes_for(self, customer: str | None) -> OneTimeCodes:
        return self.codes() if customer else self.undelivered()

    async def _send_code(self, tracker: Tracker, phone: str, customer: str | None) -> CodeCheck:
        return await asyncio.to_thread(self._codes_for(customer).issue, subject_of(tracker), phone)

    async def _no_code_typed(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Either a request to send the code again, or something that is not a code."""
        phone = self.seals().open(tracker.get_slot(HANDLE_SLOT)) if _RESEND.search(text) else None
        if phone is None:  # the form asks for the code again
            return {CODE_SLOT: None}
        check = await self._send_code(tracker, phone, tracker.get_slot(CANDIDATE_SLOT))
        if check.verdict == LOCKED:
            dispatcher.utter_message(text=lock_message(check))
            return {CODE_SLOT: LOCKED}
        dispatcher.utter_message(text=message("verification", "code_sent", phone=mask_phone(phone)))
        return {CODE_SLOT: None}

    async def _verified(self, tracker: Tracker, customer: str) -> dict[str, Any]:
        if channel_of(tracker) == Channel.WECHAT.value:
            actor = Actor(ASSISTANT_ID, Role.BOT, serving=customer)
            await asyncio.to_thread(
                self.profiles().bind_channel,
                actor,
                customer,
                Channel.WECHAT,
                tracker.sender_id,
                purpose=BIND_PURPOSE,
            )
        tier = await asyncio.to_thread(self._tier, customer)
        return {CODE_SLOT: VERIFIED, VERIFIED_SLOT: customer, TIER_SLOT: tier}

    def _tier(self, customer: str) -> str | None:
        """The customer's tier for the escalation policy (private banking goes to an advisor)."""
        try:
            return Lookup(self.profiles(), customer, TIER_PURPOSE).summary().tier.value
        except ProfileError as error:
            logger.warning("verified without the tier: %s", type(error).__name__)
            return None


# Requests resumed by running their action right here: after a followup action nothing in the rules
# says what comes next, so the dialogue policy would guess. A form is a followup: its loop decides.
RUN_HERE: dict[str, Callable[[], Action]] = {
    "action_check_balance": ActionCheckBalance,
    "action_transaction_history": ActionTransactionHistory,
    "action_handle_complaint": ActionHandleComplaint,
}


class ActionResumeAfterVerification(Action):
    """After the code step: greet the verified customer and run what they asked for, or say why not."""

    def __init__(
        self,
        profiles: Callable[[], ProfileService] = profile_service,
        run_here: dict[str, Callable[[], Action]] = RUN_HERE,
    ) -> None:
        self.profiles, self.run_here = profiles, run_here

    def name(self) -> str:
        return "action_resume_after_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        resume = tracker.get_slot(RESUME_SLOT)
        cleanup = [SlotSet(slot, None) for slot in (*FORM_SLOTS, RESUME_SLOT)]
        if verified_customer(tracker) is None:
            if tracker.get_slot(CODE_SLOT) not in (LOCKED, EXPIRED):  # those already told the customer
                dispatcher.utter_message(text=message("verification", "failed"))
            return cleanup

        def compose(lookup: Lookup) -> str:
            key = "verified_resume" if resume else "verified"
            return message("verification", key, name=lookup.addressed_as())

        text = await asyncio.to_thread(answer, tracker, self.profiles, GREET_PURPOSE, compose)
        dispatcher.utter_message(text=text)
        if resume in self.run_here:
            return cleanup + await self.run_here[resume]().run(dispatcher, tracker, domain)
        return cleanup + ([FollowupAction(resume)] if resume else [])
