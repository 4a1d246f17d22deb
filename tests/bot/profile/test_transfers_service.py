"""Transfers to saved payees in the profile service, on the seeded demo bank.

张伟 (C000001) pays from his current account ****7323 with debit card 1234 (daily limit 200,000); his
saved payees are the people the seed had him transfer to (冯瑜, 王佳, 王建平 …).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.errors import (
    AccessDenied,
    AmbiguousPayee,
    AmountNotPositive,
    DailyLimitExceeded,
    InsufficientFunds,
    NoTransferAccount,
    OverSingleLimit,
    ProfileUnavailable,
    SelfTransfer,
    TransferRefused,
    UnknownPayee,
)
from bot.profile.models import (
    Account,
    AccountKind,
    Card,
    CardKind,
    Customer,
    Role,
    Transaction,
    TransactionChannel,
)
from bot.profile.service import ProfileService
from tests.conftest import audit_log
from tests.helpers import at_once

ZHANG, WANG, LIU = "C000001", "C000002", "C000003"
PURPOSE = "测试转账"
MAX_SINGLE = Decimal(50000)


def bot_for(customer_no: str) -> Actor:
    return Actor("assistant", Role.BOT, serving=customer_no)


def pay(service: ProfileService, customer_no: str, payee: str, amount: str):
    return service.transfer(
        bot_for(customer_no), customer_no, payee, Decimal(amount), purpose=PURPOSE, max_single=MAX_SINGLE
    )


def current_account(sessions: sessionmaker, customer_no: str) -> Account:
    with sessions() as session:
        query = (
            sa.select(Account)
            .join(Customer, Account.customer_id == Customer.id)
            .where(Customer.customer_no == customer_no, Account.kind == AccountKind.CURRENT)
            .where(Account.currency == "CNY")
        )
        return session.execute(query).scalar_one()


def statement(sessions: sessionmaker, account: Account) -> list[tuple]:
    """The account's statement lines: id, amount, counterparty, channel, description."""
    columns = (Transaction.id, Transaction.amount, Transaction.counterparty, Transaction.channel)
    with sessions() as session:
        query = (
            sa.select(*columns, Transaction.description)
            .where(Transaction.account_id == account.id)
            .order_by(Transaction.id)
        )
        return [tuple(row) for row in session.execute(query)]


def set_debit_card(sessions: sessionmaker, customer_no: str, **values: object) -> None:
    with sessions() as session, session.begin():
        customer = session.scalar(sa.select(Customer.id).where(Customer.customer_no == customer_no))
        session.execute(
            sa.update(Card).where(Card.customer_id == customer, Card.kind == CardKind.DEBIT).values(**values)
        )


def transfer_records(sessions: sessionmaker) -> list[tuple[str, str | None]]:
    return [(r.outcome.value, r.reference) for r in audit_log(sessions) if r.operation == "transfer"]


def test_a_transfer_moves_the_money_with_one_statement_line_and_one_record(service, sessions) -> None:
    account = current_account(sessions, ZHANG)
    lines = statement(sessions, account)
    done = pay(service, ZHANG, "冯瑜", "1234.50")
    assert re.fullmatch(r"ZZ\d{16}", done.reference)
    assert (done.payee, done.amount, done.masked_account) == ("冯瑜", Decimal("1234.50"), "****7323")
    after = current_account(sessions, ZHANG)
    assert after.balance == account.balance - Decimal("1234.50") == done.balance
    [(_, *line)] = statement(sessions, account)[len(lines) :]
    assert line == [Decimal("-1234.50"), "冯瑜", TransactionChannel.MOBILE_BANKING, "转账"]
    [record] = [r for r in audit_log(sessions) if r.operation == "transfer"]
    assert (record.outcome.value, record.action.value, record.reference) == ("ok", "write", done.reference)
    assert (record.customer_no, record.purpose) == (ZHANG, PURPOSE)


def test_saved_payees_are_the_people_paid_before_not_bills(service) -> None:
    saved = service.saved_payees(bot_for(ZHANG), ZHANG, purpose=PURPOSE)
    assert saved.holder == "张伟"
    assert {"冯瑜", "王佳", "王建平", "黄艳"} <= set(saved.names) and len(set(saved.names)) == len(
        saved.names
    )
    assert "中国联通" not in saved.names  # a phone bill paid in the app is no payee
    landlord = service.saved_payees(bot_for(LIU), LIU, purpose=PURPOSE)
    assert "牟鹏" in landlord.names  # rent transferred to a landlord every month
    pay(service, ZHANG, "黄艳", "10")
    assert service.saved_payees(bot_for(ZHANG), ZHANG, purpose=PURPOSE).names[0] == "黄艳"  # most recent


@pytest.mark.parametrize(
    ("said", "payee"), [("冯", "冯瑜"), ("小冯", "冯瑜"), ("冯先生", "冯瑜"), ("王佳", "王佳")]
)
def test_part_of_a_saved_payees_name_is_enough_when_only_one_fits(service, said: str, payee: str) -> None:
    assert pay(service, ZHANG, said, "100").payee == payee


def test_several_fitting_payees_are_listed(service, sessions) -> None:
    with pytest.raises(AmbiguousPayee) as refused:
        pay(service, ZHANG, "小王", "100")
    assert set(refused.value.candidates) == {"王佳", "王建平"}


