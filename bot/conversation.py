"""Where a customer message is decided: the bot answers it, or the person who owns the conversation.

Every channel of the gateway (REST, Socket.IO, WeChat) hands its checked, PII-masked message
to ``Conversations.handle`` and sends back what it returns. While a handoff is open the bot stays
silent: the message goes to the agent (and into Rasa's tracker, so the history stays complete).
When the bot's reply carries ``handoff`` metadata (actions/handoff.py), the conversation is queued
here and the customer learns their place in the queue, or is offered a callback when nobody with
the skill is online. Agent messages come the other way (``deliver``) on the customer's channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot import messages, metrics
from bot.handoff.agents import AgentDirectory
from bot.handoff.desk import Desk, Item, Turn
from bot.handoff.models import QUEUED
from bot.handoff.policy import escalation_policy, turns_since_handoff
from bot.patience import patiently
from bot.profile.errors import ProfileUnavailable
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.summary import CustomerFacts, summarise

logger = logging.getLogger(__name__)

Reply = dict[str, Any]
CANCEL_PAYLOAD = "/cancel_handoff"
CALLBACK_PAYLOAD = "/request_callback"
_CANCEL_WORDS = re.compile(
    r"^\s*(取消|不等了|算了|不用了|不需要了|不用人工了?|返回|退出)(排队|人工|转人工)?[。!！~～]*\s*$"
)
_RATING = re.compile(r"^\s*([1-5])\s*(分|星)?\s*$")
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
RATING_PAYLOAD = '/rate_service{{"rating": "{score}"}}'


def reply(sender: str, text: str, buttons: list[dict[str, str]] | None = None) -> Reply:
    message: Reply = {"recipient_id": sender, "text": text}
    return {**message, "buttons": buttons} if buttons else message


def with_state(message: Reply, state: str) -> Reply:
    """Tell clients who serves the conversation now (``queued`` / ``agent`` / ``bot``), for the widget."""
    return {**message, "metadata": {**(message.get("metadata") or {}), "handoff_state": state}}


def during_handoff(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A customer message an agent answers, as a tracker event: no intent, the bot never predicted it."""
    parse = {"text": text, "intent": {}, "entities": []}  # Rasa's event schema: a name must be a string
    return {"event": "user", "text": text, "parse_data": parse, "metadata": {**metadata, "to_agent": True}}


