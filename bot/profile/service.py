"""The only way to read or write customer profile data: every request is checked against the access
table (``bot.profile.access``) and leaves an audit record, whatever its outcome.

A successful request is audited in the transaction that did the work, so a write and its record
are committed together or not at all. A refused or failed request is rolled back completely and then audited
in a separate transaction, before its error (``bot.profile.errors``) reaches the caller.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
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
    AmbiguousPayee,
    AmountNotPositive,
    CardAlreadyFrozen,
    DailyLimitExceeded,
    InsufficientFunds,
    InsufficientHolding,
    NoAdvisorFree,
    NotFound,
    NoTransferAccount,
    OverSingleLimit,
    ProfileError,
    SelfTransfer,
    StateUnchanged,
    UnknownCustomer,
    UnknownPayee,
)
from bot.profile.models import (
    Account,
    AccountKind,
    AccountStatus,
    Advisor,
    AdvisorSkill,
    Appointment,
    AppointmentStatus,
    AuditAction,
    AuditOutcome,
    AuditRecord,
    Card,
    CardKind,
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
    TicketStatus,
    Transaction,
    TransactionChannel,
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
FIND_BY_PHONE = Operation("customer_by_phone", FieldGroup.IDENTITY, AuditAction.READ, ("customer.phone",))
BIND_CHANNEL = Operation(
    "bind_channel", FieldGroup.IDENTITY, AuditAction.WRITE, ("channel_binding.external_id",)
)
SET_PLAN_STATUS = Operation(
    "set_fixed_investment_status", FieldGroup.HOLDINGS, AuditAction.WRITE, ("holding.plan_status",)
)
# -- wealth operations (redemption, suitability) --
REDEEM = Operation("redeem", FieldGroup.HOLDINGS, AuditAction.WRITE, ("holding.units", "holding.amount"))
SUITABILITY = reading("suitable_products", FieldGroup.HOLDINGS, views.Suitability, views.ProductView)
ASSIGNED_ADVISOR = Operation("assigned_advisor", FieldGroup.CONTACT, AuditAction.READ, ("advisor.name",))
CENT = Decimal("0.01")
# -- end wealth operations --
# -- appointments and complaints --
BOOK_APPOINTMENT = Operation(
    "book_appointment",
    FieldGroup.SERVICE,
    AuditAction.WRITE,
    ("appointment.topic", "appointment.branch", "appointment.starts_at", "appointment.advisor_id"),
)
TICKETS = reading("tickets", FieldGroup.SERVICE, views.TicketView)
APPOINTMENT_LENGTH = dt.timedelta(hours=1)
MAX_BRANCH_CHARS = 64
MAX_SUGGESTED_SLOTS = 3
MAX_TICKETS = 20
HANDLING = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)  # tickets not resolved or closed yet


@dataclass(frozen=True)
class BookingWindow:
    """When customers may meet an advisor, in China time: branch hours and the bookable days.

    The caller sets it from its business rules (``actions/policy.yml``), so the same rules decide what
    the customer may ask for and which other times are offered.
    """

    opening: dt.time
    closing: dt.time
    first_day: dt.date
    last_day: dt.date

    def allows(self, local: dt.datetime) -> bool:
        return self.first_day <= local.date() <= self.last_day and self.opening <= local.time() < self.closing

    def hours_after(self, local: dt.datetime) -> Iterator[dt.datetime]:
        """The whole hours after ``local`` that a meeting may start at, up to the last day."""
        moment = local.replace(minute=0, second=0, microsecond=0) + APPOINTMENT_LENGTH
        while moment.date() <= self.last_day:
            if self.allows(moment):
                yield moment
            moment += APPOINTMENT_LENGTH


# -- end appointments and complaints --


# -- transfers --
SAVED_PAYEES = reading("saved_payees", FieldGroup.TRANSACTIONS, views.SavedPayees)
ALLOWANCE = reading("transfer_allowance", FieldGroup.ACCOUNTS, views.TransferAllowance)
PHONE_FOR_CODE = Operation("phone_for_code", FieldGroup.CONTACT, AuditAction.READ, ("customer.phone",))
TRANSFER = Operation(
    "transfer",
    FieldGroup.ACCOUNTS,
    AuditAction.WRITE,
    ("account.balance", "transaction.amount", "transaction.counterparty"),
)
TRANSFER_DESCRIPTION = "转账"
# Statement lines that are the customer paying a person: mobile-banking transfers and rent to a landlord
# (as bot/profile/seed.py writes them), and transfers made in the chat. Their counterparties are the
# customer's saved payees (常用收款人), and they count towards the card's daily transfer limit.
PERSON_TO_PERSON = ("手机银行转账", "房租", TRANSFER_DESCRIPTION)
# -- end transfers --


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
            ticket.advisor = _ticket_handler(session, category)
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
        transaction after it is written (``_Booking.claim``), and a lost race moves on to the next
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
            calendar = _Calendar.load(session, skill, window)
            for advisor in calendar.free_advisors(local, customer.advisor_id):
                booking = _Booking(reference, customer.id, advisor.id, skill, place, utc_start)
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
            return views.SavedPayees(customer.name, _saved_payees(session, customer))

        return self._run(actor, customer_no, purpose, SAVED_PAYEES, work)

    def transfer_allowance(self, actor: Actor, customer_no: str, *, purpose: str) -> views.TransferAllowance:
        """Balance and what is left of today's limit on the account a transfer would come from."""

        def work(session: Session, customer: Customer) -> views.TransferAllowance:
            account, card = _transfer_source(session, customer)
            sent = _sent_today(session, account)
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
            name = resolve_payee(payee, views.SavedPayees(customer.name, _saved_payees(session, customer)))
            account, card = _transfer_source(session, customer)
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
            check_daily_limit(card.daily_transfer_limit, _sent_today(session, account), amount)
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


