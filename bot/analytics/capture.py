"""Filling the reporting tables from what already records every conversation.

Sources: Rasa's tracker store (every message, NLU result, sentiment, action, knowledge-base outcome
and handoff), the service desk's ``handoffs`` (queue wait, agent, disposition, rating) and the
complaint ``tickets``. Each run reads only what is new: tracker events after a checkpoint that never
passes a turn still in progress, handoffs not final yet or recently ended, and all tickets (a few
hundred). Identifiers are pseudonymised on the way in (``bot.privacy.pseudonym``).

Gateway replicas all run it (``Capture.sync`` every few seconds); a lease in ``report_state``
lets one at a time do the work, and every row has a natural key (Rasa's message id, the desk's and
the ticket table's ids), so a run repeated after a crash writes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.analytics.models import (
    TEXT_CHARS,
    ReportConversation,
    ReportHandoff,
    ReportSimulation,
    ReportState,
    ReportTicket,
    ReportTurn,
)
from bot.analytics.turns import Reading, SessionStart, Turn, read_conversation
from bot.handoff.models import OPEN, WAITING, Handoff
from bot.privacy import pseudonym
from bot.profile.db import create_engine, session_scope
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Ticket, utc_now

logger = logging.getLogger(__name__)

BATCH_EVENTS = 5000
STALE_TURN = dt.timedelta(minutes=10)  # a turn never finished (Rasa died mid-turn) is recorded as is
RATING_WINDOW = dt.timedelta(hours=1)  # ended handoffs are re-read this long: the rating comes after
LEASE = dt.timedelta(seconds=60)
TRACKER_CHECKPOINT, LEASE_NAME = "tracker_event_id", "capture_lease"

Event = dict[str, Any]

# Rasa's SQL tracker store table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent); read only.
EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("data", sa.Text),
)


@dataclass
class SyncResult:
    turns: int = 0
    conversations: int = 0
    handoffs: int = 0
    tickets: int = 0
    skipped: bool = False  # another replica holds the lease


class TrackerEvents:
    """Reads Rasa's tracker store (SQLite file or PostgreSQL) in event-id order."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def after(self, event_id: int, limit: int = BATCH_EVENTS) -> list[tuple[int, str, Event]]:
        """``(id, sender, event)`` after ``event_id``; none while Rasa has not created its table yet."""
        query = sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.id > event_id)
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query.order_by(EVENTS.c.id).limit(limit)).all()
        except DBAPIError as error:
            if "events" in str(error.orig) and _missing_table(error):
                return []
            raise ProfileUnavailable(f"tracker store unavailable: {error.orig}") from error
        return [(row.id, row.sender_id, event) for row in rows if (event := _event(row.data)) is not None]


def _missing_table(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "no such table" in text or "does not exist" in text


def _event(data: str | None) -> Event | None:
    try:
        event = json.loads(data or "")
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("timestamp"), int | float) else None