class Conversations:
    """The gateway's decision point between the bot and the people at the service desk."""

    def __init__(
        self,
        desk: Desk,
        agents: AgentDirectory,
        rasa: RasaClient,
        on_queue_change: Callable[[], Awaitable[None]],
        on_customer_turn: Callable[[Item, Turn], Awaitable[None]],
    ) -> None:
        self.desk, self.agents, self.rasa = desk, agents, rasa
        self.on_queue_change, self.on_customer_turn = on_queue_change, on_customer_turn

    async def handle(self, sender: str, channel: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        """The replies to one customer message (possibly none: an agent will answer)."""
        owner = await patiently(  # nothing has happened yet: safe to wait for the database
            lambda: asyncio.to_thread(self.desk.open_for, sender),
            (ProfileUnavailable,),
            "service desk lookup",
        )
        if owner is not None:
            return await self._during_handoff(owner, sender, text, metadata)
        text = await self._rating(sender, text)
        with metrics.timed("rasa"):
            replies = await self.rasa.send(sender, text, metadata)
        if not replies:  # Rasa answered, but its actions could not run (action server down)
            return await self._without_actions(sender, channel, text, metadata)
        return await self._after_bot(sender, channel, metadata, replies)

    async def _without_actions(
        self, sender: str, channel: str, text: str, metadata: dict[str, Any]
    ) -> list[Reply]:
        """An apology and a way to a person; asking for one queues the conversation from here."""
        metrics.ERRORS.labels("no_reply").inc()
        logger.error("the bot had no reply (is the action server up?)")
        if text.strip() != HUMAN_BUTTON["payload"]:
            return [reply(sender, messages.BOT_DEGRADED, [HUMAN_BUTTON])]
        events = await self.rasa.tracker_events(sender)
        escalation = escalation_policy().for_reason("customer_request", turns_since_handoff(events))
        summary = summarise(events, escalation, CustomerFacts(), {})
        handoff = {**escalation.as_dict(), "summary": summary.as_dict()}
        return await self._queue(sender, channel, metadata, [], handoff)

    async def _during_handoff(
        self, owner: Item, sender: str, text: str, metadata: dict[str, Any]
    ) -> list[Reply]:
        if owner.status == QUEUED and (text.strip() == CANCEL_PAYLOAD or _CANCEL_WORDS.match(text)):
            return await self._leave_queue(sender, self.desk.cancel, messages.HANDOFF_CANCELLED)
        if owner.status == QUEUED and text.strip() == CALLBACK_PAYLOAD:
            return await self._leave_queue(sender, self.desk.request_callback, messages.CALLBACK_BOOKED)
        recorded = await asyncio.to_thread(self.desk.customer_says, sender, text)
        await self._record_in_tracker(sender, [during_handoff(text, metadata)])
        if recorded is None:  # the agent ended it in between: the bot answers after all
            return await self.handle(sender, owner.channel, text, metadata)
        item, turn = recorded
        await self.on_customer_turn(item, turn)
        if item.status == QUEUED:
            position = await asyncio.to_thread(self.desk.position, item)
            return [reply(sender, messages.STILL_WAITING.format(position=position))]
        return []

    async def _leave_queue(self, sender: str, leave: Callable[[str], Item | None], text: str) -> list[Reply]:
        await asyncio.to_thread(leave, sender)
        await self.on_queue_change()
        await self._record_in_tracker(sender, [{"event": "bot", "text": text}])
        return [with_state(reply(sender, text), "bot")]

    async def _rating(self, sender: str, text: str) -> str:
        """A bare "5" right after a handoff is its rating: recorded here, and passed on as the payload."""
        due = await asyncio.to_thread(self.desk.rating_due, sender)
        if due is None:
            return text
        found = _RATING.match(text) or re.match(r'^/rate_service\{"rating":\s*"([1-5])"\}$', text.strip())
        if not found:
            return text
        await asyncio.to_thread(self.desk.rate, due.id, int(found[1]))
        return RATING_PAYLOAD.format(score=found[1])

    async def _after_bot(
        self, sender: str, channel: str, metadata: dict[str, Any], replies: list[Reply]
    ) -> list[Reply]:
        """Bot replies as the customer sees them; a handoff in them is queued and explained."""
        handoff = next(
            (r["metadata"].pop("handoff") for r in replies if "handoff" in r.get("metadata", {})), None
        )
        for message in replies:
            if message.get("metadata") == {}:
                del message["metadata"]
        if handoff is None:
            return replies
        return await self._queue(sender, channel, metadata, replies, handoff)

    async def _queue(
        self, sender: str, channel: str, metadata: dict[str, Any], replies: list[Reply], handoff: dict
    ) -> list[Reply]:
        escalation = {key: handoff[key] for key in ("reason", "priority", "skill")}
        metrics.HANDOFFS.labels(escalation["reason"], escalation["skill"]).inc()
        customer = metadata.get("customer_no")
        item = await asyncio.to_thread(
            self.desk.enqueue, sender, channel, customer, escalation, handoff.get("summary") or {}
        )
        await self.on_queue_change()
        return [*replies, await self._queue_notice(sender, item)]

    async def _queue_notice(self, sender: str, item: Item) -> Reply:
        online = await asyncio.to_thread(self.agents.online)
        serving = [agent for agent in online if agent.can_take(item.skill)]
        position = await asyncio.to_thread(self.desk.position, item)
        cancel = {"title": messages.CANCEL_BUTTON, "payload": CANCEL_PAYLOAD}
        if not serving:
            callback = {"title": messages.CALLBACK_BUTTON, "payload": CALLBACK_PAYLOAD}
            text = messages.NOBODY_ONLINE.format(skill=item.summary.get("skill", ""))
            return with_state(reply(sender, text, [callback, cancel]), "queued")
        minutes = Desk.wait_minutes(position, len(serving))
        notice = messages.QUEUE_POSITION.format(position=position, minutes=minutes)
        return with_state(reply(sender, notice, [cancel]), "queued")

    async def _record_in_tracker(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Keep the tracker's history complete; a failure is logged, the handoff goes on."""
        try:
            await self.rasa.append_events(sender, events)
        except RasaUnavailable as error:
            logger.warning("could not record a handoff turn in the tracker: %s", error)

    async def agent_said(self, item: Item, turn: Turn) -> None:
        """An agent message joins the tracker as a bot utterance marked with the agent."""
        event = {
            "event": "bot",
            "text": turn.text,
            "metadata": {"agent": item.agent, "agent_name": item.agent_name},
        }
        await self._record_in_tracker(item.conversation_id, [event])

    async def bot_resumes(self, item: Item, outcome: str) -> list[Reply]:
        """After a hand-back or close: the bot says so and asks for a rating (``action_handoff_ended``)."""
        entities = {"handoff_outcome": outcome}
        try:
            replies = await self.rasa.trigger_intent(item.conversation_id, "handoff_ended", entities)
        except RasaUnavailable as error:
            logger.error("the bot could not resume after a handoff: %s", error)
            replies = [reply(item.conversation_id, messages.BACK_TO_BOT)]
        return [with_state(m, "bot") if i == 0 else m for i, m in enumerate(replies)]
