"""Balance and transaction actions against a real seeded profile database (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from actions.accounts import ActionCheckBalance, ActionTransactionHistory
from actions.config import message
from actions.formatting import format_money, format_period
from bot.dates import CHINA, Period
from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.errors import AccessDenied
from bot.profile.models import Account, AuditOutcome, Card, Customer, Role
from bot.profile.service import ProfileService
from bot.profile.views import TransactionView
from tests.actions.conftest import make_tracker
from tests.conftest import TODAY, audit_log

ZHANG = "C000001"  # 张伟 先生: debit card ****1234, credit card ****5678
LIU = "C000003"  # 刘洋 先生: debit card ****4321 frozen
ME = Actor("assistant", Role.BOT, serving=ZHANG)
NOW = dt.datetime.combine(TODAY, dt.time(10, 0), CHINA)
LINE = re.compile(r"^(\d)\. (\d{1,2})月(\d{1,2})日 (\d{2}):(\d{2}) (.+?) ([+-][\d,]+\.\d{2}) (元|美元)$")


def ask(
    action: Action,
    text: str,
    entities: list[dict[str, Any]] | None = None,
    customer: Any = ZHANG,
    slots: dict[str, Any] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """What the action says (one message) and the events it returns."""
    metadata = {} if customer is None else {"customer_no": customer}
    latest = {"text": text, "intent": {}, "entities": entities or [], "metadata": metadata}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, make_tracker(slots=slots, latest_message=latest), {}))
    [reply] = dispatcher.messages
    return reply["text"], events


def tagged(text: str, entity: str, value: str) -> dict[str, Any]:
    """An entity as NLU reports it, with its position in ``text``."""
    start = text.index(value)
    return {"entity": entity, "value": value, "start": start, "end": start + len(value)}


@pytest.fixture
def balance(service: ProfileService) -> ActionCheckBalance:
    return ActionCheckBalance(lambda: service)


@pytest.fixture
def history(service: ProfileService) -> ActionTransactionHistory:
    return ActionTransactionHistory(lambda: service, lambda: NOW)


def full_numbers(sessions: sessionmaker, customer_no: str) -> list[str]:
    """The customer's whole account and card numbers, straight from the database."""
    with sessions() as session:
        customer = session.scalar(sa.select(Customer).where(Customer.customer_no == customer_no))
        accounts = session.scalars(sa.select(Account.number).where(Account.customer_id == customer.id))
        cards = session.scalars(sa.select(Card.number).where(Card.customer_id == customer.id))
        return [*accounts, *cards]


# ----------------------------------------------------------------------------- verification


FORGED = ["C000001' OR 1=1", "C000001 ", "c000001", "C٠٠٠٠٠١", 1, ["C000001"], {"$ne": ""}, None]


@pytest.mark.parametrize("customer", FORGED, ids=repr)
@pytest.mark.parametrize("action_class", [ActionCheckBalance, ActionTransactionHistory])
def test_without_a_verified_customer_nothing_is_looked_up(
    service: ProfileService, sessions: sessionmaker, action_class: type, customer: Any
) -> None:
    before = audit_log(sessions)
    reply, _ = ask(action_class(lambda: service), "查下余额和流水", customer=customer)
    assert reply == message("accounts", "verify_first")
    assert "手机银行" in reply and "网上银行" in reply
    assert audit_log(sessions) == before  # the profile store was never asked


def test_a_customer_the_store_does_not_know_is_asked_to_verify_again(balance: ActionCheckBalance) -> None:
    reply, _ = ask(balance, "余额", customer="C999999")
    assert reply == message("accounts", "verify_again")


class RefusingProfiles(ProfileService):
    """A store that refuses, as it would if the role table changed."""

    def customer_summary(self, *args: Any, **kwargs: Any) -> Any:
        raise AccessDenied("bot may not access contact of this customer")


def test_a_refusal_is_not_explained(sessions: sessionmaker) -> None:
    reply, _ = ask(ActionCheckBalance(lambda: RefusingProfiles(sessions)), "余额")
    assert reply == message("accounts", "verify_again")
    assert "contact" not in reply and ZHANG not in reply


# ----------------------------------------------------------------------------- balances


def test_balances_are_the_services_own_numbers(
    balance: ActionCheckBalance, service: ProfileService, sessions: sessionmaker
) -> None:
    reply, events = ask(balance, "我卡里还有多少钱")
    header, *lines = reply.split("\n")
    assert header.startswith("张先生，您好！")
    accounts = service.accounts(ME, ZHANG, purpose="测试")
    assert len(lines) == len(accounts) == 2
    for line, account in zip(lines, accounts, strict=True):
        assert account.masked_number in line and f"{account.kind.label}账户" in line
        assert line.endswith(f"{account.balance:,.2f} 元") and "人民币" in line
    assert not any(number in reply for number in full_numbers(sessions, ZHANG))
    assert not re.search(r"\d{8,}", reply.replace(",", ""))  # no long number of any kind
    assert events == []


