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

from bot.dates import CHINA
from bot.identifiers import mask_number, reference_number
from bot.privacy import mask_pii
from bot.profile import views
from bot.profile.access import Actor, FieldGroup, Relation, allowed
from bot.profile.db import session_scope
from bot.profile.errors import (
    AccessDenied,
    AmbiguousCard,
    CardAlreadyFrozen,
    InsufficientFunds,
    InsufficientHolding,
    NoAdvisorFree,
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
    Skill,
    Ticket,
    TicketCategory,
    Transaction,
    TransactionChannel,
    utc_now,
)
from bot.profile.payments import (
    TRANSFER_DESCRIPTION,
    check_amount,
    check_daily_limit,
    resolve_payee,
    saved_payees_of,
    sent_today,
    transfer_source,
)
from bot.profile.scheduling import HANDLING, Booking, BookingWindow, Calendar, ticket_handler

T = TypeVar("T")
Work = Callable[[Session, Customer], T]

MAX_TRANSACTIONS = 100
MAX_PURPOSE_CHARS = 200
MAX_TICKET_CHARS = 2000
MAX_TICKETS = 20
MAX_BRANCH_CHARS = 64
CENT = Decimal("0.01")


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
FIND_BY_PHONE = Operation("customer_by_phone", FieldGroup.IDENTITY, AuditAction.READ, ("customer.phone",))
BIND_CHANNEL = Operation(
    "bind_channel", FieldGroup.IDENTITY, AuditAction.WRITE, ("channel_binding.external_id",)
)
SET_PLAN_STATUS = Operation(
    "set_fixed_investment_status", FieldGroup.HOLDINGS, AuditAction.WRITE, ("holding.plan_status",)
)
REDEEM = Operation("redeem", FieldGroup.HOLDINGS, AuditAction.WRITE, ("holding.units", "holding.amount"))
SUITABILITY = reading("suitable_products", FieldGroup.HOLDINGS, views.Suitability, views.ProductView)
ASSIGNED_ADVISOR = Operation("assigned_advisor", FieldGroup.CONTACT, AuditAction.READ, ("advisor.name",))
BOOK_APPOINTMENT = Operation(
    "book_appointment",
    FieldGroup.SERVICE,
    AuditAction.WRITE,
    ("appointment.topic", "appointment.branch", "appointment.starts_at", "appointment.advisor_id"),
)
TICKETS = reading("tickets", FieldGroup.SERVICE, views.TicketView)
SAVED_PAYEES = reading("saved_payees", FieldGroup.TRANSACTIONS, views.SavedPayees)
ALLOWANCE = reading("transfer_allowance", FieldGroup.ACCOUNTS, views.TransferAllowance)
PHONE_FOR_CODE = Operation("phone_for_code", FieldGroup.CONTACT, AuditAction.READ, ("customer.phone",))
TRANSFER = Operation(
    "transfer",
    FieldGroup.ACCOUNTS,
    AuditAction.WRITE,
    ("account.balance", "transaction.amount", "transaction.counterparty"),
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
        """Open a complaint, due a first response within an hour and a resolution within a day.

        It goes to the available member of staff with the complaints skill (fraud: the fraud skill)
        who has the fewest tickets still open. The description is stored with PII masked, whoever
        the caller is (the gateway masks chat messages already).
        """
        if not description.strip() or len(description) > MAX_TICKET_CHARS:
            raise ValueError(f"a ticket needs a description of 1..{MAX_TICKET_CHARS} characters")
        reference = new_reference("TS")
        text = mask_pii(description.strip())

        def work(session: Session, customer: Customer) -> views.TicketView:
            ticket = Ticket.opened(reference, customer, category, text, utc_now())
            ticket.advisor = ticket_handler(session, category)
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

    # -- wealth: redemption and suitability -----------------------------------------------------------

    def redeem(
        self, actor: Actor, customer_no: str, product_code: str, amount: Decimal, *, purpose: str
    ) -> views.RedemptionView:
        """Sell ``amount`` (CNY, at today's value) of one holding; its units go down in proportion.

        An emptied holding keeps its fixed-investment plan: stopping a plan is the customer's own
        decision, not a side effect of selling.
        """
        if amount <= 0 or amount != amount.quantize(CENT):
            raise ValueError(f"a redemption is a positive amount in cents, got {amount}")
        reference = new_reference("SH")

        def work(session: Session, customer: Customer) -> views.RedemptionView:
            query = (
                sa.select(Holding)
                .join(Product, Holding.product_id == Product.id)
                .where(Holding.customer_id == customer.id, Product.code == product_code)
            )
            holding = session.scalar(query)
            if holding is None or holding.amount <= 0:
                raise NotFound(f"no holding of {product_code!r}")
            remaining = sa.func.round(Holding.amount - amount, 2)
            # conditional, so that two simultaneous requests cannot sell more than is held
            sell = (
                sa.update(Holding)
                .where(Holding.id == holding.id, Holding.amount >= amount)
                .values(
                    units=sa.case(
                        (remaining <= 0, 0),
                        else_=sa.func.round(Holding.units * remaining / Holding.amount, 2),
                    ),
                    amount=remaining,
                )
                .execution_options(synchronize_session=False)
            )
            sold = session.execute(sell).rowcount
            session.refresh(holding)
            if sold == 0:
                raise InsufficientHolding(holding.amount)
            product = holding.product
            return views.RedemptionView(reference, product.name, amount, holding.amount, product.settlement)

        return self._run(actor, customer_no, purpose, REDEEM, work, reference)

    def suitable_products(self, actor: Actor, customer_no: str, *, purpose: str) -> views.Suitability:
        """The products that may be offered to the customer (up to their risk level: C3 → R1–R3)."""

        def work(session: Session, customer: Customer) -> views.Suitability:
            catalogue = session.scalars(sa.select(Product).order_by(Product.code))
            products = [views.product_view(p) for p in catalogue]
            level = customer.risk_level
            return views.Suitability(
                risk_level=level,
                tier=customer.tier,
                allowed=tuple(p for p in products if level.allows(p.risk)),
                above_level=tuple(p for p in products if not level.allows(p.risk)),
                held=tuple(h.product.code for h in customer.holdings if h.amount > 0),
            )

        return self._run(actor, customer_no, purpose, SUITABILITY, work)

    def assigned_advisor(self, actor: Actor, customer_no: str, *, purpose: str) -> str | None:
        """The name of the customer's relationship manager (客户经理); None when they have none."""

        def work(_: Session, customer: Customer) -> str | None:
            return customer.advisor.name if customer.advisor else None

        return self._run(actor, customer_no, purpose, ASSIGNED_ADVISOR, work)

    # -- end wealth -----------------------------------------------------------------------------------

    # -- appointments and complaints ---------------------------------------------------------------

    def book_appointment(
        self,
        actor: Actor,
        customer_no: str,
        skill: Skill,
        branch: str,
        starts_at: dt.datetime,
        *,
        purpose: str,
        window: BookingWindow,
    ) -> views.AppointmentView:
        """Book an hour with an advisor who has ``skill`` (reference ``YY…``).

        The advisor must be available, work that weekday, be on shift for the whole hour and have no
        booked appointment overlapping it; the customer's own advisor is preferred, then whoever has
        the fewest bookings that day. If no one is free, ``NoAdvisorFree`` carries the next free hours.

        Two bookings of one advisor's hour cannot both succeed: the booking is re-checked inside the
        transaction after it is written (``Booking.claim``), and a lost race moves on to the next
        advisor. A unique index could not do this: overlapping hours need not start at the same minute.
        """
        if starts_at.tzinfo is None:
            raise ValueError("starts_at must carry a time zone")
        local = starts_at.astimezone(CHINA)
        if not window.allows(local):
            raise ValueError(f"{local:%Y-%m-%d %H:%M} is outside the booking window")
        place = branch.strip()
        if not place or len(place) > MAX_BRANCH_CHARS:
            raise ValueError(f"a branch has 1..{MAX_BRANCH_CHARS} characters")
        reference, utc_start = new_reference("YY"), starts_at.astimezone(dt.timezone.utc)

        def work(session: Session, customer: Customer) -> views.AppointmentView:
            calendar = Calendar.load(session, skill, window)
            for advisor in calendar.free_advisors(local, customer.advisor_id):
                booking = Booking(reference, customer.id, advisor.id, skill, place, utc_start)
                booked = booking.claim(session)
                if booked is not None:
                    return views.appointment_view(booked)
            raise NoAdvisorFree(calendar.next_free(local, window))

        return self._run(actor, customer_no, purpose, BOOK_APPOINTMENT, work, reference)

    def tickets(
        self, actor: Actor, customer_no: str, *, purpose: str, open_only: bool = False, limit: int = 5
    ) -> tuple[views.TicketView, ...]:
        """The customer's complaints, newest first; ``open_only``: those not resolved or closed yet."""
        if not 1 <= limit <= MAX_TICKETS:
            raise ValueError(f"limit must be 1..{MAX_TICKETS}, got {limit}")

        def work(session: Session, customer: Customer) -> tuple[views.TicketView, ...]:
            query = sa.select(Ticket).where(Ticket.customer_id == customer.id)
            if open_only:
                query = query.where(Ticket.status.in_(HANDLING))
            query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
            return tuple(views.ticket_view(t) for t in session.scalars(query))

        return self._run(actor, customer_no, purpose, TICKETS, work)

    # -- end appointments and complaints ------------------------------------------------------------

    # -- identity verification --------------------------------------------------------------------

    def customer_by_phone(self, actor: Actor, phone: str, *, purpose: str) -> str | None:
        """The customer whose phone on record is ``phone``, to send them a verification code.

        None when no customer, or more than one, has that number: a shared number cannot prove who
        is typing. Audited like every identity lookup, with the customer when there is one.
        """
        _require_purpose(purpose)
        if actor.role is not Role.BOT:
            raise AccessDenied("only the assistant verifies customers by phone")
        query = sa.select(Customer.customer_no).where(Customer.phone == phone).limit(2)
        with session_scope(self.sessions) as session:
            found = session.scalars(query).all()
        customer_no = found[0] if len(found) == 1 else None
        outcome = AuditOutcome.OK if customer_no else AuditOutcome.NOT_FOUND
        self._record_attempt(actor, customer_no, purpose, FIND_BY_PHONE, outcome)
        return customer_no

    def bind_channel(
        self, actor: Actor, customer_no: str, channel: Channel, external_id: str, *, purpose: str
    ) -> None:
        """Remember that a channel user (a WeChat openid) is this customer, verified now.

        A binding to another customer is moved: the latest successful verification wins.
        """
        if not external_id or len(external_id) > 128:
            raise ValueError("a channel user id has 1..128 characters")

        def work(session: Session, customer: Customer) -> None:
            query = sa.select(ChannelBinding).where(
                ChannelBinding.channel == channel, ChannelBinding.external_id == external_id
            )
            binding = session.scalar(query) or ChannelBinding(channel=channel, external_id=external_id)
            binding.customer_id, binding.verified_at = customer.id, utc_now()
            session.add(binding)

        self._run(actor, customer_no, purpose, BIND_CHANNEL, work)

    # -- transfers --------------------------------------------------------------------------------

    def saved_payees(self, actor: Actor, customer_no: str, *, purpose: str) -> views.SavedPayees:
        """Whom the customer may pay from the chat: the people they have transferred money to before."""

        def work(session: Session, customer: Customer) -> views.SavedPayees:
            return views.SavedPayees(customer.name, saved_payees_of(session, customer))

        return self._run(actor, customer_no, purpose, SAVED_PAYEES, work)

    def transfer_allowance(self, actor: Actor, customer_no: str, *, purpose: str) -> views.TransferAllowance:
        """Balance and what is left of today's limit on the account a transfer would come from."""

        def work(session: Session, customer: Customer) -> views.TransferAllowance:
            account, card = transfer_source(session, customer)
            sent = sent_today(session, account)
            return views.TransferAllowance(
                mask_number(account.number), account.balance, card.daily_transfer_limit, sent
            )

        return self._run(actor, customer_no, purpose, ALLOWANCE, work)

    def phone_for_code(self, actor: Actor, customer_no: str, *, purpose: str) -> str:
        """The phone number on record, unmasked: only to send it a one-time code, never to show or log."""
        return self._run(actor, customer_no, purpose, PHONE_FOR_CODE, lambda _, customer: customer.phone)

    def transfer(
        self,
        actor: Actor,
        customer_no: str,
        payee: str,
        amount: Decimal,
        *,
        purpose: str,
        max_single: Decimal,
    ) -> views.TransferView:
        """Pay ``amount`` CNY to a saved payee (``payee`` may be part of the name: 李, 小李); ref. ``ZZ…``.

        The money leaves the CNY current account the customer's active debit card draws on, within
        that card's daily transfer limit and ``max_single`` (the caller's rule for one transfer).
        Debit, statement line and audit record are one transaction; any refusal moves nothing.
        """
        if not amount.is_finite() or amount.normalize().as_tuple().exponent < -2:
            raise ValueError(f"a transfer is an amount in cents, got {amount}")
        reference = new_reference("ZZ")

        def work(session: Session, customer: Customer) -> views.TransferView:
            check_amount(amount, max_single)
            name = resolve_payee(payee, views.SavedPayees(customer.name, saved_payees_of(session, customer)))
            account, card = transfer_source(session, customer)
            # debit first: the account's row (SQLite: the database) stays locked until commit, so two
            # transfers at once cannot both pass the balance or the daily-limit check below
            debit = (
                sa.update(Account)
                .where(Account.id == account.id, Account.balance >= amount)
                .values(balance=Account.balance - amount)
                .execution_options(synchronize_session=False)
            )
            debited = session.execute(debit).rowcount
            session.refresh(account)
            if not debited:
                raise InsufficientFunds(amount, account.balance)
            check_daily_limit(card.daily_transfer_limit, sent_today(session, account), amount)
            session.add(
                Transaction(
                    account_id=account.id,
                    occurred_at=utc_now(),
                    amount=-amount,
                    counterparty=name,
                    channel=TransactionChannel.MOBILE_BANKING,
                    description=TRANSFER_DESCRIPTION,
                )
            )
            return views.TransferView(reference, name, amount, mask_number(account.number), account.balance)

        return self._run(actor, customer_no, purpose, TRANSFER, work, reference)

    # -- end transfers ----------------------------------------------------------------------------

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
