"""The service desk: the queue of conversations waiting for a person, and who owns which.

All state is in the database, so any gateway replica can answer for any conversation. State
changes that two people could race for (claiming, replying after a close) are conditional
updates: exactly one agent wins a claim, the other gets ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.agents import Agent
from bot.handoff.models import (
    ACTIVE,
    CALLBACK,
    CANCELLED,
    CLOSED,
    HANDED_BACK,
    OPEN,
    QUEUED,
    WAITING,
    Handoff,
    HandoffTurn,
)
from bot.handoff.policy import PRIORITIES
from bot.profile.db import session_scope
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Advisor, utc_now

HANDLING_MINUTES = 4  # average time an agent spends on a conversation, for the waiting estimate
RATING_WINDOW = dt.timedelta(minutes=30)  # a rating is taken this long after the human part ended
MAX_TURN_CHARS = 2000
FOR_CUSTOMER = ("agent", "bot")  # turns the customer must receive; the rest are for agents


class DeskError(Exception):
    """A desk request that cannot be done; ``status`` is the HTTP status the console API answers."""

    status = 400


class NotFoundError(DeskError):
    status = 404


class Conflict(DeskError):
    """Someone else got there first, or the conversation is no longer in a state for this."""

    status = 409


class Forbidden(DeskError):
    status = 403


@dataclass(frozen=True)
class Item:
    """One handoff as agents' clients see it."""

    id: int
    conversation_id: str
    channel: str
    customer_no: str | None
    status: str
    priority: str
    skill: str
    reason: str
    summary: dict[str, Any]
    waiting_since: dt.datetime
    agent: str | None
    agent_name: str | None
    customer_present: bool
    rating: int | None
    disposition: str | None

    def as_dict(self, position: int | None = None) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "handoff_id": self.id,
            "channel": self.channel,
            "priority": self.priority,
            "skill": self.skill,
            "skill_label": self.summary.get("skill"),
            "reason": self.reason,
            "reason_label": self.summary.get("reason"),
            "status": self.status,
            "waiting_since": self.waiting_since.isoformat(),
            "agent": self.agent,
            "agent_name": self.agent_name,
            "customer_present": self.customer_present,
            "position": position,
            "rating": self.rating,
            "disposition": self.disposition,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Turn:
    who: str  # customer / agent / system
    text: str
    at: dt.datetime
    agent_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "text": self.text, "at": self.at.isoformat(), "agent_name": self.agent_name}


def queue_order(item: Item) -> tuple[int, dt.datetime, int]:
    """Most urgent first, then longest waiting; the id keeps equal times stable."""
    return PRIORITIES.index(item.priority), item.waiting_since, item.id


