"""The profile service on a real seeded SQLite database: role matrix, masking, audit, writes, failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.access import Actor, FieldGroup
from bot.profile.db import session_factory, session_scope
from bot.profile.errors import (
    AccessDenied,
    AmbiguousCard,
    CardAlreadyFrozen,
    NotFound,
    ProfileUnavailable,
    StateUnchanged,
    UnknownCustomer,
)
from bot.profile.models import (
    AuditAction,
    AuditOutcome,
    Card,
    CardKind,
    CardStatus,
    Channel,
    Customer,
    PlanStatus,
    RiskLevel,
    Role,
    Ticket,
    TicketCategory,
    TicketStatus,
    Tier,
)
from bot.profile.service import ProfileService
from tests.conftest import TODAY, audit_log

ZHANG = "C000001"  # 贵宾, advisor XH2001, cards ending 1234 (debit) and 5678 (credit)
LIU = "C000003"  # 大众, debit card 4321 frozen, 8765 active
CHEN = "C000004"  # 大众, an open complaint
PURPOSE = "测试"

BOT_FOR_ZHANG = Actor("assistant", Role.BOT, serving=ZHANG)
BOT_UNVERIFIED = Actor("assistant", Role.BOT)
AGENT = Actor("XH1001", Role.AGENT)
ZHANGS_ADVISOR = Actor("XH2001", Role.ADVISOR)
OTHER_ADVISOR = Actor("XH2002", Role.ADVISOR)
SUPERVISOR = Actor("XH3001", Role.SUPERVISOR)

READS: dict[FieldGroup, Callable[[ProfileService, Actor], object]] = {
    FieldGroup.IDENTITY: lambda s, a: s.customer_by_binding(a, Channel.WEB, "demo-web-1", purpose=PURPOSE),
    FieldGroup.CONTACT: lambda s, a: s.customer_summary(a, ZHANG, purpose=PURPOSE),
    FieldGroup.SERVICE: lambda s, a: s.appointments(a, ZHANG, purpose=PURPOSE),
    FieldGroup.ACCOUNTS: lambda s, a: s.accounts(a, ZHANG, purpose=PURPOSE),
    FieldGroup.CARDS: lambda s, a: s.cards(a, ZHANG, purpose=PURPOSE),
    FieldGroup.HOLDINGS: lambda s, a: s.holdings(a, ZHANG, purpose=PURPOSE),
    FieldGroup.TRANSACTIONS: lambda s, a: s.recent_transactions(a, ZHANG, purpose=PURPOSE),
}
EVERYTHING = set(FieldGroup)
EXPECTED = [  # what each caller may read of 张伟 (C000001)
    (BOT_FOR_ZHANG, EVERYTHING),
    (BOT_UNVERIFIED, {FieldGroup.IDENTITY}),
    (AGENT, {FieldGroup.IDENTITY, FieldGroup.CONTACT, FieldGroup.SERVICE}),
    (ZHANGS_ADVISOR, EVERYTHING),
    (OTHER_ADVISOR, {FieldGroup.CONTACT}),
    (SUPERVISOR, EVERYTHING),
]
MATRIX = [(actor, group, group in allowed) for actor, allowed in EXPECTED for group in FieldGroup]


@pytest.mark.parametrize(
    ("actor", "group", "allowed"), MATRIX, ids=[f"{a.id}-{a.role.value}-{g.value}" for a, g, _ in MATRIX]
)
def test_role_matrix(
    service: ProfileService, sessions: sessionmaker, actor: Actor, group: FieldGroup, allowed: bool
) -> None:
    if allowed:
        assert READS[group](service, actor)
    else:
        with pytest.raises(AccessDenied):
            READS[group](service, actor)
    [record] = audit_log(sessions)
    assert (record.actor_id, record.actor_role, record.customer_no) == (actor.id, actor.role, ZHANG)
    assert record.outcome is (AuditOutcome.OK if allowed else AuditOutcome.DENIED)


def test_a_read_is_audited_with_who_whose_what_why_and_when(
    service: ProfileService, sessions: sessionmaker
) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    service.accounts(Actor("XH3002", Role.SUPERVISOR), ZHANG, purpose="客户来电核实余额")
    [record] = audit_log(sessions)
    assert (record.actor_id, record.actor_role, record.customer_no) == ("XH3002", Role.SUPERVISOR, ZHANG)
    assert (record.operation, record.action, record.outcome) == (
        "accounts",
        AuditAction.READ,
        AuditOutcome.OK,
    )
    assert record.fields == ["masked_number", "kind", "currency", "balance", "status"]
    assert record.purpose == "客户来电核实余额"
    assert before <= record.at <= dt.datetime.now(dt.timezone.utc)


def test_staff_must_exist_in_the_role_they_claim(service: ProfileService, sessions: sessionmaker) -> None:
    for impostor in (Actor("XH1001", Role.SUPERVISOR), Actor("XH9999", Role.AGENT)):
        with pytest.raises(AccessDenied, match="not a member of staff"):
            service.customer_summary(impostor, ZHANG, purpose=PURPOSE)
        with pytest.raises(AccessDenied, match="not a member of staff"):  # not even "is this id bound?"
            service.customer_by_binding(impostor, Channel.WECHAT, "o-unknown", purpose=PURPOSE)
    assert [r.outcome for r in audit_log(sessions)] == [AuditOutcome.DENIED] * 4


def test_unknown_customers_are_reported_to_staff_but_not_to_the_assistant(
    service: ProfileService, sessions: sessionmaker
) -> None:
    with pytest.raises(UnknownCustomer):
        service.customer_summary(SUPERVISOR, "C999999", purpose=PURPOSE)
    with pytest.raises(AccessDenied):  # the assistant cannot probe which customer numbers exist
        service.customer_summary(BOT_FOR_ZHANG, "C999999", purpose=PURPOSE)
    log = audit_log(sessions)
    assert [(r.customer_no, r.outcome) for r in log] == [
        ("C999999", AuditOutcome.NOT_FOUND),
        ("C999999", AuditOutcome.DENIED),
    ]


def test_a_request_without_purpose_is_refused_before_anything_happens(
    service: ProfileService, sessions: sessionmaker
) -> None:
    with pytest.raises(ValueError, match="purpose"):
        service.customer_summary(SUPERVISOR, ZHANG, purpose="  ")
    assert audit_log(sessions) == []


def test_views_are_masked_and_never_carry_full_numbers(
    service: ProfileService, sessions: sessionmaker
) -> None:
    summary = service.customer_summary(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE)
    assert (summary.name, summary.addressed_as, summary.tier) == ("张伟", "张先生", Tier.VIP)
    assert summary.masked_phone[3:7] == "****"
    cards = service.cards(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE)
    assert {(c.masked_number, c.kind) for c in cards} == {
        ("****1234", CardKind.DEBIT),
        ("****5678", CardKind.CREDIT),
    }
    accounts = service.accounts(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE)
    assert all(a.masked_number.startswith("****") and isinstance(a.balance, Decimal) for a in accounts)
    lines = service.recent_transactions(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE)
    with sessions() as session:
        zhang = session.scalars(sa.select(Customer).where(Customer.customer_no == ZHANG)).one()
        secrets = [
            zhang.id_number,
            zhang.phone,
            *(c.number for c in zhang.cards),
            *(a.number for a in zhang.accounts),
        ]
    handed_out = repr([summary, cards, accounts, lines])
    assert not [secret for secret in secrets if secret in handed_out]
    with pytest.raises(dataclasses.FrozenInstanceError):  # snapshots, not live database objects
        cards[0].status = CardStatus.FROZEN  # type: ignore[misc]


def test_holdings_come_with_the_risk_level_and_plans(service: ProfileService) -> None:
    portfolio = service.holdings(ZHANGS_ADVISOR, ZHANG, purpose=PURPOSE)
    assert portfolio.risk_level is RiskLevel.C3
    plans = {h.product_code: h.plan.status for h in portfolio.holdings if h.plan}
    assert plans == {"970033": PlanStatus.ACTIVE, "970021": PlanStatus.PAUSED}
    assert all(h.settlement and h.amount > 0 for h in portfolio.holdings)


def test_transactions_filter_by_time_size_and_counterparty(service: ProfileService) -> None:
    def lines(**filters: object) -> tuple:
        return service.recent_transactions(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE, **{"limit": 100, **filters})

    newest = lines(limit=5)
    assert len(newest) == 5 and [t.occurred_at for t in newest] == sorted(
        (t.occurred_at for t in newest), reverse=True
    )
    june = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
    assert all(t.occurred_at >= june for t in lines(since=june))
    assert all(t.occurred_at < june for t in lines(until=june))
    large = lines(min_amount=Decimal(1000))
    assert large and all(abs(t.amount) >= 1000 for t in large)
    assert any(t.amount > 0 for t in large)  # salary: size counts, not direction
    assert all(abs(t.amount) <= 50 for t in lines(max_amount=Decimal(50)))
    meituan = lines(counterparty="美团")
    assert meituan and all("美团" in t.counterparty for t in meituan)
    assert lines(counterparty="100%_") == ()  # wildcards are literal


@pytest.mark.parametrize(
    "bad",
    [{"limit": 0}, {"limit": 101}, {"since": dt.datetime(2025, 6, 1)}, {"until": dt.datetime(2025, 6, 1)}],
)
def test_bad_transaction_filters_are_a_programming_error(service: ProfileService, bad: dict) -> None:
    with pytest.raises(ValueError):
        service.recent_transactions(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE, **bad)


def test_channel_users_are_identified_or_not(service: ProfileService, sessions: sessionmaker) -> None:
    found = service.customer_by_binding(
        BOT_UNVERIFIED, Channel.WECHAT, "demo-openid-1", purpose="识别微信用户"
    )
    assert (found.customer_no, found.channel, found.verified) == (ZHANG, Channel.WECHAT, True)
    assert (
        service.customer_by_binding(BOT_UNVERIFIED, Channel.WECHAT, "o-unknown", purpose="识别微信用户")
        is None
    )
    assert [(r.customer_no, r.outcome) for r in audit_log(sessions)] == [
        (ZHANG, AuditOutcome.OK),
        (None, AuditOutcome.NOT_FOUND),
    ]


def card_row(sessions: sessionmaker, customer_no: str, last4: str) -> Card:
    with sessions() as session:
        query = (
            sa.select(Card)
            .join(Customer)
            .where(Customer.customer_no == customer_no, Card.number.endswith(last4))
        )
        return session.scalars(query).one()


def test_freezing_a_card_twice_changes_it_once(service: ProfileService, sessions: sessionmaker) -> None:
    reference = service.freeze_card(BOT_FOR_ZHANG, ZHANG, "1234", purpose="客户挂失")
    assert reference.startswith("FZ") and len(reference) == 18
    frozen = card_row(sessions, ZHANG, "1234")
    assert frozen.status is CardStatus.FROZEN and frozen.status_changed_at is not None
    with pytest.raises(CardAlreadyFrozen) as error:
        service.freeze_card(BOT_FOR_ZHANG, ZHANG, "1234", purpose="客户挂失")
    assert error.value.status is CardStatus.FROZEN
    assert card_row(sessions, ZHANG, "1234").status_changed_at == frozen.status_changed_at
    writes = [(r.operation, r.action, r.outcome, r.reference) for r in audit_log(sessions)]
    assert writes == [
        ("freeze_card", AuditAction.WRITE, AuditOutcome.OK, reference),
        ("freeze_card", AuditAction.WRITE, AuditOutcome.REJECTED, None),
    ]
    assert {c.masked_number: c.status for c in service.cards(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE)}[
        "****1234"
    ] is CardStatus.FROZEN


def test_freezing_needs_an_active_card_the_customer_has(service: ProfileService) -> None:
    liu = Actor("assistant", Role.BOT, serving=LIU)
    with pytest.raises(CardAlreadyFrozen):
        service.freeze_card(liu, LIU, "4321", purpose=PURPOSE)
    with pytest.raises(NotFound):
        service.freeze_card(liu, LIU, "1234", purpose=PURPOSE)  # 张伟's card, not 刘洋's
    with pytest.raises(ValueError):
        service.freeze_card(liu, LIU, "43a1", purpose=PURPOSE)
    with pytest.raises(AccessDenied):
        service.freeze_card(AGENT, LIU, "8765", purpose=PURPOSE)
    assert card_row(service.sessions, LIU, "8765").status is CardStatus.ACTIVE


def test_two_cards_with_the_same_ending_are_not_guessed_between(
    service: ProfileService, sessions: sessionmaker
) -> None:
    original = card_row(sessions, LIU, "8765")
    with session_scope(sessions) as session:
        twin = Card(
            number="6217990000000008765",
            customer_id=original.customer_id,
            kind=CardKind.DEBIT,
            status=CardStatus.ACTIVE,
            daily_transfer_limit=Decimal(50000),
        )
        session.add(twin)
    with pytest.raises(AmbiguousCard):
        service.freeze_card(Actor("assistant", Role.BOT, serving=LIU), LIU, "8765", purpose=PURPOSE)
    with sessions() as session:
        mine = (
            sa.select(Card.status)
            .join(Customer)
            .where(Customer.customer_no == LIU, Card.number.endswith("8765"))
        )
        statuses = session.scalars(mine).all()
    assert statuses == [CardStatus.ACTIVE, CardStatus.ACTIVE]


def test_a_write_failing_halfway_leaves_no_trace_but_its_audit(
    service: ProfileService, sessions: sessionmaker
) -> None:
    # The database refuses the success record, after the card's status has been updated in the transaction.
    with session_scope(sessions) as session:
        session.execute(
            sa.text(
                "CREATE TRIGGER refuse_success BEFORE INSERT ON audit_records "
                "WHEN NEW.outcome = 'ok' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    with pytest.raises(ProfileUnavailable, match="disk full"):
        service.freeze_card(BOT_FOR_ZHANG, ZHANG, "5678", purpose="客户挂失")
    assert card_row(sessions, ZHANG, "5678").status is CardStatus.ACTIVE
    [attempt] = audit_log(sessions)
    assert (attempt.operation, attempt.outcome) == ("freeze_card", AuditOutcome.FAILED)


def test_complaints_are_opened_with_deadlines_and_found_by_reference(service: ProfileService) -> None:
    ticket = service.create_ticket(AGENT, ZHANG, TicketCategory.FEES, "年费扣了两次 ", purpose="客户投诉")
    assert ticket.reference.startswith("TS") and ticket.status is TicketStatus.OPEN
    assert ticket.respond_by - ticket.created_at == dt.timedelta(hours=1)
    assert ticket.resolve_by - ticket.created_at == dt.timedelta(hours=24)
    assert service.ticket_status(BOT_FOR_ZHANG, ZHANG, ticket.reference, purpose="查询投诉进度") == ticket
    with pytest.raises(NotFound):  # another customer's reference
        service.ticket_status(SUPERVISOR, LIU, ticket.reference, purpose=PURPOSE)
    with pytest.raises(ValueError):
        service.create_ticket(AGENT, ZHANG, TicketCategory.FEES, "   ", purpose="客户投诉")


def test_the_seeded_open_complaint_is_visible_to_the_agent(
    service: ProfileService, sessions: sessionmaker
) -> None:
    with sessions() as session:
        reference = session.scalars(
            sa.select(Ticket.reference).join(Customer).where(Customer.customer_no == CHEN)
        ).one()
    ticket = service.ticket_status(AGENT, CHEN, reference, purpose="客户来电催办")
    assert (ticket.category, ticket.status) == (TicketCategory.FEES, TicketStatus.OPEN)
    assert ticket.created_at.date() <= TODAY


def test_fixed_investment_plans_pause_and_resume(service: ProfileService, sessions: sessionmaker) -> None:
    reference = service.set_fixed_investment_status(
        ZHANGS_ADVISOR, ZHANG, "970033", PlanStatus.PAUSED, purpose="客户要求暂停定投"
    )
    assert reference.startswith("DT")
    plans = {h.product_code: h.plan for h in service.holdings(BOT_FOR_ZHANG, ZHANG, purpose=PURPOSE).holdings}
    assert plans["970033"].status is PlanStatus.PAUSED
    with pytest.raises(StateUnchanged):
        service.set_fixed_investment_status(
            BOT_FOR_ZHANG, ZHANG, "970033", PlanStatus.PAUSED, purpose=PURPOSE
        )
    with pytest.raises(NotFound):  # held, but without a plan
        service.set_fixed_investment_status(
            BOT_FOR_ZHANG, ZHANG, "970001", PlanStatus.ACTIVE, purpose=PURPOSE
        )
    with pytest.raises(AccessDenied):
        service.set_fixed_investment_status(
            OTHER_ADVISOR, ZHANG, "970021", PlanStatus.ACTIVE, purpose=PURPOSE
        )


@pytest.mark.parametrize("broken", ["missing folder", "never migrated"])
def test_an_unavailable_database_is_one_clear_error(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "missing" / "profile.db" if broken == "missing folder" else tmp_path / "empty.db"
    sessions = session_factory(f"sqlite:///{path}")
    service = ProfileService(sessions)
    with pytest.raises(ProfileUnavailable):
        service.customer_summary(SUPERVISOR, ZHANG, purpose=PURPOSE)
    with pytest.raises(ProfileUnavailable):
        service.freeze_card(BOT_FOR_ZHANG, ZHANG, "1234", purpose=PURPOSE)
    sessions.kw["bind"].dispose()
