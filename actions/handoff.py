"""Handing the conversation to a person, and coming back from one.

``action_handoff_to_human`` runs when the escalation policy (bot/handoff/policy.py) says a person is
needed: predicted by ``bot.dialogue.escalation.EscalationPolicy`` after a user turn, by rules, or
as a follow-up of an action that noticed the need itself and named it in the slot
``handoff_reason`` (repeated failures, a large redemption, a complaint just filed). It tells the
customer who will help, gives fraud victims the safety steps at once, and attaches the escalation
and the context summary (``bot.summary``) to its message as ``handoff`` metadata. The gateway takes
the conversation from there: it queues it for an agent with the skill and stops forwarding the
customer's messages to the bot until the agent hands it back or closes it
(``handoff_ended``), after which ``action_handoff_ended`` asks for a 1–5 rating.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages
from actions.customer import Lookup
from actions.services import profile_service
from actions.session import verified_customer
from bot.handoff.policy import HANDOFF_ACTION, TIER_SLOT, Escalation, escalation_policy, turns_since_handoff
from bot.profile.errors import ProfileError
from bot.profile.service import ProfileService
from bot.summary import CustomerFacts, mask_name, summarise

logger = logging.getLogger(__name__)

REASON_SLOT = "handoff_reason"
RATING_ENTITY = "rating"
SUMMARY_PURPOSE = "转人工时为坐席生成客户背景摘要"
MAX_PRODUCTS = 3


def hand_over(reason: str) -> list[EventType]:
    """Events for an action that found a person is needed: the handoff runs next, for ``reason``."""
    return [SlotSet(REASON_SLOT, reason), FollowupAction(HANDOFF_ACTION)]


def decide(tracker: Tracker) -> Escalation:
    """Why this handoff: the reason an action or button named, else what the turns show.

    Rules also run this action for ``request_human``; without any other trigger that is the reason.
    """
    rules = escalation_policy()
    turns = turns_since_handoff(tracker.events)
    named = tracker.get_slot(REASON_SLOT)
    if named in rules.reasons:
        return rules.for_reason(named, turns)
    return rules.on_turn(turns, tracker.get_slot(TIER_SLOT)) or rules.for_reason("customer_request", turns)


def customer_facts(profiles: ProfileService, customer_no: str, skill: str) -> CustomerFacts:
    """The agent's view of the customer: masked name, tier, risk level, what they hold, their advisor."""
    lookup = Lookup(profiles, customer_no, SUMMARY_PURPOSE)
    summary = lookup.summary()
    portfolio = profiles.holdings(lookup.actor, customer_no, purpose=SUMMARY_PURPOSE)
    holdings = sorted(portfolio.holdings, key=lambda h: h.amount, reverse=True)
    cards = [f"{c.kind.label}{c.masked_number[-4:]}" for c in lookup.cards()]
    products = [h.product_name for h in holdings]
    relevant = cards + products if skill == "cards" else products + cards
    advisor = profiles.assigned_advisor(lookup.actor, customer_no, purpose=SUMMARY_PURPOSE)
    return CustomerFacts(
        name=mask_name(summary.name),
        tier=summary.tier.label,
        risk_level=portfolio.risk_level.label,
        products=tuple(relevant[:MAX_PRODUCTS]),
        advisor=advisor,
    )


def known_customer(profiles: ProfileService, customer_no: str | None, skill: str) -> CustomerFacts:
    """The facts, or none when the customer is not verified or the store cannot say (the handoff goes on)."""
    if customer_no is None:
        return CustomerFacts()
    try:
        return customer_facts(profiles, customer_no, skill)
    except ProfileError as error:
        logger.warning("handoff summary without the profile: %s", type(error).__name__)
        return CustomerFacts()


class ActionHandoffToHuman(Action):
    def __init__(self, profiles: Callable[[], ProfileService] = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return HANDOFF_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        escalation = decide(tracker)
        customer = verified_customer(tracker)
        facts = await asyncio.to_thread(known_customer, self.profiles(), customer, escalation.skill)
        summary = summarise(tracker.events, escalation, facts, messages("intent_labels"))
        if escalation.reason == "fraud":
            dispatcher.utter_message(text=message("handoff", "fraud_advice"))  # while they wait
        handoff = {**escalation.as_dict(), "customer_no": customer, "summary": summary.as_dict()}
        text = message("handoff", "connecting", skill=escalation.skill_label)
        dispatcher.utter_message(text=text, handoff=handoff)
        events: list[EventType] = [SlotSet(REASON_SLOT, None)]
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events


class ActionHandoffEnded(Action):
    """The agent handed back or closed: say so, and ask how the service was (1–5)."""

    def name(self) -> str:
        return "action_handoff_ended"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        outcome = next(tracker.get_latest_entity_values("handoff_outcome"), "handback")
        key = "closed" if outcome == "closed" else "handed_back"
        buttons = [
            {"title": label, "payload": f'/rate_service{{"{RATING_ENTITY}": "{score}"}}'}
            for score, label in messages("rating")["scale"].items()
        ]
        dispatcher.utter_message(
            text=message("handoff", key) + "\n" + message("rating", "ask"), buttons=buttons
        )
        return []


class ActionRecordRating(Action):
    """Thanks for the rating; the rating itself stays in the tracker (intent and entity) and the gateway
    records it with the handoff it rates."""

    def name(self) -> str:
        return "action_record_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = next(tracker.get_latest_entity_values(RATING_ENTITY), None)
        if rating not in messages("rating")["scale"]:
            dispatcher.utter_message(text=message("rating", "unclear"))
            return []
        key = "thanks_low" if int(rating) <= 2 else "thanks"
        dispatcher.utter_message(text=message("rating", key))
        return []
