"""Money leaving a customer's account in the chat: saved payees, the account paid from, the limits.

Kept apart from ``service.py``, which authorizes and audits: these functions only check amounts and
read inside the session the service opened for one transfer.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.dates import CHINA
from bot.profile import views
from bot.profile.errors import (
    AmbiguousPayee,
    AmountNotPositive,
    DailyLimitExceeded,
    InsufficientFunds,
    NoTransferAccount,
    OverSingleLimit,
    SelfTransfer,
    UnknownPayee,
)
from bot.profile.models import (
    Account,
    AccountKind,
    AccountStatus,
    Card,
    CardKind,
    CardStatus,
    Customer,
    Transaction,
    TransactionChannel,
    utc_now,
)

TRANSFER_DESCRIPTION = "转账"
# Statement lines that are the customer paying a person: mobile-banking transfers and rent to a landlord
# (as bot/profile/seed.py writes them), and transfers made in the chat. Their counterparties are the
# customer's saved payees (常用收款人), and they count towards the card's daily transfer limit.
PERSON_TO_PERSON = ("手机银行转账", "房租", TRANSFER_DESCRIPTION)


_FAMILIAR_PREFIX = re.compile(r"^[小老阿](?=.)")  # 小李, 老王, 阿强
_TITLE_SUFFIX = re.compile(r"(?<=.)(先生|女士|小姐|阿姨|叔叔|总|哥|姐)$")  # 李先生, 王总, 刘阿姨


def resolve_payee(name: str, saved: views.SavedPayees) -> str:
    """The saved payee ``name`` refers to: the full name, or the one saved payee that 李 / 小李 / 李总 fits.

    Raises ``SelfTransfer`` for the customer's own name, ``UnknownPayee`` when no saved payee fits
    and ``AmbiguousPayee`` (with the candidates) when several do.
    """
    wanted = name.strip()
    if wanted == saved.holder:
        raise SelfTransfer("payee is the customer")
    if wanted in saved.names:
        return wanted
    core = _TITLE_SUFFIX.sub("", _FAMILIAR_PREFIX.sub("", wanted))
    fitting = tuple(n for n in saved.names if core and core in n)
    if not fitting:
        raise UnknownPayee(wanted)
    if len(fitting) > 1:
        raise AmbiguousPayee(wanted, fitting)
    return fitting[0]


def check_amount(amount: Decimal, max_single: Decimal) -> None:
    if amount <= 0:
        raise AmountNotPositive(f"amount {amount}")
    if amount > max_single:
        raise OverSingleLimit(amount, max_single)


def check_daily_limit(limit: Decimal, sent_today: Decimal, amount: Decimal) -> None:
    if sent_today + amount > limit:
        raise DailyLimitExceeded(amount, limit, max(Decimal(0), limit - sent_today))


def check_funds(allowance: views.TransferAllowance, amount: Decimal) -> None:
    """Whether ``amount`` can leave the account now: the balance, then today's limit."""
    if amount > allowance.balance:
        raise InsufficientFunds(amount, allowance.balance)
    check_daily_limit(allowance.daily_limit, allowance.sent_today, amount)


def person_to_person() -> list[sa.sql.ColumnElement]:
    return [
        Transaction.amount < 0,
        Transaction.channel == TransactionChannel.MOBILE_BANKING,
        Transaction.description.in_(PERSON_TO_PERSON),
    ]


def saved_payees_of(session: Session, customer: Customer) -> tuple[str, ...]:
    """Everyone the customer has transferred money to, most recent first."""
    query = (
        sa.select(Transaction.counterparty)
        .join(Account, Transaction.account_id == Account.id)
        .where(Account.customer_id == customer.id, *person_to_person())
        .group_by(Transaction.counterparty)
        .order_by(sa.func.max(Transaction.occurred_at).desc(), Transaction.counterparty)
    )
    return tuple(session.scalars(query))


def transfer_source(session: Session, customer: Customer) -> tuple[Account, Card]:
    """The active CNY current account an active debit card of the customer draws on, with that card."""
    query = (
        sa.select(Account, Card)
        .join(Card, Card.account_id == Account.id)
        .where(
            Card.customer_id == customer.id,
            Card.kind == CardKind.DEBIT,
            Card.status == CardStatus.ACTIVE,
            Account.customer_id == customer.id,
            Account.kind == AccountKind.CURRENT,
            Account.currency == "CNY",
            Account.status == AccountStatus.ACTIVE,
        )
        .order_by(Account.id, Card.id)
        .limit(1)
    )
    found = session.execute(query).first()
    if found is None:
        raise NoTransferAccount("no active CNY current account with an active debit card")
    return found.Account, found.Card


def sent_today(session: Session, account: Account) -> Decimal:
    """What the account has transferred to people since midnight, China time."""
    midnight = dt.datetime.combine(utc_now().astimezone(CHINA).date(), dt.time(), CHINA)
    total = sa.func.coalesce(sa.func.sum(-Transaction.amount), 0, type_=Transaction.amount.type)
    query = sa.select(total).where(
        Transaction.account_id == account.id, Transaction.occurred_at >= midnight, *person_to_person()
    )
    return session.scalar(query)
