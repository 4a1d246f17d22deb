"""Reporting tables for the supervisors' dashboard (no personal data), and what a staff login is for.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.profile.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_sessions") as table:
        table.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="console"))
    op.create_table(
        "report_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=32), nullable=False),
        sa.Column("customer", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_conversations")),
        sa.UniqueConstraint(
            "conversation", "started_at", name=op.f("uq_report_conversations_conversation_started_at")
        ),
    )
    op.create_index(op.f("ix_report_conversations_conversation"), "report_conversations", ["conversation"])
    op.create_index(op.f("ix_report_conversations_started_at"), "report_conversations", ["started_at"])
    op.create_table(
        "report_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.String(length=8), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("kb_outcome", sa.String(length=12), nullable=True),
        sa.Column("kb_article", sa.String(length=32), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("response_ms", sa.Float(), nullable=True),
        sa.Column("actions", sa.String(length=500), nullable=False),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        sa.Column("kb_vote", sa.String(length=3), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("to_agent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["report_conversations.id"],
            name=op.f("fk_report_turns_conversation_id_report_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_turns")),
        sa.UniqueConstraint("message_id", name=op.f("uq_report_turns_message_id")),
    )
    op.create_index(op.f("ix_report_turns_at"), "report_turns", ["at"])
    op.create_index(op.f("ix_report_turns_conversation_id"), "report_turns", ["conversation_id"])
    op.create_table(
        "report_handoffs",
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_report_handoffs")),
    )
    op.create_index(op.f("ix_report_handoffs_conversation"), "report_handoffs", ["conversation"])
    op.create_index(op.f("ix_report_handoffs_queued_at"), "report_handoffs", ["queued_at"])
    op.create_table(
        "report_tickets",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("respond_by", UtcDateTime(), nullable=False),
        sa.Column("resolve_by", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_report_tickets")),
    )
    op.create_index(op.f("ix_report_tickets_created_at"), "report_tickets", ["created_at"])
    op.create_table(
        "report_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_state")),
    )
    op.create_table(
        "report_simulations",
        sa.Column("conversation", sa.String(length=32), nullable=False),
        sa.Column("days_back", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("conversation", name=op.f("pk_report_simulations")),
    )


def downgrade() -> None:
    for table in (
        "report_simulations",
        "report_state",
        "report_tickets",
        "report_handoffs",
        "report_turns",
        "report_conversations",
    ):
        op.drop_table(table)
    with op.batch_alter_table("agent_sessions") as table:
        table.drop_column("kind")
