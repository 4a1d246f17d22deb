"""The handoff tables: staff logins and sessions, handoffs waiting for or owned by an agent, and
what was said during them. They live in the profile database (migration 0002) next to the staff
they refer to, so every gateway replica sees the same queue.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.profile.models import Base, UtcDateTime, utc_now

# Handoff statuses: waiting → owned → ended. "callback": the customer went back to the bot and
# asked to be called back; it stays in the queue for an agent with the skill.
QUEUED, ACTIVE, CALLBACK = "queued", "active", "callback"
HANDED_BACK, CLOSED, CANCELLED = "handed_back", "closed", "cancelled"
OPEN = (QUEUED, ACTIVE)  # the bot stays silent
WAITING = (QUEUED, CALLBACK)  # shown in agents' queues


class StaffLogin(Base):
    """A member of staff's console password (scrypt hash)."""

    __tablename__ = "staff_logins"

    advisor_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id", ondelete="CASCADE"), primary_key=True)
    password_hash = sa.Column(sa.String(255), nullable=False)
    changed_at = sa.Column(UtcDateTime, nullable=False, default=utc_now)


# What a login is for: the agent console (it makes the agent present, so customers may be queued for
# them) or the supervisors' dashboard (``bot.analytics.admin``; looking at charts is not being online).
CONSOLE, DASHBOARD = "console", "dashboard"


class AgentSession(Base):
    """A console login; only the token's SHA-256 is stored. ``seen_at`` is presence (who is online)."""

    __tablename__ = "agent_sessions"

    token_hash = sa.Column(sa.String(64), primary_key=True)
    advisor_id = sa.Column(
        sa.Integer, sa.ForeignKey("advisors.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at = sa.Column(UtcDateTime, nullable=False)
    expires_at = sa.Column(UtcDateTime, nullable=False)
    seen_at = sa.Column(UtcDateTime, nullable=False)
    kind = sa.Column(sa.String(16), nullable=False, default=CONSOLE, server_default=CONSOLE)


class Handoff(Base):
    __tablename__ = "handoffs"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(128), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    customer_no = sa.Column(sa.String(16))  # only when verified
    status = sa.Column(sa.String(16), nullable=False, index=True)
    priority = sa.Column(sa.String(2), nullable=False)
    skill = sa.Column(sa.String(32), nullable=False)
    reason = sa.Column(sa.String(32), nullable=False)
    summary = sa.Column(sa.JSON, nullable=False)
    waiting_since = sa.Column(UtcDateTime, nullable=False)
    agent_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id"))
    claimed_at = sa.Column(UtcDateTime)
    ended_at = sa.Column(UtcDateTime)
    disposition = sa.Column(sa.String(32))
    rating = sa.Column(sa.Integer)
    customer_present = sa.Column(sa.Boolean, nullable=False, default=True)


class HandoffTurn(Base):
    """A message during a handoff (customer, agent or system note); texts are PII-masked."""

    __tablename__ = "handoff_turns"

    id = sa.Column(sa.Integer, primary_key=True)
    handoff_id = sa.Column(
        sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    who = sa.Column(sa.String(8), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    at = sa.Column(UtcDateTime, nullable=False)
    agent_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id"))
    delivered = sa.Column(sa.Boolean, nullable=False, default=False)  # agent text reached the customer