@pytest.mark.parametrize(
    ("customer_no", "payee", "amount", "error"),
    [
        (ZHANG, "冯瑜", "0", AmountNotPositive),
        (ZHANG, "冯瑜", "-5", AmountNotPositive),
        (ZHANG, "冯瑜", "50000.01", OverSingleLimit),
        (ZHANG, "冯瑜", "1000000000000", OverSingleLimit),
        (ZHANG, "张伟", "100", SelfTransfer),
        (ZHANG, "我妈", "100", UnknownPayee),
        (ZHANG, "王", "100", AmbiguousPayee),
        (LIU, "张慧", "20000", InsufficientFunds),  # 14,930.54 in 刘洋's account
    ],
)
def test_refusals_move_nothing_and_are_audited(service, sessions, customer_no, payee, amount, error) -> None:
    account = current_account(sessions, customer_no)
    lines = statement(sessions, account)
    with pytest.raises(error):
        pay(service, customer_no, payee, amount)
    assert current_account(sessions, customer_no).balance == account.balance
    assert statement(sessions, account) == lines
    assert transfer_records(sessions) == [("rejected", None)]


def test_insufficient_funds_says_what_the_account_holds(service, sessions) -> None:
    with pytest.raises(InsufficientFunds) as refused:
        pay(service, LIU, "张慧", "20000")
    assert refused.value.balance == current_account(sessions, LIU).balance == Decimal("14930.54")
    assert refused.value.amount == 20000


def test_the_daily_limit_counts_todays_transfers(service, sessions) -> None:
    set_debit_card(sessions, ZHANG, daily_transfer_limit=Decimal(10000))
    pay(service, ZHANG, "冯瑜", "6000")
    allowance = service.transfer_allowance(bot_for(ZHANG), ZHANG, purpose=PURPOSE)
    assert (allowance.daily_limit, allowance.sent_today, allowance.left_today) == (10000, 6000, 4000)
    balance = current_account(sessions, ZHANG).balance
    with pytest.raises(DailyLimitExceeded) as refused:
        pay(service, ZHANG, "王佳", "5000")
    assert (refused.value.limit, refused.value.left, refused.value.amount) == (10000, 4000, 5000)
    assert current_account(sessions, ZHANG).balance == balance
    pay(service, ZHANG, "王佳", "4000")  # exactly what is left
    assert [o for o, _ in transfer_records(sessions)] == ["ok", "rejected", "ok"]


def test_the_allowance_shows_the_account_a_transfer_comes_from(service) -> None:
    allowance = service.transfer_allowance(bot_for(ZHANG), ZHANG, purpose=PURPOSE)
    assert (allowance.masked_account, allowance.daily_limit, allowance.sent_today) == ("****7323", 200000, 0)
    assert allowance.balance > 0


def test_without_an_active_debit_card_there_is_no_account_to_pay_from(service, sessions) -> None:
    set_debit_card(sessions, ZHANG, status="frozen")
    balance = current_account(sessions, ZHANG).balance
    with pytest.raises(NoTransferAccount):
        pay(service, ZHANG, "冯瑜", "100")
    with pytest.raises(NoTransferAccount):
        service.transfer_allowance(bot_for(ZHANG), ZHANG, purpose=PURPOSE)
    assert current_account(sessions, ZHANG).balance == balance
    assert transfer_records(sessions) == [("rejected", None)]


def test_a_frozen_card_does_not_stop_a_second_active_one(service) -> None:
    # 刘洋's card 4321 is frozen; 8765 draws on the same account
    assert (
        pay(service, LIU, "张慧", "100").masked_account
        == service.accounts(bot_for(LIU), LIU, purpose=PURPOSE)[0].masked_number
    )


def test_amounts_finer_than_cents_are_a_callers_mistake(service, sessions) -> None:
    with pytest.raises(ValueError):
        pay(service, ZHANG, "冯瑜", "10.001")
    assert transfer_records(sessions) == []


def test_only_the_customers_own_assistant_may_transfer(service, sessions) -> None:
    balance = current_account(sessions, ZHANG).balance
    for actor in (bot_for(WANG), Actor("XH1001", Role.AGENT)):
        with pytest.raises(AccessDenied):
            service.transfer(actor, ZHANG, "冯瑜", Decimal(100), purpose=PURPOSE, max_single=MAX_SINGLE)
    assert current_account(sessions, ZHANG).balance == balance
    assert transfer_records(sessions) == [("denied", None), ("denied", None)]


def test_the_phone_for_a_code_is_read_in_full_and_audited(service, sessions) -> None:
    assert service.phone_for_code(bot_for(ZHANG), ZHANG, purpose=PURPOSE) == "13900000001"
    [record] = [r for r in audit_log(sessions) if r.operation == "phone_for_code"]
    assert (record.outcome.value, record.fields) == ("ok", ["customer.phone"])
    with pytest.raises(AccessDenied):
        service.phone_for_code(bot_for(WANG), ZHANG, purpose=PURPOSE)


def test_two_transfers_at_once_cannot_pass_the_daily_limit_together(service, sessions) -> None:
    set_debit_card(sessions, ZHANG, daily_transfer_limit=Decimal(10000))
    balance = current_account(sessions, ZHANG).balance

    def transfer() -> str:
        pay(ProfileService(sessions), ZHANG, "冯瑜", "6000")
        return "paid"

    outcomes = at_once(transfer, transfer)
    paid = outcomes.count("paid")
    assert paid <= 1 and current_account(sessions, ZHANG).balance == balance - paid * 6000


def test_an_unreachable_store_refuses_without_a_transfer(tmp_path) -> None:
    broken = ProfileService(session_factory(f"sqlite:///{tmp_path / 'missing' / 'profile.db'}"))
    with pytest.raises(ProfileUnavailable):
        pay(broken, ZHANG, "冯瑜", "100")


def test_every_refusal_is_a_transfer_refusal() -> None:
    for refusal in (AmbiguousPayee, AmountNotPositive, DailyLimitExceeded, InsufficientFunds):
        assert issubclass(refusal, TransferRefused)
    for refusal in (NoTransferAccount, OverSingleLimit, SelfTransfer, UnknownPayee):
        assert issubclass(refusal, TransferRefused)
