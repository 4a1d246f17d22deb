"""The reporting tables: one row per conversation, per customer turn, per handoff and per complaint.

They live in the profile database (migration 0004) beside the desk and ticket tables they are built
from, but hold no personal data: conversation and customer ids are keyed hashes
(``bot.privacy.pseudonym``), texts are the gateway's PII-masked copies, and nothing from the
customer tables is copied. ``bot.analytics.capture`` fills them; ``bot.analytics.measures`` reads them.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.profile.models import Base, UtcDateTime

TEXT_CHARS = 500  # a turn's text as kept for gap analysis; longer pastes are cut


class ReportConversation(Base):
    """A Rasa session: from its start to the next one (or the latest turn)."""

    __tablename__ = "report_conversations"
    __table_args__ = (sa.UniqueConstraint("conversation", "started_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    conversation = sa.Column(sa.String(32), nullable=False, index=True)  # pseudonym of the sender id
    customer = sa.Column(sa.String(32))  # pseudonym of the verified customer number, if any
    channel = sa.Column(sa.String(16), nullable=False)
    started_at = sa.Column(UtcDateTime, nullable=False, index=True)
    last_at = sa.Column(UtcDateTime, nullable=False)
    turns = sa.Column(sa.Integer, nullable=False, default=0)  # customer messages
    unanswered = sa.Column(sa.Integer, nullable=False, default=0)
    escalated = sa.Column(sa.Boolean, nullable=False, default=False)  # a person was asked for
    handoff_reason = sa.Column(sa.String(32))
    rating = sa.Column(sa.Integer)  # the customer's 1-5 satisfaction rating
    simulated = sa.Column(sa.Boolean, nullable=False, default=False)


class ReportTurn(Base):
    """One customer message and what the assistant did with it."""

    __tablename__ = "report_turns"

    id = sa.Column(sa.Integer, primary_key=True)
    message_id = sa.Column(sa.String(64), nullable=False, unique=True)  # Rasa's, so a re-read is no duplicate
    conversation_id = sa.Column(
        sa.Integer, sa.ForeignKey("report_conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at = sa.Column(UtcDateTime, nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    text = sa.Column(sa.String(TEXT_CHARS), nullable=False)  # PII-masked by the gateway
    intent = sa.Column(sa.String(64))
    confidence = sa.Column(sa.Float)
    sentiment = sa.Column(sa.String(8))  # negative / neutral / positive
    sentiment_score = sa.Column(sa.Float)
    kb_outcome = sa.Column(sa.String(12))  # confident / chosen / ambiguous / none
    kb_article = sa.Column(sa.String(32))
    answered = sa.Column(sa.Boolean, nullable=False)  # False: fallback, "not found", nothing said
    response_ms = sa.Column(sa.Float)  # gateway receipt to the assistant's last reply of the turn
    actions = sa.Column(sa.String(500), nullable=False, default="")
    handoff_reason = sa.Column(sa.String(32))
    kb_vote = sa.Column(sa.String(3))  # yes / no: the customer's 有用 / 没用 on ``kb_article``
    rating = sa.Column(sa.Integer)
    to_agent = sa.Column(sa.Boolean, nullable=False, default=False)  # said while a person served


class ReportHandoff(Base):
    """A conversation handed to a person: how long the customer waited, how it ended."""

    __tablename__ = "report_handoffs"

    handoff_id = sa.Column(sa.Integer, primary_key=True)  # the desk's handoffs.id
    conversation = sa.Column(sa.String(32), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.String(32), nullable=False)
    priority = sa.Column(sa.String(2), nullable=False)
    skill = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    queued_at = sa.Column(UtcDateTime, nullable=False, index=True)
    claimed_at = sa.Column(UtcDateTime)
    ended_at = sa.Column(UtcDateTime)
    disposition = sa.Column(sa.String(32))
    rating = sa.Column(sa.Integer)
    simulated = sa.Column(sa.Boolean, nullable=False, default=False)


class ReportTicket(Base):
    """A complaint ticket's deadlines and status (no customer, no description)."""

    __tablename__ = "report_tickets"

    ticket_id = sa.Column(sa.Integer, primary_key=True)  # tickets.id
    category = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(UtcDateTime, nullable=False, index=True)
    respond_by = sa.Column(UtcDateTime, nullable=False)
    resolve_by = sa.Column(UtcDateTime, nullable=False)


class ReportState(Base):
    """Where capture stopped reading (per source), so each run reads only what is new."""

    __tablename__ = "report_state"

    name = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.String(255), nullable=False)
    updated_at = sa.Column(UtcDateTime, nullable=False)


class ReportSimulation(Base):
    """A conversation played by ``python -m bot simulate``: reported ``days_back`` days earlier, marked
    simulated, so a demo dashboard shows weeks of traffic and real traffic can be told apart."""

    __tablename__ = "report_simulations"

    conversation = sa.Column(sa.String(32), primary_key=True)
    days_back = sa.Column(sa.Integer, nullable=False)