class Desk:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    # -- the customer's side ------------------------------------------------------------------

    def enqueue(
        self,
        conversation_id: str,
        channel: str,
        customer_no: str | None,
        escalation: dict[str, Any],
        summary: dict[str, Any],
    ) -> Item:
        """Queue a conversation for a person; one already waiting or owned is returned as it is."""
        with session_scope(self.sessions) as session:
            existing = _open(session, conversation_id)
            if existing is not None:
                return _item(session, existing)
            handoff = Handoff(
                conversation_id=conversation_id,
                channel=channel,
                customer_no=customer_no,
                status=QUEUED,
                priority=escalation["priority"],
                skill=escalation["skill"],
                reason=escalation["reason"],
                summary=summary,
                waiting_since=utc_now(),
                customer_present=True,
            )
            session.add(handoff)
            session.flush()
            return _item(session, handoff)

    def open_for(self, conversation_id: str) -> Item | None:
        """The handoff that owns the conversation now (waiting or with an agent), if any."""
        with session_scope(self.sessions) as session:
            handoff = _open(session, conversation_id)
            return _item(session, handoff) if handoff else None

    def position(self, item: Item) -> int:
        """1 + how many conversations for the same skill are ahead of this one."""
        waiting = [i for i in self.waiting() if i.status == QUEUED and i.skill == item.skill]
        ahead = [i for i in waiting if queue_order(i) < queue_order(item)]
        return len(ahead) + 1

    @staticmethod
    def wait_minutes(position: int, agents_with_skill: int) -> int:
        return max(1, math.ceil(position * HANDLING_MINUTES / max(agents_with_skill, 1)))

    def customer_says(self, conversation_id: str, text: str) -> tuple[Item, Turn] | None:
        """Record a customer message for the agent; None when no person owns the conversation."""
        with session_scope(self.sessions) as session:
            handoff = _open(session, conversation_id)
            if handoff is None:
                return None
            handoff.customer_present = True
            turn = _add_turn(session, handoff, "customer", text)
            return _item(session, handoff), turn

    def cancel(self, conversation_id: str) -> Item | None:
        """The customer stops waiting and goes back to the bot (only before an agent took over)."""
        return self._leave_queue(conversation_id, CANCELLED, "客户取消了排队，已返回智能助手")

    def request_callback(self, conversation_id: str) -> Item | None:
        """The customer asks to be called back instead of waiting; the item stays for the skill."""
        return self._leave_queue(conversation_id, CALLBACK, "客户选择稍后回电，已返回智能助手")

    def _leave_queue(self, conversation_id: str, status: str, note: str) -> Item | None:
        with session_scope(self.sessions) as session:
            handoff = _open(session, conversation_id)
            if handoff is None or handoff.status != QUEUED:
                return None
            handoff.status = status
            if status == CANCELLED:
                handoff.ended_at = utc_now()
            _add_turn(session, handoff, "system", note)
            return _item(session, handoff)

    def customer_left(self, conversation_id: str) -> Item | None:
        """The customer's connection dropped mid-handoff: the agent is told, nothing is ended."""
        with session_scope(self.sessions) as session:
            handoff = _open(session, conversation_id)
            if handoff is None or not handoff.customer_present:
                return None
            handoff.customer_present = False
            _add_turn(session, handoff, "system", "客户已离开对话（连接断开）")
            return _item(session, handoff)

    def rating_due(self, conversation_id: str) -> Item | None:
        """The handoff just ended and not rated yet: a bare "5" from the customer is its rating."""
        with session_scope(self.sessions) as session:
            handoff = session.scalar(
                sa.select(Handoff)
                .where(Handoff.conversation_id == conversation_id, Handoff.status.in_((HANDED_BACK, CLOSED)))
                .order_by(Handoff.id.desc())
                .limit(1)
            )
            if handoff is None or handoff.rating is not None or handoff.ended_at < utc_now() - RATING_WINDOW:
                return None
            return _item(session, handoff)

    def rate(self, handoff_id: int, rating: int) -> None:
        if rating not in range(1, 6):
            raise DeskError("rating must be 1-5")
        with session_scope(self.sessions) as session:
            session.execute(
                sa.update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.rating.is_(None))
                .values(rating=rating)
            )

    def undelivered(self, conversation_id: str) -> list[Turn]:
        """Agent and bot messages the customer has not received yet (a REST client between requests)."""
        with session_scope(self.sessions) as session:
            rows = session.scalars(
                sa.select(HandoffTurn)
                .join(Handoff, Handoff.id == HandoffTurn.handoff_id)
                .where(
                    Handoff.conversation_id == conversation_id,
                    HandoffTurn.who.in_(FOR_CUSTOMER),
                    HandoffTurn.delivered.is_(False),
                )
                .order_by(HandoffTurn.id)
            ).all()
            for row in rows:
                row.delivered = True
            return [_turn(session, row) for row in rows]

    def note(self, conversation_id: str, text: str) -> None:
        """A note for the agent in the transcript (e.g. WeChat refused to deliver a message)."""
        with session_scope(self.sessions) as session:
            _add_turn(session, _latest(session, conversation_id), "system", text)

    def hold_for_customer(self, conversation_id: str, text: str) -> None:
        """A bot message for a customer not connected now (REST): handed over with their next request."""
        with session_scope(self.sessions) as session:
            _add_turn(session, _latest(session, conversation_id), "bot", text)

    def mark_delivered(self, conversation_id: str) -> None:
        with session_scope(self.sessions) as session:
            ids = sa.select(Handoff.id).where(Handoff.conversation_id == conversation_id)
            session.execute(
                sa.update(HandoffTurn)
                .where(HandoffTurn.handoff_id.in_(ids), HandoffTurn.who.in_(FOR_CUSTOMER))
                .values(delivered=True)
                .execution_options(synchronize_session=False)
            )

    # -- the agent's side ---------------------------------------------------------------------

    def waiting(self) -> list[Item]:
        """Everything waiting for a person, in queue order."""
        with session_scope(self.sessions) as session:
            rows = session.scalars(sa.select(Handoff).where(Handoff.status.in_(WAITING))).all()
            return sorted((_item(session, row) for row in rows), key=queue_order)

    def counts(self) -> dict[str, int]:
        """How many handoffs are queued, with an agent, or waiting for a callback."""
        with session_scope(self.sessions) as session:
            rows = session.execute(
                sa.select(Handoff.status, sa.func.count())
                .where(Handoff.status.in_((*OPEN, CALLBACK)))
                .group_by(Handoff.status)
            ).all()
        return {status: 0 for status in (*OPEN, CALLBACK)} | dict(rows)

    def reachable(self) -> bool:
        """For readiness: the desk's database answers a trivial query."""
        try:
            with session_scope(self.sessions) as session:
                session.execute(sa.select(1))
            return True
        except ProfileUnavailable:
            return False

    def queue_for(self, agent: Agent) -> list[tuple[Item, int]]:
        """What ``agent`` may take, in queue order, with each item's position within its skill."""
        return visible_to(agent, self.waiting())

    def owned_by(self, agent: Agent) -> list[Item]:
        with session_scope(self.sessions) as session:
            rows = session.scalars(
                sa.select(Handoff)
                .join(Advisor, Advisor.id == Handoff.agent_id)
                .where(Advisor.staff_no == agent.staff_no, Handoff.status == ACTIVE)
                .order_by(Handoff.claimed_at)
            ).all()
            return [_item(session, row) for row in rows]

    def get(self, conversation_id: str) -> tuple[Item, list[Turn]]:
        """The conversation's latest handoff and what was said during it."""
        with session_scope(self.sessions) as session:
            handoff = _latest(session, conversation_id)
            rows = session.scalars(
                sa.select(HandoffTurn).where(HandoffTurn.handoff_id == handoff.id).order_by(HandoffTurn.id)
            ).all()
            return _item(session, handoff), [_turn(session, row) for row in rows]

    def claim(self, conversation_id: str, agent: Agent) -> Item:
        with session_scope(self.sessions) as session:
            handoff = _latest(session, conversation_id)
            if not agent.can_take(handoff.skill):
                raise Forbidden(f"this conversation needs the {handoff.skill} skill")
            advisor_id = _advisor_id(session, agent)
            won = session.execute(
                sa.update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status.in_(WAITING))
                .values(status=ACTIVE, agent_id=advisor_id, claimed_at=utc_now())
            ).rowcount
            if not won:
                raise Conflict("already claimed by another agent or no longer waiting")
            session.refresh(handoff)
            _add_turn(session, handoff, "system", f"{agent.name}（{agent.staff_no}）已接入")
            return _item(session, handoff)

    def agent_says(self, conversation_id: str, agent: Agent, text: str) -> tuple[Item, Turn]:
        with session_scope(self.sessions) as session:
            handoff = self._owned(session, conversation_id, agent)
            return _item(session, handoff), _add_turn(
                session, handoff, "agent", text, _advisor_id(session, agent)
            )

    def transfer(self, conversation_id: str, agent: Agent, skill: str) -> Item:
        """Back into the queue for another skill, keeping its place in time and its priority."""
        with session_scope(self.sessions) as session:
            handoff = self._owned(session, conversation_id, agent)
            handoff.status, handoff.skill, handoff.agent_id, handoff.claimed_at = QUEUED, skill, None, None
            _add_turn(session, handoff, "system", f"{agent.name}已将对话转接给{skill}技能组")
            return _item(session, handoff)

    def end(self, conversation_id: str, agent: Agent, outcome: str, disposition: str) -> Item:
        """Hand back to the bot or close; either way the bot takes over again and asks for a rating."""
        if outcome not in (HANDED_BACK, CLOSED):
            raise DeskError(f"unknown outcome {outcome!r}")
        with session_scope(self.sessions) as session:
            handoff = self._owned(session, conversation_id, agent)
            handoff.status, handoff.ended_at, handoff.disposition = outcome, utc_now(), disposition
            note = "已转回智能助手" if outcome == HANDED_BACK else "会话已结束"
            _add_turn(session, handoff, "system", f"{agent.name}{note}")
            return _item(session, handoff)

    @staticmethod
    def _owned(session: Session, conversation_id: str, agent: Agent) -> Handoff:
        handoff = _latest(session, conversation_id)
        owner = session.get(Advisor, handoff.agent_id) if handoff.agent_id else None
        if handoff.status != ACTIVE:
            raise Conflict(f"the conversation is {handoff.status}, not with an agent")
        if owner is None or owner.staff_no != agent.staff_no:
            raise Conflict("the conversation is with another agent")
        return handoff