class Capture:
    """One reporting pipeline: tracker store + service desk + tickets → reporting tables."""

    def __init__(
        self,
        sessions: sessionmaker,
        tracker: TrackerEvents,
        key: bytes,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.sessions, self.tracker, self.key, self.clock = sessions, tracker, key, clock
        self.holder = secrets.token_hex(8)

    def pseudonym(self, identifier: str) -> str:
        return pseudonym(self.key, identifier)

    def sync(self) -> SyncResult:
        """Record what is new since the last run (of any replica)."""
        if not self._take_lease():
            return SyncResult(skipped=True)
        result = SyncResult()
        try:
            while self._record_tracker_batch(result):
                pass
            self._record_handoffs(result)
            self._record_tickets(result)
        except IntegrityError:  # another replica's run overlapped after its lease expired: next time
            logger.info("reporting rows were recorded concurrently; continuing on the next run")
        finally:
            self._release_lease()
        return result

    # -- the lease ---------------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        now = self.clock()
        with session_scope(self.sessions) as session:
            if session.get(ReportState, LEASE_NAME) is None:
                session.add(ReportState(name=LEASE_NAME, value="", updated_at=now - LEASE))
        with session_scope(self.sessions) as session:
            taken = session.execute(
                sa.update(ReportState)
                .where(
                    ReportState.name == LEASE_NAME,
                    sa.or_(ReportState.value.in_(("", self.holder)), ReportState.updated_at < now - LEASE),
                )
                .values(value=self.holder, updated_at=now)
            )
            return taken.rowcount == 1

    def _release_lease(self) -> None:
        with session_scope(self.sessions) as session:
            session.execute(
                sa.update(ReportState)
                .where(ReportState.name == LEASE_NAME, ReportState.value == self.holder)
                .values(value="")
            )

    # -- tracker events ----------------------------------------------------------------------------

    def _record_tracker_batch(self, result: SyncResult) -> bool:
        """One batch of tracker events; True when there may be more."""
        with session_scope(self.sessions) as session:
            checkpoint = int(_state(session, TRACKER_CHECKPOINT) or 0)
        rows = self.tracker.after(checkpoint)
        if not rows:
            return False
        readings = {sender: read_conversation(sender, events) for sender, events in _by_sender(rows).items()}
        stale = self.clock() - STALE_TURN
        for reading in readings.values():
            if reading.open_turn is not None and reading.open_turn.at < stale:
                reading.items.append(reading.open_turn)
                reading.open_turn = reading.open_from = None
        open_from = [r.open_from for r in readings.values() if r.open_from is not None]
        next_checkpoint = min(open_from) - 1 if open_from else rows[-1][0]
        with session_scope(self.sessions) as session:
            shifts = _simulated(session)
            for reading in readings.values():
                self._record_reading(session, reading, shifts, result)
            _set_state(session, TRACKER_CHECKPOINT, str(next_checkpoint), self.clock())
        return len(rows) == BATCH_EVENTS and next_checkpoint > checkpoint

    def _record_reading(
        self, session: Session, reading: Reading, shifts: dict[str, int], result: SyncResult
    ) -> None:
        for item in reading.items:
            conversation = self.pseudonym(item.sender)
            shift = dt.timedelta(days=shifts.get(conversation, 0))
            if isinstance(item, SessionStart):
                self._conversation(session, conversation, item.at - shift, conversation in shifts, result)
            else:
                self._record_turn(session, conversation, item, shift, conversation in shifts, result)

    def _conversation(
        self,
        session: Session,
        conversation: str,
        started_at: dt.datetime,
        simulated: bool,
        result: SyncResult,
        channel: str = "unknown",
    ) -> ReportConversation:
        """The conversation starting at ``started_at`` (created once; re-reads find it)."""
        found = session.scalar(
            sa.select(ReportConversation).where(
                ReportConversation.conversation == conversation, ReportConversation.started_at == started_at
            )
        )
        if found is not None:
            return found
        row = ReportConversation(
            conversation=conversation,
            channel=channel,
            started_at=started_at,
            last_at=started_at,
            turns=0,
            unanswered=0,
            escalated=False,
            simulated=simulated,
        )
        session.add(row)
        session.flush()
        result.conversations += 1
        return row

    def _record_turn(
        self,
        session: Session,
        conversation: str,
        turn: Turn,
        shift: dt.timedelta,
        simulated: bool,
        result: SyncResult,
    ) -> None:
        if session.scalar(sa.select(ReportTurn.id).where(ReportTurn.message_id == turn.message_id)):
            return
        when = turn.at - shift
        row = _conversation_at(session, conversation, when) or self._conversation(
            session, conversation, when, simulated, result, turn.channel
        )
        session.add(_turn_row(row, turn, when))
        _count_turn(row, turn, when, self.pseudonym)
        result.turns += 1

    # -- the service desk and complaints -----------------------------------------------------------

    def _record_handoffs(self, result: SyncResult) -> None:
        with session_scope(self.sessions) as session:
            last_id = int(_state(session, "handoff_id") or 0)
            recent = self.clock() - RATING_WINDOW
            handoffs = session.scalars(
                sa.select(Handoff).where(
                    sa.or_(
                        Handoff.id > last_id,
                        Handoff.status.in_((*OPEN, *WAITING)),
                        Handoff.ended_at >= recent,
                    )
                )
            ).all()
            shifts = _simulated(session)
            for handoff in handoffs:
                self._record_handoff(session, handoff, shifts)
            result.handoffs += len(handoffs)
            newest = max((h.id for h in handoffs), default=last_id)
            _set_state(session, "handoff_id", str(max(newest, last_id)), self.clock())

    def _record_handoff(self, session: Session, handoff: Handoff, shifts: dict[str, int]) -> None:
        conversation = self.pseudonym(handoff.conversation_id)
        shift = dt.timedelta(days=shifts.get(conversation, 0))
        row = session.get(ReportHandoff, handoff.id) or ReportHandoff(handoff_id=handoff.id)
        row.conversation, row.channel, row.simulated = conversation, handoff.channel, conversation in shifts
        row.reason, row.priority, row.skill, row.status = (
            handoff.reason,
            handoff.priority,
            handoff.skill,
            handoff.status,
        )
        row.queued_at = handoff.waiting_since - shift
        row.claimed_at = handoff.claimed_at - shift if handoff.claimed_at else None
        row.ended_at = handoff.ended_at - shift if handoff.ended_at else None
        row.disposition, row.rating = handoff.disposition, handoff.rating
        session.add(row)
        talk = _conversation_at(session, conversation, row.queued_at)
        if talk is not None:
            talk.escalated = True
            talk.handoff_reason = talk.handoff_reason or handoff.reason
            talk.rating = handoff.rating if handoff.rating is not None else talk.rating

    def _record_tickets(self, result: SyncResult) -> None:
        with session_scope(self.sessions) as session:
            for ticket in session.scalars(sa.select(Ticket)):
                row = session.get(ReportTicket, ticket.id) or ReportTicket(ticket_id=ticket.id)
                row.category, row.status = ticket.category.value, ticket.status.value
                row.created_at, row.respond_by, row.resolve_by = (
                    ticket.created_at,
                    ticket.respond_by,
                    ticket.resolve_by,
                )
                session.add(row)
                result.tickets += 1


def _by_sender(rows: Iterable[tuple[int, str, Event]]) -> dict[str, list[tuple[int, Event]]]:
    grouped: dict[str, list[tuple[int, Event]]] = defaultdict(list)
    for event_id, sender, event in rows:
        grouped[sender].append((event_id, event))
    return grouped


def _state(session: Session, name: str) -> str | None:
    found = session.get(ReportState, name)
    return found.value if found is not None else None


def _set_state(session: Session, name: str, value: str, now: dt.datetime) -> None:
    found = session.get(ReportState, name)
    if found is None:
        session.add(ReportState(name=name, value=value, updated_at=now))
    else:
        found.value, found.updated_at = value, now


def _simulated(session: Session) -> dict[str, int]:
    """Days to move each simulated conversation back by (``python -m bot simulate``)."""
    return dict(session.execute(sa.select(ReportSimulation.conversation, ReportSimulation.days_back)).all())


def _conversation_at(session: Session, conversation: str, when: dt.datetime) -> ReportConversation | None:
    """The conversation a moment belongs to: the latest one started at or before it."""
    return session.scalar(
        sa.select(ReportConversation)
        .where(ReportConversation.conversation == conversation, ReportConversation.started_at <= when)
        .order_by(ReportConversation.started_at.desc())
        .limit(1)
    )


def _turn_row(conversation: ReportConversation, turn: Turn, when: dt.datetime) -> ReportTurn:
    return ReportTurn(
        message_id=turn.message_id,
        conversation_id=conversation.id,
        at=when,
        channel=turn.channel,
        text=turn.text[:TEXT_CHARS],
        intent=turn.intent,
        confidence=turn.confidence,
        sentiment=turn.sentiment,
        sentiment_score=turn.sentiment_score,
        kb_outcome=turn.kb_outcome,
        kb_article=turn.kb_article,
        answered=turn.answered,
        response_ms=turn.response_ms,
        actions=",".join(turn.actions)[:500],
        handoff_reason=turn.handoff_reason,
        kb_vote=turn.kb_vote,
        rating=turn.rating,
        to_agent=turn.to_agent,
    )


def _count_turn(
    conversation: ReportConversation, turn: Turn, when: dt.datetime, pseudonymise: Callable[[str], str]
) -> None:
    """Keep the conversation's totals in step with its turns."""
    if conversation.turns == 0 or conversation.channel == "unknown":
        conversation.channel = turn.channel
    conversation.turns += 1
    conversation.unanswered += not turn.answered
    conversation.last_at = max(conversation.last_at, when)
    if turn.customer_no and conversation.customer is None:
        conversation.customer = pseudonymise(turn.customer_no)
    if turn.handoff_reason:
        conversation.escalated = True
        conversation.handoff_reason = conversation.handoff_reason or turn.handoff_reason
    if turn.rating is not None:
        conversation.rating = turn.rating
