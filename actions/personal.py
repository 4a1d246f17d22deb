"""What changes with who the customer is: greeting by surname and title, the tier's hotline and fees.

Only for a customer verified in this conversation; the tier terms live in policy.yml ``tiers``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages, policy
from actions.customer import ASSISTANT_ID, Lookup
from actions.services import profile_service
from actions.session import channel_of, session_customer
from bot.handoff.policy import TIER_SLOT
from bot.profile.access import Actor
from bot.profile.errors import ProfileError
from bot.profile.models import Role, Tier
from bot.profile.service import ProfileService
from bot.profile.views import CustomerSummary

logger = logging.getLogger(__name__)

GREETING_PURPOSE = "会话开始时称呼已登录客户"
FEE_CATEGORY = "interest_and_fees"  # knowledge-base answers about fees get the tier's own terms


def tier_terms(tier: Tier) -> dict[str, str]:
    return policy("tiers", tier.value)


def greeting(summary: CustomerSummary) -> str:
    """张先生，您好！… with the tier and its hotline."""
    hotline = tier_terms(summary.tier)["hotline"]
    return message(
        "personal", "greeting", name=summary.addressed_as, tier=summary.tier.label, hotline=hotline
    )


def fee_note(lookup: Lookup) -> str:
    """The fee terms of the customer's tier, added to a knowledge-base answer about fees."""
    terms = tier_terms(lookup.summary().tier)
    return message("personal", "fee_note", terms=terms["fee_terms"], hotline=terms["hotline"])


class ActionSessionStart(Action):
    """Greets by channel; a customer who arrives logged in is greeted by name, with their tier's hotline."""

    def __init__(self, profiles: Callable[[], ProfileService] = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        customer = session_customer(tracker)
        summary = await asyncio.to_thread(self._summary, customer) if customer else None
        greetings = messages("welcome")
        text = greeting(summary) if summary else greetings.get(channel_of(tracker), greetings["default"])
        dispatcher.utter_message(text=text)
        tier = [SlotSet(TIER_SLOT, summary.tier.value)] if summary else []  # for the escalation policy
        return [SessionStarted(), *tier, ActionExecuted("action_listen")]

    def _summary(self, customer_no: str) -> CustomerSummary | None:
        """None when the profile store cannot say who this is: the channel's greeting then."""
        actor = Actor(ASSISTANT_ID, Role.BOT, serving=customer_no)
        try:
            return self.profiles().customer_summary(actor, customer_no, purpose=GREETING_PURPOSE)
        except ProfileError as error:
            logger.warning("greeting without the profile: %s", type(error).__name__)
            return None
