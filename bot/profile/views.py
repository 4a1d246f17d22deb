"""What the profile service hands out: frozen snapshots, never ORM objects, numbers already masked.

Card and account numbers appear as ``****1234`` and phones as ``138****5678``; ID numbers never
leave the service.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bot.identifiers import mask_number, mask_phone
from bot.profile.models import (
    Account,
    AccountKind,
    AccountStatus,
    Appointment,
    AppointmentStatus,
    Card,
    CardKind,
    CardStatus,
    Channel,
    Customer,
    Holding,
    PlanStatus,
    Product,
    ProductKind,
    ProductRisk,
    RiskLevel,
    Skill,
    Ticket,
    TicketCategory,
    TicketStatus,
    Tier,
    Transaction,
    TransactionChannel,
)


def field_names(view: type) -> tuple[str, ...]:
    """The fields a view reveals, as recorded in the audit log."""
    return tuple(f.name for f in dataclasses.fields(view))


@dataclass(frozen=True)
class CustomerSummary:
    customer_no: str
    name: str
    surname: str
    title: str  # 先生 / 女士
    masked_phone: str
    tier: Tier

    @property
    def addressed_as(self) -> str:
        """How the assistant greets the customer: 张先生."""
        return self.surname + self.title


@dataclass(frozen=True)
class AccountView:
    masked_number: str
    kind: AccountKind
    currency: str
    balance: Decimal
    status: AccountStatus


@dataclass(frozen=True)
class CardView:
    masked_number: str
    kind: CardKind
    status: CardStatus
    credit_limit: Decimal | None
    daily_transfer_limit: Decimal
    masked_account: str | None


@dataclass(frozen=True)
class FixedInvestmentPlan:
    amount: Decimal
    day_of_month: int
    status: PlanStatus


@dataclass(frozen=True)
class HoldingView:
    product_code: str
    product_name: str
    product_kind: ProductKind
    product_risk: ProductRisk
    settlement: str
    units: Decimal
    amount: Decimal
    plan: FixedInvestmentPlan | None


@dataclass(frozen=True)
class Portfolio:
    """Holdings with the customer's risk level, which decides what else may be offered (C3 → up to R3)."""

    risk_level: RiskLevel
    holdings: tuple[HoldingView, ...]


# -- wealth (redemption, suitability) ----------------------------------------------------------


@dataclass(frozen=True)
class ProductView:
    code: str
    name: str
    kind: ProductKind
    risk: ProductRisk
    settlement: str  # "T+1确认，赎回T+2到账"


@dataclass(frozen=True)
class Suitability:
    """What may be offered to a customer: products up to their risk level, and those above it."""

    risk_level: RiskLevel
    tier: Tier
    allowed: tuple[ProductView, ...]
    above_level: tuple[ProductView, ...]
    held: tuple[str, ...]  # codes of the products the customer holds units of


@dataclass(frozen=True)
class RedemptionView:
    reference: str
    product_name: str
    amount: Decimal
    remaining: Decimal  # what is still held, at the same value
    settlement: str


# -- end wealth ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionView:
    occurred_at: dt.datetime
    masked_account: str
    amount: Decimal  # negative: money out
    currency: str
    counterparty: str
    channel: TransactionChannel
    description: str


@dataclass(frozen=True)
class TicketView:
    reference: str
    category: TicketCategory
    status: TicketStatus
    created_at: dt.datetime
    respond_by: dt.datetime
    resolve_by: dt.datetime
    handler_name: str | None  # the member of staff handling it


@dataclass(frozen=True)
class AppointmentView:
    reference: str
    topic: Skill
    branch: str
    starts_at: dt.datetime
    status: AppointmentStatus
    advisor_name: str | None


@dataclass(frozen=True)
class BindingView:
    customer_no: str
    channel: Channel
    verified: bool


def summary_view(customer: Customer) -> CustomerSummary:
    return CustomerSummary(
        customer_no=customer.customer_no,
        name=customer.name,
        surname=customer.surname,
        title=customer.title,
        masked_phone=mask_phone(customer.phone),
        tier=customer.tier,
    )


def account_view(row: Account) -> AccountView:
    return AccountView(mask_number(row.number), row.kind, row.currency, row.balance, row.status)


def card_view(row: Card) -> CardView:
    return CardView(
        masked_number=mask_number(row.number),
        kind=row.kind,
        status=row.status,
        credit_limit=row.credit_limit,
        daily_transfer_limit=row.daily_transfer_limit,
        masked_account=mask_number(row.account.number) if row.account else None,
    )


def holding_view(row: Holding) -> HoldingView:
    plan = None
    if row.plan_status is not None:
        plan = FixedInvestmentPlan(row.plan_amount, row.plan_day, row.plan_status)
    product = row.product
    return HoldingView(
        product_code=product.code,
        product_name=product.name,
        product_kind=product.kind,
        product_risk=product.risk,
        settlement=product.settlement,
        units=row.units,
        amount=row.amount,
        plan=plan,
    )


def product_view(row: Product) -> ProductView:
    return ProductView(row.code, row.name, row.kind, row.risk, row.settlement)


def transaction_view(row: Transaction) -> TransactionView:
    return TransactionView(
        occurred_at=row.occurred_at,
        masked_account=mask_number(row.account.number),
        amount=row.amount,
        currency=row.account.currency,
        counterparty=row.counterparty,
        channel=row.channel,
        description=row.description,
    )


def ticket_view(row: Ticket) -> TicketView:
    handler = row.advisor.name if row.advisor else None
    return TicketView(
        row.reference, row.category, row.status, row.created_at, row.respond_by, row.resolve_by, handler
    )


def appointment_view(row: Appointment) -> AppointmentView:
    advisor = row.advisor.name if row.advisor else None
    return AppointmentView(row.reference, row.topic, row.branch, row.starts_at, row.status, advisor)


# -- transfers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedPayees:
    """Whom the customer may pay from the chat (常用收款人, most recent first) and their own name."""

    holder: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class TransferAllowance:
    """What can leave the account the customer's debit card draws on, now and for the rest of today."""

    masked_account: str
    balance: Decimal
    daily_limit: Decimal
    sent_today: Decimal

    @property
    def left_today(self) -> Decimal:
        return max(Decimal(0), self.daily_limit - self.sent_today)


@dataclass(frozen=True)
class TransferView:
    reference: str
    payee: str
    amount: Decimal
    masked_account: str
    balance: Decimal  # after the transfer


# -- end transfers --------------------------------------------------------------------------------
