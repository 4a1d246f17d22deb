"""Reading a conversation's tracker events as the reporting sees them: sessions and customer turns.

A turn is a customer message and everything the assistant did until it listened again: the NLU
result and sentiment of the ``user`` event, the actions run, the knowledge-base outcome and the
handoff its ``bot`` events carry (``metadata.knowledge_base`` / ``metadata.handoff``). Pure
functions over Rasa's event dicts, so the definitions can be tested on scripted conversations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.vocabulary import ANSWERED, ARTICLE_ENTITY, FEEDBACK_INTENT, VOTE_ENTITY

LISTEN = "action_listen"
LOW_CONFIDENCE_ACTION = "action_handle_low_confidence"
RATING_INTENT, RATING_ENTITY = "rate_service", "rating"
VOTES = ("yes", "no")
VERIFIED_SLOT = "verified_customer_no"  # set by actions/verification.py
NO_ANSWER = "none"  # knowledge-base outcome: nothing fitted (topic overview or "not found")


@dataclass(frozen=True)
class SessionStart:
    sender: str
    at: dt.datetime


@dataclass
class Turn:
    """One customer message and the assistant's handling of it."""

    sender: str
    message_id: str
    at: dt.datetime
    channel: str
    text: str
    intent: str | None
    confidence: float | None
    sentiment: str | None
    sentiment_score: float | None
    customer_no: str | None
    received_at: float | None  # the gateway's clock when the message arrived (metadata)
    to_agent: bool = False
    actions: list[str] = field(default_factory=list)
    kb_outcome: str | None = None
    kb_article: str | None = None
    handoff_reason: str | None = None
    replied_at: float | None = None  # when the assistant listened again
    kb_vote: str | None = None
    rating: int | None = None

    @property
    def answered(self) -> bool:
        """False when the customer got no answer: the knowledge base had nothing that fits, or NLU was
        unsure and no article helped (the same turns the escalation policy counts as unanswered)."""
        if self.to_agent:
            return True
        if self.kb_outcome == NO_ANSWER:
            return False
        return LOW_CONFIDENCE_ACTION not in self.actions or self.kb_outcome in ANSWERED

    @property
    def response_ms(self) -> float | None:
        if self.replied_at is None or self.to_agent:
            return None
        started = self.received_at if self.received_at is not None else self.at.timestamp()
        return round(max(0.0, self.replied_at - started) * 1000, 1)


Item = SessionStart | Turn


def at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


def _entity(parse: dict[str, Any], name: str) -> str | None:
    found = [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == name]
    return str(found[0]) if found and found[0] is not None else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def start_turn(sender: str, event: dict[str, Any]) -> Turn:
    metadata = event.get("metadata") or {}
    parse = event.get("parse_data") or {}
    intent = (parse.get("intent") or {}).get("name") or None
    sentiment = parse.get("sentiment") or {}
    message_id = event.get("message_id") or parse.get("message_id") or f"{sender}@{event['timestamp']}"
    turn = Turn(
        sender=sender,
        message_id=str(message_id)[:64],
        at=at(event["timestamp"]),
        channel=str(metadata.get("channel") or event.get("input_channel") or "unknown")[:16],
        text=str(event.get("text") or ""),
        intent=intent,
        confidence=_number((parse.get("intent") or {}).get("confidence")),
        sentiment=sentiment.get("label"),
        sentiment_score=_number(sentiment.get("score")),
        customer_no=metadata.get("customer_no"),
        received_at=_number(metadata.get("received_at")),
        to_agent=bool(metadata.get("to_agent")),
    )
    if intent == FEEDBACK_INTENT and _entity(parse, VOTE_ENTITY) in VOTES:
        turn.kb_vote, turn.kb_article = _entity(parse, VOTE_ENTITY), _entity(parse, ARTICLE_ENTITY)
    rating = _entity(parse, RATING_ENTITY) if intent == RATING_INTENT else None
    turn.rating = int(rating) if rating in {"1", "2", "3", "4", "5"} else None
    return turn


def note(turn: Turn, event: dict[str, Any]) -> bool:
    """Add an assistant event to the turn; True when the turn is over (the assistant listens again)."""
    kind = event.get("event")
    if kind == "action":
        if event.get("name") == LISTEN:
            turn.replied_at = event["timestamp"]
            return True
        turn.actions.append(str(event.get("name")))
    elif kind == "slot" and event.get("name") == VERIFIED_SLOT and event.get("value"):
        turn.customer_no = str(event["value"])  # verified by SMS code during this turn
    elif kind == "bot":
        metadata = event.get("metadata") or {}
        knowledge = metadata.get("knowledge_base") or {}
        if knowledge.get("outcome"):
            turn.kb_outcome = str(knowledge["outcome"])[:12]
            turn.kb_article = turn.kb_article or knowledge.get("article_id")
        handoff = metadata.get("handoff") or {}
        if handoff.get("reason"):
            turn.handoff_reason = str(handoff["reason"])[:32]
    return False


@dataclass
class Reading:
    """What a run of one sender's events says: finished items, and a turn still in progress."""

    items: list[Item] = field(default_factory=list)
    open_turn: Turn | None = None
    open_from: int | None = None  # the event id where ``open_turn`` began


def read_conversation(sender: str, events: Iterable[tuple[int, dict[str, Any]]]) -> Reading:
    """Session starts and finished turns from one sender's ``(event id, event)`` pairs in tracker order.

    A message said while a person serves the conversation is a turn of its own (the assistant does
    not answer it); any other turn ends when the assistant listens again.
    """
    reading = Reading()
    for event_id, event in events:
        kind = event.get("event")
        if kind == "session_started":
            reading.open_turn = reading.open_from = None
            reading.items.append(SessionStart(sender, at(event["timestamp"])))
        elif kind == "user":
            turn = start_turn(sender, event)
            if turn.to_agent:
                reading.open_turn = reading.open_from = None
                reading.items.append(turn)
            else:
                reading.open_turn, reading.open_from = turn, event_id
        elif reading.open_turn is not None and note(reading.open_turn, event):
            reading.items.append(reading.open_turn)
            reading.open_turn = reading.open_from = None
    return reading