# -- appointments and complaints: who is free, who handles ------------------------------------------


def _on_shift(advisor: Advisor, local: dt.datetime) -> bool:
    """Working that weekday and on shift for the whole hour (night shifts do not meet customers)."""
    end = local + APPOINTMENT_LENGTH
    return (
        str(local.isoweekday()) in advisor.working_days
        and end.date() == local.date()
        and advisor.shift_start <= local.time()
        and end.time() <= advisor.shift_end
    )


@dataclass(frozen=True)
class _Calendar:
    """The available advisors with one skill and their booked hours within a booking window."""

    advisors: tuple[Advisor, ...]
    booked: dict[int, tuple[dt.datetime, ...]]

    @classmethod
    def load(cls, session: Session, skill: Skill, window: BookingWindow) -> _Calendar:
        query = (
            sa.select(Advisor)
            .join(AdvisorSkill, AdvisorSkill.advisor_id == Advisor.id)
            .where(AdvisorSkill.skill == skill, Advisor.role == Role.ADVISOR, Advisor.available.is_(True))
            .order_by(Advisor.staff_no)
        )
        advisors = tuple(session.scalars(query))
        since = dt.datetime.combine(window.first_day, dt.time(), CHINA) - APPOINTMENT_LENGTH
        until = dt.datetime.combine(window.last_day + dt.timedelta(days=1), dt.time(), CHINA)
        rows = session.execute(
            sa.select(Appointment.advisor_id, Appointment.starts_at).where(
                Appointment.advisor_id.in_([a.id for a in advisors]),
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at >= since,
                Appointment.starts_at < until + APPOINTMENT_LENGTH,
            )
        )
        booked: dict[int, list[dt.datetime]] = {a.id: [] for a in advisors}
        for advisor_id, starts_at in rows:
            booked[advisor_id].append(starts_at)
        return cls(advisors, {key: tuple(times) for key, times in booked.items()})

    def is_free(self, advisor: Advisor, local: dt.datetime) -> bool:
        overlapping = any(abs(taken - local) < APPOINTMENT_LENGTH for taken in self.booked[advisor.id])
        return _on_shift(advisor, local) and not overlapping

    def bookings_on(self, advisor: Advisor, day: dt.date) -> int:
        return sum(taken.astimezone(CHINA).date() == day for taken in self.booked[advisor.id])

    def free_advisors(self, local: dt.datetime, own_advisor_id: int | None) -> list[Advisor]:
        """Who could take the hour, best first: the customer's own advisor, then the least booked that day."""
        free = [a for a in self.advisors if self.is_free(a, local)]
        return sorted(free, key=lambda a: (a.id != own_advisor_id, self.bookings_on(a, local.date())))

    def next_free(self, local: dt.datetime, window: BookingWindow) -> tuple[dt.datetime, ...]:
        found: list[dt.datetime] = []
        for hour in window.hours_after(local):
            if len(found) == MAX_SUGGESTED_SLOTS:
                break
            if any(self.is_free(a, hour) for a in self.advisors):
                found.append(hour)
        return tuple(found)