def visible_to(agent: Agent, waiting: list[Item]) -> list[tuple[Item, int]]:
    """The part of the queue (in queue order) ``agent``'s skills cover, with positions per skill."""
    positions: dict[str, int] = {}
    visible = []
    for item in waiting:
        positions[item.skill] = positions.get(item.skill, 0) + 1
        if agent.can_take(item.skill):
            visible.append((item, positions[item.skill]))
    return visible


def _open(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        sa.select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN))
        .limit(1)
    )


def _latest(session: Session, conversation_id: str) -> Handoff:
    handoff = session.scalar(
        sa.select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    if handoff is None:
        raise NotFoundError("no handoff for this conversation")
    return handoff


def _advisor_id(session: Session, agent: Agent) -> int:
    return session.scalar(sa.select(Advisor.id).where(Advisor.staff_no == agent.staff_no))


def _add_turn(session: Session, handoff: Handoff, who: str, text: str, agent_id: int | None = None) -> Turn:
    row = HandoffTurn(
        handoff_id=handoff.id,
        who=who,
        text=text[:MAX_TURN_CHARS],
        at=utc_now(),
        agent_id=agent_id,
        delivered=who not in FOR_CUSTOMER,
    )
    session.add(row)
    session.flush()
    return _turn(session, row)


def _item(session: Session, handoff: Handoff) -> Item:
    agent = session.get(Advisor, handoff.agent_id) if handoff.agent_id else None
    return Item(
        id=handoff.id,
        conversation_id=handoff.conversation_id,
        channel=handoff.channel,
        customer_no=handoff.customer_no,
        status=handoff.status,
        priority=handoff.priority,
        skill=handoff.skill,
        reason=handoff.reason,
        summary=dict(handoff.summary),
        waiting_since=handoff.waiting_since,
        agent=agent.staff_no if agent else None,
        agent_name=agent.name if agent else None,
        customer_present=handoff.customer_present,
        rating=handoff.rating,
        disposition=handoff.disposition,
    )


def _turn(session: Session, row: HandoffTurn) -> Turn:
    agent = session.get(Advisor, row.agent_id) if row.agent_id else None
    return Turn(row.who, row.text, row.at, agent.name if agent else None)
