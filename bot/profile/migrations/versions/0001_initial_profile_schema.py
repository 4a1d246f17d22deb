"""Initial profile schema: customers and what they hold, staff, service records, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def codes(name: str, *values: str) -> sa.Enum:
    """A code column as the models declare it: a string limited to ``values`` by a CHECK constraint."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "advisors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_no", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "role",
            codes("role", "bot", "agent", "advisor", "supervisor"),
            nullable=False,
        ),
        sa.Column("shift_start", sa.Time(), nullable=False),
        sa.Column("shift_end", sa.Time(), nullable=False),
        sa.Column("working_days", sa.String(length=7), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role != 'bot'", name=op.f("ck_advisors_staff_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisors")),
        sa.UniqueConstraint("staff_no", name=op.f("uq_advisors_staff_no")),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column(
            "actor_role",
            codes("role", "bot", "agent", "advisor", "supervisor"),
            nullable=False,
        ),
        sa.Column("customer_no", sa.String(length=16), nullable=True),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column(
            "action",
            codes("audit_action", "read", "write"),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            codes("audit_outcome", "ok", "denied", "not_found", "rejected", "failed"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    op.create_index(op.f("ix_audit_records_at"), "audit_records", ["at"])
    op.create_index(op.f("ix_audit_records_customer_no"), "audit_records", ["customer_no"])
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            codes("product_kind", "money_market", "bond", "mixed", "equity", "index", "qdii", "wealth"),
            nullable=False,
        ),
        sa.Column(
            "risk",
            codes("product_risk", "R1", "R2", "R3", "R4", "R5"),
            nullable=False,
        ),
        sa.Column("settlement", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
    )
    op.create_table(
        "advisor_skills",
        sa.Column("advisor_id", sa.Integer(), nullable=False),
        sa.Column(
            "skill",
            codes("skill", "cards", "loans", "wealth", "tax_cross_border", "complaints", "fraud"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["advisor_id"],
            ["advisors.id"],
            name=op.f("fk_advisor_skills_advisor_id_advisors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("advisor_id", "skill", name=op.f("pk_advisor_skills")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_no", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("surname", sa.String(length=8), nullable=False),
        sa.Column(
            "gender",
            codes("gender", "male", "female"),
            nullable=False,
        ),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=True),
        sa.Column(
            "tier",
            codes("tier", "mass", "vip", "private"),
            nullable=False,
        ),
        sa.Column(
            "risk_level",
            codes("risk_level", "C1", "C2", "C3", "C4", "C5"),
            nullable=False,
        ),
        sa.Column("advisor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisor_id"],
            ["advisors.id"],
            name=op.f("fk_customers_advisor_id_advisors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("customer_no", name=op.f("uq_customers_customer_no")),
        sa.UniqueConstraint("id_number", name=op.f("uq_customers_id_number")),
    )
    op.create_index(op.f("ix_customers_advisor_id"), "customers", ["advisor_id"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=19), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            codes("account_kind", "current", "fixed"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column(
            "status",
            codes("account_status", "active", "dormant", "closed"),
            nullable=False,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("number", name=op.f("uq_accounts_number")),
    )
    op.create_index(op.f("ix_accounts_customer_id"), "accounts", ["customer_id"])
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("advisor_id", sa.Integer(), nullable=True),
        sa.Column(
            "topic",
            codes("skill", "cards", "loans", "wealth", "tax_cross_border", "complaints", "fraud"),
            nullable=False,
        ),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            codes("appointment_status", "booked", "cancelled", "completed"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_appointments_advisor_id_advisors")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_appointments_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("reference", name=op.f("uq_appointments_reference")),
    )
    op.create_index(op.f("ix_appointments_customer_id"), "appointments", ["customer_id"])
    op.create_table(
        "channel_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            codes("channel", "web", "wechat"),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_channel_bindings_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_bindings")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_channel_bindings_channel_external_id")),
    )
    op.create_index(op.f("ix_channel_bindings_customer_id"), "channel_bindings", ["customer_id"])
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            codes("consent_kind", "marketing", "personalisation", "third_party"),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_consents_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("customer_id", "kind", name=op.f("uq_consents_customer_id_kind")),
    )
    op.create_index(op.f("ix_consents_customer_id"), "consents", ["customer_id"])
    op.create_table(
        "holdings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("units", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("plan_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("plan_day", sa.SmallInteger(), nullable=True),
        sa.Column(
            "plan_status",
            codes("plan_status", "active", "paused"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(plan_amount IS NULL) = (plan_day IS NULL) AND (plan_day IS NULL) = (plan_status IS NULL)",
            name=op.f("ck_holdings_plan_complete"),
        ),
        sa.CheckConstraint("plan_day BETWEEN 1 AND 28", name=op.f("ck_holdings_plan_day")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_holdings_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_holdings_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings")),
        sa.UniqueConstraint("customer_id", "product_id", name=op.f("uq_holdings_customer_id_product_id")),
    )
    op.create_index(op.f("ix_holdings_customer_id"), "holdings", ["customer_id"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            codes(
                "ticket_category", "fees", "service", "card", "transfer", "loan", "wealth", "fraud", "other"
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            codes("ticket_status", "open", "in_progress", "resolved", "closed"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("advisor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolve_by", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["advisor_id"], ["advisors.id"], name=op.f("fk_tickets_advisor_id_advisors")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tickets_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("reference", name=op.f("uq_tickets_reference")),
    )
    op.create_index(op.f("ix_tickets_customer_id"), "tickets", ["customer_id"])
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=19), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            codes("card_kind", "debit", "credit"),
            nullable=False,
        ),
        sa.Column(
            "status",
            codes("card_status", "active", "frozen", "lost"),
            nullable=False,
        ),
        sa.Column("credit_limit", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("daily_transfer_limit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(kind = 'credit') = (credit_limit IS NOT NULL)", name=op.f("ck_cards_credit_limit_iff_credit")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_cards_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cards_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("number", name=op.f("uq_cards_number")),
    )
    op.create_index(op.f("ix_cards_customer_id"), "cards", ["customer_id"])
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("counterparty", sa.String(length=64), nullable=False),
        sa.Column(
            "channel",
            codes(
                "transaction_channel",
                "mobile_banking",
                "quick_pay",
                "pos",
                "atm",
                "counter",
                "payroll",
                "auto_debit",
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_transactions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    op.create_index("ix_transactions_account_time", "transactions", ["account_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("transactions")
    op.drop_table("cards")
    op.drop_table("tickets")
    op.drop_table("holdings")
    op.drop_table("consents")
    op.drop_table("channel_bindings")
    op.drop_table("appointments")
    op.drop_table("accounts")
    op.drop_table("customers")
    op.drop_table("advisor_skills")
    op.drop_table("products")
    op.drop_table("audit_records")
    op.drop_table("advisors")