@dataclass(frozen=True)
class _Booking:
    reference: str
    customer_id: int
    advisor_id: int
    skill: Skill
    branch: str
    starts_at: dt.datetime

    def claim(self, session: Session) -> Appointment | None:
        """The booked appointment, or None (nothing left written) if the advisor's hour was taken meanwhile.

        Written first and checked after: on SQLite the insert takes the database's write lock, so the
        check sees every other booking; on PostgreSQL the advisor's row lock queues bookings of one advisor.
        """
        session.execute(sa.select(Advisor.id).where(Advisor.id == self.advisor_id).with_for_update())
        appointment = Appointment(
            reference=self.reference,
            customer_id=self.customer_id,
            advisor_id=self.advisor_id,
            topic=self.skill,
            branch=self.branch,
            starts_at=self.starts_at,
            status=AppointmentStatus.BOOKED,
        )
        session.add(appointment)
        session.flush()
        overlapping = sa.select(sa.func.count(Appointment.id)).where(
            Appointment.advisor_id == self.advisor_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > self.starts_at - APPOINTMENT_LENGTH,
            Appointment.starts_at < self.starts_at + APPOINTMENT_LENGTH,
        )
        if session.scalar(overlapping) == 1:
            return appointment
        session.delete(appointment)
        session.flush()
        return None


def _ticket_handler(session: Session, category: TicketCategory) -> Advisor | None:
    """The available member of staff with the skill the complaint needs and the fewest open tickets."""
    skill = Skill.FRAUD if category is TicketCategory.FRAUD else Skill.COMPLAINTS
    open_tickets = (
        sa.select(sa.func.count(Ticket.id))
        .where(Ticket.advisor_id == Advisor.id, Ticket.status.in_(HANDLING))
        .correlate(Advisor)
        .scalar_subquery()
    )
    query = (
        sa.select(Advisor)
        .join(AdvisorSkill, AdvisorSkill.advisor_id == Advisor.id)
        .where(AdvisorSkill.skill == skill, Advisor.available.is_(True))
        .order_by(open_tickets, Advisor.staff_no)
        .limit(1)
    )
    return session.scalar(query)


# -- end appointments and complaints ------------------------------------------------------------------


# -- transfers: saved payees, source account, limits ------------------------------------------------

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


def _person_to_person() -> list[sa.sql.ColumnElement]:
    return [
        Transaction.amount < 0,
        Transaction.channel == TransactionChannel.MOBILE_BANKING,
        Transaction.description.in_(PERSON_TO_PERSON),
    ]


def _saved_payees(session: Session, customer: Customer) -> tuple[str, ...]:
    """Everyone the customer has transferred money to, most recent first."""
    query = (
        sa.select(Transaction.counterparty)
        .join(Account, Transaction.account_id == Account.id)
        .where(Account.customer_id == customer.id, *_person_to_person())
        .group_by(Transaction.counterparty)
        .order_by(sa.func.max(Transaction.occurred_at).desc(), Transaction.counterparty)
    )
    return tuple(session.scalars(query))


def _transfer_source(session: Session, customer: Customer) -> tuple[Account, Card]:
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


def _sent_today(session: Session, account: Account) -> Decimal:
    """What the account has transferred to people since midnight, China time."""
    midnight = dt.datetime.combine(utc_now().astimezone(CHINA).date(), dt.time(), CHINA)
    total = sa.func.coalesce(sa.func.sum(-Transaction.amount), 0, type_=Transaction.amount.type)
    query = sa.select(total).where(
        Transaction.account_id == account.id, Transaction.occurred_at >= midnight, *_person_to_person()
    )
    return session.scalar(query)


# -- end transfers ----------------------------------------------------------------------------------
