"""Channel state: messages already taken (WeChat retries, web resends), WeChat's numbered options
offered and its API access token.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.profile.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbound_messages")),
    )
    op.create_table(
        "wechat_options",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("payloads", sa.JSON(), nullable=False),
        sa.Column("offered_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_options")),
    )
    op.create_table(
        "wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_wechat_tokens")),
    )


def downgrade() -> None:
    op.drop_table("wechat_tokens")
    op.drop_table("wechat_options")
    op.drop_table("inbound_messages")