def test_balance_reads_are_audited_with_their_purpose(
    balance: ActionCheckBalance, sessions: sessionmaker
) -> None:
    ask(balance, "余额")
    records = [r for r in audit_log(sessions) if r.actor_id == "assistant"]
    assert {r.operation for r in records} == {"customer_summary", "accounts"}
    assert all(r.customer_no == ZHANG and r.purpose == "客户查询余额" for r in records)
    assert all(r.outcome is AuditOutcome.OK and r.actor_role is Role.BOT for r in records)


@pytest.mark.parametrize(
    ("entities", "slots"),
    [
        ([{"entity": "card_tail", "value": "1234", "start": 2, "end": 6}], {"card_tail": "1234"}),
        ([], {"card_tail": "1234"}),  # collected earlier
        ([], {"card_tail": "****1234"}),  # typed whole, masked by the gateway
    ],
)
def test_a_card_tail_shows_only_the_account_behind_that_card(
    balance: ActionCheckBalance, service: ProfileService, entities: list, slots: dict
) -> None:
    reply, events = ask(balance, "尾号1234的卡余额", entities, slots=slots)
    [debit] = [c for c in service.cards(ME, ZHANG, purpose="测试") if c.masked_number == "****1234"]
    header, *lines = reply.split("\n")
    assert "尾号 1234 的借记卡" in header
    [line] = lines
    [linked] = [
        a for a in service.accounts(ME, ZHANG, purpose="测试") if a.masked_number == debit.masked_account
    ]
    assert linked.masked_number in line and line.endswith(format_money(linked.balance))
    assert events == [{"event": "slot", "timestamp": None, "name": "card_tail", "value": None}]


def test_a_card_tail_from_this_message_wins_over_an_earlier_one(balance: ActionCheckBalance) -> None:
    reply, _ = ask(
        balance, "尾号5678呢", [{"entity": "card_tail", "value": "5678"}], slots={"card_tail": "1234"}
    )
    assert "尾号 5678 的是您的信用卡" in reply


def test_a_credit_card_tail_gives_its_limit(balance: ActionCheckBalance, service: ProfileService) -> None:
    reply, _ = ask(balance, "5678余额", [{"entity": "card_tail", "value": "5678"}])
    [credit] = [c for c in service.cards(ME, ZHANG, purpose="测试") if c.masked_number == "****5678"]
    assert reply == message(
        "accounts", "credit_card", name="张先生", tail="5678", limit=format_money(credit.credit_limit)
    )


def test_a_frozen_card_says_so(service: ProfileService) -> None:
    reply, _ = ask(
        ActionCheckBalance(lambda: service), "4321余额", [{"entity": "card_tail", "value": "4321"}], LIU
    )
    assert reply.startswith("刘先生，您好！尾号 4321 的借记卡（已冻结）关联账户的余额如下：")


def test_an_unknown_card_tail_lists_the_customers_cards(balance: ActionCheckBalance) -> None:
    reply, events = ask(balance, "尾号9999余额", [{"entity": "card_tail", "value": "9999"}])
    assert reply == message(
        "accounts", "unknown_card", name="张先生", tail="9999", tails="1234（借记卡）、5678（信用卡）"
    )
    assert "元" not in reply
    assert events == []  # no slot to clear


def test_inside_a_form_the_card_tail_is_left_alone(service: ProfileService) -> None:
    tracker = make_tracker(
        slots={"card_tail": "1234"},
        latest_message={"text": "余额", "intent": {}, "entities": [], "metadata": {"customer_no": ZHANG}},
        active_loop="lost_card_form",
    )
    assert asyncio.run(ActionCheckBalance(lambda: service).run(CollectingDispatcher(), tracker, {})) == []


# ----------------------------------------------------------------------------- transactions


def expected(service: ProfileService, since: dt.date, until: dt.date | None = None, **filters: Any) -> tuple:
    """What the service itself lists for the same question (China-time days)."""
    return service.recent_transactions(
        ME,
        ZHANG,
        purpose="测试",
        since=dt.datetime.combine(since, dt.time(), CHINA),
        until=dt.datetime.combine(until, dt.time(), CHINA) if until else None,
        limit=5,
        **filters,
    )


def assert_lists(lines: list[str], transactions: tuple[TransactionView, ...]) -> None:
    """Each line is one transaction, newest first: China time, counterparty, signed amount."""
    assert len(lines) == len(transactions)
    for index, (line, item) in enumerate(zip(lines, transactions, strict=True), 1):
        match = LINE.match(line)
        assert match, line
        local = item.occurred_at.astimezone(CHINA)
        number, month, day, hour, minute, who, amount, _ = match.groups()
        assert (int(number), int(month), int(day), int(hour), int(minute)) == (
            index,
            local.month,
            local.day,
            local.hour,
            local.minute,
        )
        assert who.startswith(item.counterparty)
        assert Decimal(amount.replace(",", "")) == item.amount


