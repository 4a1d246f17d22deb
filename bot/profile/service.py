"""The only way to read or write customer profile data: every request is checked against the access
table (``bot.profile.access``) and leaves an audit record, whatever its outcome.

A successful request is audited in the transaction that did the work, so a write and its record
are committed together or not at all. A refused or failed request is rolled back completely and then audited
in a separate transaction, before its error (``bot.profile.errors``) reaches the caller.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.identifiers import reference_number
from bot.profile import views
from bot.profile.access import Actor, FieldGroup, Relation, allowed
from bot.profile.db import session_scope
from bot.profile.errors import (
    AccessDenied,
    AmbiguousCard,
    CardAlreadyFrozen,
    NotFound,
    ProfileError,
    StateUnchanged,
    UnknownCustomer,
)
from bot.profile.models import (
    Account,
    Advisor,
    Appointment,
    AuditAction,
    AuditOutcome,
    AuditRecord,
    Card,
    CardStatus,
    Channel,
    ChannelBinding,
    Customer,
    Holding,
    PlanStatus,
    Product,
    Role,
    Ticket,
    TicketCategory,
    Transaction,
    utc_now,
)

T = TypeVar("T")
Work = Callable[[Session, Customer], T]

MAX_TRANSACTIONS = 100
MAX_PURPOSE_CHARS = 200
MAX_TICKET_CHARS = 2000


@dataclass(frozen=True)
class Operation:
    """One kind of request: the field group it needs and the fields the audit record lists."""

    name: str
    group: FieldGroup
    action: AuditAction
    fields: tuple[str, ...]


def reading(name: str, group: FieldGroup, *view_classes: type) -> Operation:
    fields = tuple(f for view in view_classes for f in views.field_names(view))
    return Operation(name, group, AuditAction.READ, fields)


IDENTIFY = reading("customer_by_binding", FieldGroup.IDENTITY, views.BindingView)
SUMMARY = reading("customer_summary", FieldGroup.CONTACT, views.CustomerSummary)
ACCOUNTS = reading("accounts", FieldGroup.ACCOUNTS, views.AccountView)
CARDS = reading("cards", FieldGroup.CARDS, views.CardView)
HOLDINGS = reading("holdings", FieldGroup.HOLDINGS, views.Portfolio, views.HoldingView)
TRANSACTIONS = reading("recent_transactions", FieldGroup.TRANSACTIONS, views.TransactionView)
APPOINTMENTS = reading("appointments", FieldGroup.SERVICE, views.AppointmentView)
TICKET_STATUS = reading("ticket_status", FieldGroup.SERVICE, views.TicketView)
FREEZE_CARD = Operation("freeze_card", FieldGroup.CARDS, AuditAction.WRITE, ("card.status",))
CREATE_TICKET = Operation(
    "create_ticket", FieldGroup.SERVICE, AuditAction.WRITE, ("ticket.category", "ticket.description")
)
SET_PLAN_STATUS = Operation(
    "set_fixed_investment_status", FieldGroup.HOLDINGS, AuditAction.WRITE, ("holding.plan_status",)
)


def new_reference(prefix: str) -> str:
    return reference_number(prefix, utc_now().date(), secrets.randbelow(10**8))


class ProfileService:
    """Profile reads and writes for a caller (``Actor``) with a stated purpose, e.g. "客户查询余额"."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    # -- reads ------------------------------------------------------------------------------------

    def customer_by_binding(
        self, actor: Actor, channel: Channel, external_id: str, *, purpose: str
    ) -> views.BindingView | None:
        """Who a channel user is (None: not bound yet, so identity must be verified first).

        The binding is looked up first to learn whose it is; it is handed out only if allowed.
        """
        _require_purpose(purpose)
        query = (
            sa.select(Customer.customer_no, ChannelBinding.verified_at)
            .join(ChannelBinding, ChannelBinding.customer_id == Customer.id)
            .where(ChannelBinding.channel == channel, ChannelBinding.external_id == external_id)
        )
        try:
            with session_scope(self.sessions) as session:
                if actor.role is not Role.BOT:  # an impostor may not learn which ids are bound
                    _staff(session, actor)
                found = session.execute(query).first()
        except AccessDenied:
            self._record_attempt(actor, None, purpose, IDENTIFY, AuditOutcome.DENIED)
            raise
        if found is None:
            self._record_attempt(actor, None, purpose, IDENTIFY, AuditOutcome.NOT_FOUND)
            return None
        binding = views.BindingView(found.customer_no, channel, found.verified_at is not None)
        return self._run(actor, found.customer_no, purpose, IDENTIFY, lambda _, __: binding)

    def customer_summary(self, actor: Actor, customer_no: str, *, purpose: str) -> views.CustomerSummary:
        return self._run(
            actor, customer_no, purpose, SUMMARY, lambda _, customer: views.summary_view(customer)
        )

    def accounts(self, actor: Actor, customer_no: str, *, purpose: str) -> tuple[views.AccountView, ...]:
        def work(_: Session, customer: Customer) -> tuple[views.AccountView, ...]:
            return tuple(views.account_view(a) for a in customer.accounts)

        return self._run(actor, customer_no, purpose, ACCOUNTS, work)

    def cards(self, actor: Actor, customer_no: str, *, purpose: str) -> tuple[views.CardView, ...]:
        def work(_: Session, customer: Customer) -> tuple[views.CardView, ...]:
            return tuple(views.card_view(c) for c in customer.cards)

        return self._run(actor, customer_no, purpose, CARDS, work)

    def holdings(self, actor: Actor, customer_no: str, *, purpose: str) -> views.Portfolio:
        def work(_: Session, customer: Customer) -> views.Portfolio:
            return views.Portfolio(
                customer.risk_level, tuple(views.holding_view(h) for h in customer.holdings)
            )

        return self._run(actor, customer_no, purpose, HOLDINGS, work)

    def recent_transactions(
        self,
        actor: Actor,
        customer_no: str,
        *,
        purpose: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        min_amount: Decimal | None = None,
        max_amount: Decimal | None = None,
        counterparty: str | None = None,
        limit: int = 20,
    ) -> tuple[views.TransactionView, ...]:
        """Newest first, over all the customer's accounts; amounts filter by size, in or out alike."""
        if not 1 <= limit <= MAX_TRANSACTIONS:
            raise ValueError(f"limit must be 1..{MAX_TRANSACTIONS}, got {limit}")
        for moment in (since, until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("since/until must carry a time zone")
        conditions = _transaction_filters(since, until, min_amount, max_amount, counterparty)

        def work(session: Session, customer: Customer) -> tuple[views.TransactionView, ...]:
            query = (
                sa.select(Transaction)
                .join(Account, Transaction.account_id == Account.id)
                .where(Account.customer_id == customer.id, *conditions)
                .order_by(Transaction.occurred_at.desc(), Transaction.id.desc())
                .limit(limit)
            )
            return tuple(views.transaction_view(t) for t in session.scalars(query))

        return self._run(actor, customer_no, purpose, TRANSACTIONS, work)

    def appointments(
        self, actor: Actor, customer_no: str, *, purpose: str
    ) -> tuple[views.AppointmentView, ...]:
        """All of the customer's appointments, latest first."""

        def work(session: Session, customer: Customer) -> tuple[views.AppointmentView, ...]:
            query = (
                sa.select(Appointment)
                .where(Appointment.customer_id == customer.id)
                .order_by(Appointment.starts_at.desc())
            )
            return tuple(views.appointment_view(a) for a in session.scalars(query))

        return self._run(actor, customer_no, purpose, APPOINTMENTS, work)

    def ticket_status(
        self, actor: Actor, customer_no: str, reference: str, *, purpose: str
    ) -> views.TicketView:
        """A ticket by the reference the customer quotes; another customer's ticket is not found."""

        def work(session: Session, customer: Customer) -> views.TicketView:
            query = sa.select(Ticket).where(Ticket.customer_id == customer.id, Ticket.reference == reference)
            found = session.scalar(query)
            if found is None:
                raise NotFound(f"no ticket {reference!r} for this customer")
            return views.ticket_view(found)

        return self._run(actor, customer_no, purpose, TICKET_STATUS, work)

    # -- writes -----------------------------------------------------------------------------------

    def freeze_card(self, actor: Actor, customer_no: str, card_last4: str, *, purpose: str) -> str:
        """Freeze the customer's card ending in ``card_last4``; returns the reference to quote."""
        if len(card_last4) != 4 or not card_last4.isdigit():
            raise ValueError(f"need the last 4 digits of the card, got {card_last4!r}")
        reference = new_reference("FZ")

        def work(session: Session, customer: Customer) -> str:
            query = sa.select(Card).where(Card.customer_id == customer.id, Card.number.endswith(card_last4))
            cards = session.scalars(query).all()
            if not cards:
                raise NotFound(f"no card ending in {card_last4}")
            if len(cards) > 1:
                raise AmbiguousCard(f"{len(cards)} cards end in {card_last4}")
            card = cards[0]
            # conditional, so that two simultaneous requests change the card once
            freeze = (
                sa.update(Card)
                .where(Card.id == card.id, Card.status == CardStatus.ACTIVE)
                .values(status=CardStatus.FROZEN, status_changed_at=utc_now())
            )
            if session.execute(freeze).rowcount == 0:
                session.refresh(card)
                raise CardAlreadyFrozen(card.status)
            return reference

        return self._run(actor, customer_no, purpose, FREEZE_CARD, work, reference)

    def create_ticket(
        self, actor: Actor, customer_no: str, category: TicketCategory, description: str, *, purpose: str
    ) -> views.TicketView:
        """Open a complaint, due a first response within an hour and a resolution within a day."""
        if not description.strip() or len(description) > MAX_TICKET_CHARS:
            raise ValueError(f"a ticket needs a description of 1..{MAX_TICKET_CHARS} characters")
        reference = new_reference("TS")

        def work(session: Session, customer: Customer) -> views.TicketView:
            ticket = Ticket.opened(reference, customer, category, description.strip(), utc_now())
            session.add(ticket)
            return views.ticket_view(ticket)

        return self._run(actor, customer_no, purpose, CREATE_TICKET, work, reference)

    def set_fixed_investment_status(
        self, actor: Actor, customer_no: str, product_code: str, status: PlanStatus, *, purpose: str
    ) -> str:
        """Pause or resume the fixed-investment plan (定投) on one product; returns the reference."""
        reference = new_reference("DT")

        def work(session: Session, customer: Customer) -> str:
            query = (
                sa.select(Holding)
                .join(Product, Holding.product_id == Product.id)
                .where(Holding.customer_id == customer.id, Product.code == product_code)
            )
            holding = session.scalar(query)
            if holding is None or holding.plan_status is None:
                raise NotFound(f"no fixed-investment plan on {product_code!r}")
            if holding.plan_status is status:
                raise StateUnchanged(f"the plan is already {status.value}")
            holding.plan_status = status
            return reference

        return self._run(actor, customer_no, purpose, SET_PLAN_STATUS, work, reference)

    # -- checking and auditing --------------------------------------------------------------------

    def _run(
        self,
        actor: Actor,
        customer_no: str,
        purpose: str,
        operation: Operation,
        work: Work[T],
        reference: str | None = None,
    ) -> T:
        """Authorize, do the work and audit it in one transaction; audit a refusal or failure apart."""
        _require_purpose(purpose)
        try:
            with session_scope(self.sessions) as session:
                customer = _authorize(session, actor, customer_no, operation.group)
                result = work(session, customer)
                session.flush()  # the change is in the database before the record says it happened
                session.add(_audit(actor, customer_no, purpose, operation, AuditOutcome.OK, reference))
        except ProfileError as error:
            self._record_attempt(actor, customer_no, purpose, operation, error.outcome)
            raise
        return result

    def _record_attempt(
        self, actor: Actor, customer_no: str | None, purpose: str, operation: Operation, outcome: AuditOutcome
    ) -> None:
        with session_scope(self.sessions) as session:
            session.add(_audit(actor, customer_no, purpose, operation, outcome))


def _transaction_filters(
    since: dt.datetime | None,
    until: dt.datetime | None,
    min_amount: Decimal | None,
    max_amount: Decimal | None,
    counterparty: str | None,
) -> list[sa.sql.ColumnElement]:
    size = sa.func.abs(Transaction.amount, type_=Transaction.amount.type)
    conditions = []
    if since is not None:
        conditions.append(Transaction.occurred_at >= since)
    if until is not None:
        conditions.append(Transaction.occurred_at < until)
    if min_amount is not None:
        conditions.append(size >= min_amount)
    if max_amount is not None:
        conditions.append(size <= max_amount)
    if counterparty:
        conditions.append(Transaction.counterparty.contains(counterparty, autoescape=True))
    return conditions


def _authorize(session: Session, actor: Actor, customer_no: str, group: FieldGroup) -> Customer:
    """The customer, if the actor may touch ``group`` of theirs; else AccessDenied or UnknownCustomer.

    The assistant is checked before the customer is looked up, so it cannot learn who else exists.
    """
    if actor.role is Role.BOT:
        _check(actor, Relation.OWN if actor.serving == customer_no else Relation.OTHER, group)
        return _customer(session, customer_no)
    staff = _staff(session, actor)
    customer = _customer(session, customer_no)
    _check(actor, Relation.OWN if customer.advisor_id == staff.id else Relation.OTHER, group)
    return customer


def _staff(session: Session, actor: Actor) -> Advisor:
    """The member of staff the actor claims to be, in the role claimed."""
    staff = session.scalar(sa.select(Advisor).where(Advisor.staff_no == actor.id))
    if staff is None or staff.role is not actor.role:
        raise AccessDenied(f"{actor.id!r} is not a member of staff with role {actor.role.value}")
    return staff


def _check(actor: Actor, relation: Relation, group: FieldGroup) -> None:
    if not allowed(actor.role, relation, group):
        raise AccessDenied(f"{actor.role.value} may not access {group.value} of this customer")


def _customer(session: Session, customer_no: str) -> Customer:
    customer = session.scalar(sa.select(Customer).where(Customer.customer_no == customer_no))
    if customer is None:
        raise UnknownCustomer(customer_no)
    return customer


def _require_purpose(purpose: str) -> None:
    if not purpose.strip() or len(purpose) > MAX_PURPOSE_CHARS:
        raise ValueError(f"every profile request states its purpose (1..{MAX_PURPOSE_CHARS} characters)")


def _audit(
    actor: Actor,
    customer_no: str | None,
    purpose: str,
    operation: Operation,
    outcome: AuditOutcome,
    reference: str | None = None,
) -> AuditRecord:
    return AuditRecord(  # identifiers cut to their column sizes: whatever a caller passes gets recorded
        at=utc_now(),
        actor_id=actor.id[:64],
        actor_role=actor.role,
        customer_no=customer_no[:16] if customer_no else None,
        operation=operation.name,
        fields=list(operation.fields),
        action=operation.action,
        outcome=outcome,
        purpose=purpose.strip(),
        reference=reference,
    )