def test_by_default_the_latest_five_of_the_last_30_days(
    history: ActionTransactionHistory, service: ProfileService, sessions: sessionmaker
) -> None:
    reply, _ = ask(history, "查下流水")
    header, *lines, more = reply.split("\n")
    period = format_period(Period(TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=1)))
    assert header == f"张先生，您好！以下是您{period}期间的最近 5 笔交易："
    assert_lists(lines, expected(service, TODAY - dt.timedelta(days=30)))
    assert more == message("accounts", "more_transactions")
    assert not any(number in reply for number in full_numbers(sessions, ZHANG))
    asked = next(r for r in audit_log(sessions) if r.operation == "recent_transactions")  # before the test's
    assert (asked.customer_no, asked.purpose, asked.outcome) == (ZHANG, "客户查询交易明细", AuditOutcome.OK)


@pytest.mark.parametrize(
    ("said", "since", "until"),
    [
        ("最近一周", dt.date(2025, 6, 23), None),
        ("最近一个月", dt.date(2025, 5, 30), None),
        ("上个月", dt.date(2025, 5, 1), dt.date(2025, 6, 1)),
        ("上周五", dt.date(2025, 6, 27), dt.date(2025, 6, 28)),
    ],
)
def test_a_time_narrows_the_list(
    history: ActionTransactionHistory,
    service: ProfileService,
    said: str,
    since: dt.date,
    until: dt.date | None,
) -> None:
    text = f"{said}的交易明细"
    reply, _ = ask(history, text, [tagged(text, "date", said)])
    wanted = expected(service, since, until)
    assert wanted, "the demo bank should have transactions in every tested span"
    assert format_period(Period(since, until or TODAY + dt.timedelta(days=1))) in reply
    assert_lists([line for line in reply.split("\n") if LINE.match(line)], wanted)


def test_a_time_nlu_did_not_tag_is_read_from_the_message(history: ActionTransactionHistory) -> None:
    reply, _ = ask(history, "帮我查下最近一周的交易明细")
    assert format_period(Period(dt.date(2025, 6, 23), TODAY + dt.timedelta(days=1))) in reply


def test_an_amount_threshold_keeps_only_larger_ones(
    history: ActionTransactionHistory, service: ProfileService
) -> None:
    text = "上个月超过5000的交易"
    entities = [tagged(text, "date", "上个月"), tagged(text, "amount", "5000")]
    reply, _ = ask(history, text, entities)
    assert "金额在 5,000.00 元及以上" in reply
    wanted = expected(service, dt.date(2025, 5, 1), dt.date(2025, 6, 1), min_amount=Decimal(5000))
    assert wanted and all(abs(t.amount) >= 5000 for t in wanted)
    assert_lists([line for line in reply.split("\n") if LINE.match(line)], wanted)


def test_an_upper_bound_keeps_only_smaller_ones(
    history: ActionTransactionHistory, service: ProfileService
) -> None:
    text = "100块以下的消费"
    reply, _ = ask(history, text, [tagged(text, "amount", "100块")])
    assert "金额在 100.00 元及以下" in reply
    wanted = expected(service, TODAY - dt.timedelta(days=30), max_amount=Decimal(100))
    assert_lists([line for line in reply.split("\n") if LINE.match(line)], wanted)


def test_a_counterparty_keeps_only_theirs(history: ActionTransactionHistory, service: ProfileService) -> None:
    text = "给美团的付款记录"
    reply, _ = ask(history, text, [tagged(text, "payee", "美团")])
    assert "交易对方含“美团”" in reply
    wanted = expected(service, TODAY - dt.timedelta(days=30), counterparty="美团")
    assert wanted and all("美团" in t.counterparty for t in wanted)
    assert_lists([line for line in reply.split("\n") if LINE.match(line)], wanted)


def test_no_matching_transactions_is_said_plainly(history: ActionTransactionHistory) -> None:
    text = "最近一周超过100万的交易"
    reply, _ = ask(history, text, [tagged(text, "date", "最近一周"), tagged(text, "amount", "100万")])
    period = format_period(Period(dt.date(2025, 6, 23), dt.date(2025, 7, 1)))
    scope = f"{period}期间、金额在 1,000,000.00 元及以上"
    assert reply == message("accounts", "no_transactions", name="张先生", scope=scope)


def test_a_time_not_understood_falls_back_to_30_days_and_says_so(
    history: ActionTransactionHistory, service: ProfileService
) -> None:
    text = "那阵子的流水"
    reply, _ = ask(history, text, [tagged(text, "date", "那阵子")])
    *listing, note = reply.split("\n")
    assert note == message("accounts", "date_unparsed", days=30)
    assert_lists(
        [line for line in listing if LINE.match(line)], expected(service, TODAY - dt.timedelta(days=30))
    )


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize("action_class", [ActionCheckBalance, ActionTransactionHistory])
def test_an_unreachable_database_gets_an_apology_with_the_hotline(action_class: type, tmp_path) -> None:
    unreachable = ProfileService(session_factory(f"sqlite:///{tmp_path / 'missing' / 'profile.db'}"))
    reply, _ = ask(action_class(lambda: unreachable), "余额")
    assert reply == message("accounts", "unavailable")
    assert "400-820-9555" in reply


def test_a_misconfigured_store_still_gets_an_answer() -> None:
    reply, _ = ask(ActionCheckBalance(lambda: ProfileService(session_factory("no-such-driver://x"))), "余额")
    assert reply == message("accounts", "unavailable")
