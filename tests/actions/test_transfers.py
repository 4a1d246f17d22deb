"""The transfer form and its submit step against a real seeded bank and real one-time codes.

张伟 (C000001) pays from ****7323 (debit card 1234, daily limit 200,000); 冯瑜, 王佳 and 王建平 are among
his saved payees. Codes go to a sender that keeps them, as the SMS would reach his phone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from actions.config import message
from actions.transfers import (
    ActionSubmitTransfer,
    ValidateTransferForm,
    clean_payee,
    code_subject,
    complete_name,
)
from bot.identity import OneTimeCodes
from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.models import Account, AccountKind, Card, CardKind, Customer, Role
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log

ZHANG, LIU = "C000001", "C000003"
FORM = "transfer_form"
SENDER = "test-customer"  # make_tracker's sender_id


@pytest.mark.parametrize(
    ("text", "name"),
    [("张伟", "张伟"), ("转给李娜", "李娜"), ("给我妈", "我妈"), ("收款人是王芳。", "王芳")],
)
def test_clean_payee_accepts_names(text: str, name: str) -> None:
    assert clean_payee(text) == name


@pytest.mark.parametrize("text", ["", "转账限额是多少？", "6222020200112233445", "能转吗", "x" * 40])
def test_clean_payee_rejects_non_names(text: str) -> None:
    assert clean_payee(text) is None


@pytest.mark.parametrize(
    ("text", "tagged", "name"),
    [
        ("帮我给张伟转500块", "伟", "张伟"),
        ("帮我向刘洋转账3000", "刘", "刘洋"),
        ("转账给王建国两百块", "王建", "王建国"),
        ("给陈晨转50块", "陈晨", "陈晨"),
        ("给我妈转500", "我妈", "我妈"),
        ("李娜", "李娜", "李娜"),
        ("给欧阳娜娜打1000元", "欧阳", "欧阳娜娜"),
        ("转给张三", "王五", "王五"),  # not in the text: left alone
    ],
)
def test_a_partly_tagged_name_is_completed(text: str, tagged: str, name: str) -> None:
    assert complete_name(text, tagged) == name


# -- the customer's side of the conversation --------------------------------------------------------


class KeepingSender:
    """Delivers codes into a list instead of an SMS: what the customer's phone would show."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))

    @property
    def code(self) -> str:
        return self.sent[-1][1]


@dataclass
class Clock:
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Bank:
    service: ProfileService
    sessions: sessionmaker
    phone: KeepingSender
    clock: Clock
    codes: OneTimeCodes

    @property
    def form(self) -> ValidateTransferForm:
        return ValidateTransferForm(lambda: self.service, lambda: self.codes)


@pytest.fixture
def bank(service, sessions, db_url) -> Bank:
    phone, clock = KeepingSender(), Clock()
    return Bank(service, sessions, phone, clock, OneTimeCodes(db_url, b"k" * 32, phone, clock=clock))


def latest(text: str, customer: str | None = ZHANG, entities: list[dict] | None = None) -> dict[str, Any]:
    metadata = {"customer_no": customer} if customer else {}
    return {"text": text, "intent": {"name": "inform"}, "entities": entities or [], "metadata": metadata}


@dataclass
class Chat:
    """One customer in transfer_form: each answer goes through the validation action as Rasa runs it."""

    bank: Bank
    domain: dict
    customer: str | None = ZHANG
    slots: dict[str, Any] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)

    def start(self, text: str, **entities: str) -> dict[str, Any]:
        """The message that starts the form (the form reads it itself)."""
        tagged = [{"entity": name, "value": value} for name, value in entities.items()]
        tracker = make_tracker(slots=dict(self.slots), latest_message=latest(text, self.customer, tagged))
        return self._validate(tracker)

    def answer(self, slot: str, value: Any, text: str | None = None) -> dict[str, Any]:
        """An answer to the form's question for ``slot``, as the slot mapping fills it."""
        slots = {**self.slots, slot: value, "requested_slot": slot}
        tracker = make_tracker(
            slots=slots,
            latest_message=latest(text or str(value), self.customer),
            events=[{"event": "slot", "name": slot, "value": value}],
            active_loop=FORM,
        )
        return self._validate(tracker)

    def _validate(self, tracker: Tracker) -> dict[str, Any]:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(self.bank.form.run(dispatcher, tracker, self.domain))
        changed = {e["name"]: e["value"] for e in events}
        self.slots.update(changed)
        self.said = [m["text"] for m in dispatcher.messages]
        return changed

    def submit(self) -> str | None:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(slots=self.slots, latest_message=latest("", self.customer))
        events = asyncio.run(ActionSubmitTransfer(lambda: self.bank.service).run(dispatcher, tracker, {}))
        assert {e["name"] for e in events} >= {"payee", "amount", "transfer_confirmed", "transfer_code"}
        assert all(e["value"] is None for e in events)  # the next transfer starts clean
        self.slots = {}
        return " ".join(m["text"] for m in dispatcher.messages) or None


@pytest.fixture
def chat(bank, domain) -> Chat:
    return Chat(bank, domain)


def balance(sessions: sessionmaker, customer_no: str) -> Decimal:
    with sessions() as session:
        query = (
            sa.select(Account.balance)
            .join(Customer, Account.customer_id == Customer.id)
            .where(Customer.customer_no == customer_no, Account.kind == AccountKind.CURRENT)
            .where(Account.currency == "CNY")
        )
        return session.execute(query).scalar_one()


def transfer_outcomes(sessions: sessionmaker) -> list[str]:
    return [r.outcome.value for r in audit_log(sessions) if r.operation == "transfer"]


def daily_limit(sessions: sessionmaker, customer_no: str, limit: int) -> None:
    with sessions() as session, session.begin():
        customer = session.scalar(sa.select(Customer.id).where(Customer.customer_no == customer_no))
        session.execute(
            sa.update(Card)
            .where(Card.customer_id == customer, Card.kind == CardKind.DEBIT)
            .values(daily_transfer_limit=Decimal(limit))
        )


def ready(chat: Chat, payee: str, amount: str) -> Chat:
    """Payee and amount given and accepted; the confirmation is asked next."""
    chat.answer("payee", payee)
    chat.answer("amount", amount)
    assert chat.slots["amount"] is not None, chat.said
    return chat


def ended(how: str) -> dict[str, Any]:
    """The form ends at once: nothing kept, and the code slot says why."""
    slots = dict.fromkeys(("payee", "amount", "transfer_confirmed"))
    return {**slots, "transfer_code": how, "requested_slot": None}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# -- payee ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "payee"), [("冯瑜", "冯瑜"), ("转给小冯", "冯瑜"), ("冯先生", "冯瑜"), ("王佳", "王佳")]
)
def test_a_saved_payee_is_accepted_by_part_of_the_name(chat, answer: str, payee: str) -> None:
    assert chat.answer("payee", answer)["payee"] == payee
    assert chat.said == []


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("小王", "有 2 位与“小王”相符：王佳、王建平"),
        ("我妈", "“我妈”不在您的常用收款人中"),
        ("张伟", "不能给您本人转账"),
        ("转账要多久到账？", "没有识别出收款人"),
    ],
)
def test_a_payee_that_cannot_be_paid_is_asked_again_at_once(chat, sessions, answer: str, says: str) -> None:
    assert chat.answer("payee", answer)["payee"] is None
    assert says in chat.said[0]
    assert transfer_outcomes(sessions) == []  # nothing attempted


def test_new_payees_are_added_in_the_app(chat) -> None:
    chat.answer("payee", "李四")
    assert "手机银行" in chat.said[0] and "添加" in chat.said[0]


# -- amount --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "slot"),
    [
        ("500", "500元"),
        ("五千块", "5,000元"),
        ("1.5万", "15,000元"),
        ("12.5元", "12.50元"),
        ("两百块", "200元"),
        ("¥3,000", "3,000元"),
    ],
)
def test_an_amount_the_account_can_send_is_accepted_with_the_details(chat, answer: str, slot: str) -> None:
    assert chat.answer("amount", answer)["amount"] == slot
    [details] = chat.said
    assert "****7323" in details and "今日剩余可转额度 200,000元" in details


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("0", "大于 0"),
        ("-5", "大于 0"),
        ("10万", "上限为 50,000 元"),
        ("一个亿", "上限"),
        ("99999999999999999999999999999999", "上限"),
        ("12.345", "精确到分"),
        ("很多钱", "没有识别出金额"),
    ],
)
def test_an_impossible_amount_is_asked_again_with_the_reason(chat, answer: str, says: str) -> None:
    assert chat.answer("amount", answer)["amount"] is None
    assert says in chat.said[0]


def test_more_than_the_balance_is_asked_again_with_the_balance(bank, domain) -> None:
    liu = Chat(bank, domain, customer=LIU)
    assert liu.answer("amount", "两万")["amount"] is None
    assert liu.said == [
        message("transfer_outcome", "insufficient", balance="14,930.54 元", amount="20,000元")
    ]


def test_todays_transfers_leave_less_of_the_daily_limit(chat, sessions) -> None:
    daily_limit(sessions, ZHANG, 10000)
    for payee in ("冯瑜", "王佳"):
        ready(chat, payee, "4000").answer("transfer_confirmed", True, "确认")
        assert "转账成功" in chat.submit()
    assert chat.answer("amount", "3000")["amount"] is None
    assert "您今天还可以转出 2,000元（单日转账限额 10,000元）" in chat.said[0]
    assert chat.answer("amount", "2000")["amount"] == "2,000元"
    daily_limit(sessions, ZHANG, 8000)  # used up: no amount could go today
    assert chat.answer("amount", "100") == ended("stopped")
    assert "已经用完" in chat.said[0]
    assert chat.submit() is None  # the reason was said already


# -- the whole transfer ----------------------------------------------------------------------------


def test_a_small_transfer_needs_no_code_and_moves_the_money(chat, bank, sessions) -> None:
    before = balance(sessions, ZHANG)
    ready(chat, "小冯", "500")
    assert chat.answer("transfer_confirmed", True, "确认") == {
        "transfer_confirmed": True,
        "requested_slot": None,
    }
    assert bank.phone.sent == []
    reply = chat.submit()
    reference = re.search(r"业务编号 (ZZ\d{16})", reply).group(1)
    assert "已向 冯瑜 转账 500元" in reply and "****7323" in reply
    assert balance(sessions, ZHANG) == before - 500
    assert f"转账后余额 {before - 500:,.2f} 元" in reply
    [record] = [r for r in audit_log(sessions) if r.operation == "transfer"]
    assert (record.outcome.value, record.reference) == ("ok", reference)


def test_the_transfer_starts_from_the_request_message(chat, sessions) -> None:
    chat.slots = {
        "payee": "王佳",
        "amount": "40,000元",
        "transfer_confirmed": True,
        "transfer_code": "verified",
    }
    slots = chat.start("帮我给冯转500块", payee="冯", amount="500块")
    assert slots == {"payee": "冯瑜", "amount": "500元", "transfer_confirmed": None, "transfer_code": None}
    chat.slots = {"amount": "40,000元", "transfer_confirmed": True}  # left by an interrupted transfer
    assert chat.start("我要转账") == {
        "payee": None,
        "amount": None,
        "transfer_confirmed": None,
        "transfer_code": None,
    }
    assert chat.said == []  # nothing named: the form just asks


def test_declining_moves_nothing(chat, sessions) -> None:
    before = balance(sessions, ZHANG)
    ready(chat, "冯瑜", "500").answer("transfer_confirmed", False, "不用了")
    assert chat.submit() == message("transfer", "cancelled")
    assert balance(sessions, ZHANG) == before and transfer_outcomes(sessions) == []


def test_a_large_transfer_waits_for_the_sms_code(chat, bank, sessions) -> None:
    before = balance(sessions, ZHANG)
    ready(chat, "冯瑜", "6000")
    assert chat.answer("transfer_confirmed", True, "确认") == {
        "transfer_confirmed": True,
        "transfer_code": None,
    }
    assert chat.said == [message("transfer_outcome", "code_sent", amount="5,000元", phone="139****0001")]
    assert bank.phone.sent == [("13900000001", bank.phone.code)]
    for attempts_left in (2, 1):
        assert chat.answer("transfer_code", wrong(bank.phone.code)) == {"transfer_code": None}
        assert f"还可以再试 {attempts_left} 次" in chat.said[0]
        assert balance(sessions, ZHANG) == before
    assert chat.answer("transfer_code", f"验证码 {bank.phone.code}")["transfer_code"] == "verified"
    assert "已向 冯瑜 转账 6,000元" in chat.submit()
    assert balance(sessions, ZHANG) == before - 6000
    assert transfer_outcomes(sessions) == ["ok"]
    [record] = [r for r in audit_log(sessions) if r.operation == "phone_for_code"]
    assert record.outcome.value == "ok" and record.customer_no == ZHANG


def test_three_wrong_codes_cancel_the_transfer(chat, bank, sessions) -> None:
    before = balance(sessions, ZHANG)
    ready(chat, "冯瑜", "6000").answer("transfer_confirmed", True, "确认")
    for _ in range(2):
        chat.answer("transfer_code", wrong(bank.phone.code))
    assert chat.answer("transfer_code", wrong(bank.phone.code)) == ended("locked")
    assert chat.said == [message("transfer_outcome", "code_locked")]
    assert chat.submit() is None
    assert balance(sessions, ZHANG) == before and transfer_outcomes(sessions) == []
    # locked for a while: the next large transfer gets no new code either
    ready(chat, "王佳", "6000").answer("transfer_confirmed", True, "确认")
    assert chat.slots["transfer_code"] == "locked" and len(bank.phone.sent) == 1


def test_an_expired_code_cancels_the_transfer(chat, bank, sessions) -> None:
    before = balance(sessions, ZHANG)
    ready(chat, "冯瑜", "6000").answer("transfer_confirmed", True, "确认")
    bank.clock.now += dt.timedelta(minutes=6)
    assert chat.answer("transfer_code", bank.phone.code) == ended("expired")
    assert chat.said == [message("transfer_outcome", "code_expired")]
    assert chat.submit() is None and balance(sessions, ZHANG) == before


def test_something_else_than_a_code_is_asked_for_again(chat, bank) -> None:
    ready(chat, "冯瑜", "6000").answer("transfer_confirmed", True, "确认")
    assert chat.answer("transfer_code", "还没收到") == {"transfer_code": None}
    assert chat.said == []
    assert bank.codes.verify(code_subject(ZHANG, SENDER), bank.phone.code).verdict == "verified"


def test_a_large_transfer_is_never_made_without_the_code(chat, sessions) -> None:
    before = balance(sessions, ZHANG)
    chat.slots = {"payee": "冯瑜", "amount": "6,000元", "transfer_confirmed": True, "transfer_code": None}
    assert chat.submit() == message("transfer_outcome", "code_missing")
    assert balance(sessions, ZHANG) == before


def test_the_form_asks_for_the_code_only_when_needed(bank, domain) -> None:
    slots = domain["forms"][FORM]["required_slots"]

    def required(**values: Any) -> list[str]:
        tracker = make_tracker(slots=values, active_loop=FORM)
        return asyncio.run(bank.form.required_slots(slots, CollectingDispatcher(), tracker, domain))

    assert required(amount="4,999元", transfer_confirmed=True) == ["payee", "amount", "transfer_confirmed"]
    assert required(amount="5,000元", transfer_confirmed=None) == ["payee", "amount", "transfer_confirmed"]
    assert required(amount="5,000元", transfer_confirmed=True) == slots
    assert required(amount="5,000元", transfer_confirmed=True, transfer_code="locked") == []


def test_a_refusal_at_submit_moves_nothing_and_says_why(chat, sessions) -> None:
    """The balance changed between the question and the submit: the store checks again."""
    daily_limit(sessions, ZHANG, 1000)
    chat.slots = {"payee": "冯瑜", "amount": "2,000元", "transfer_confirmed": True}
    before = balance(sessions, ZHANG)
    reply = chat.submit()
    assert reply.startswith("这笔转账没有办理") and "您今天还可以转出 1,000元" in reply
    assert balance(sessions, ZHANG) == before and transfer_outcomes(sessions) == ["rejected"]


# -- who and whether ---------------------------------------------------------------------------------


def test_an_unverified_customer_is_asked_to_verify_and_nothing_moves(bank, domain, sessions) -> None:
    stranger = Chat(bank, domain, customer=None)
    assert stranger.answer("payee", "冯瑜") == ended("stopped")
    assert stranger.said == [message("accounts", "verify_first")]
    stranger.slots = {"payee": "冯瑜", "amount": "500元", "transfer_confirmed": True}
    before = balance(sessions, ZHANG)
    assert stranger.submit() == message("accounts", "verify_first")
    assert balance(sessions, ZHANG) == before and transfer_outcomes(sessions) == []


def test_an_unreachable_store_stops_the_form_and_moves_nothing(bank, domain) -> None:
    bank.service = ProfileService(session_factory("sqlite:////nonexistent/dir/x.db"))
    chat = Chat(bank, domain)
    assert chat.answer("amount", "500") == ended("stopped")
    assert chat.said == [message("transfer_outcome", "unavailable")]
    chat.slots = {"payee": "冯瑜", "amount": "500元", "transfer_confirmed": True}
    assert chat.submit() == message("transfer_outcome", "unavailable")


def test_no_account_to_pay_from_stops_the_form(chat, service) -> None:
    service.freeze_card(Actor("assistant", Role.BOT, serving=ZHANG), ZHANG, "1234", purpose="测试挂失")
    assert chat.answer("amount", "500") == ended("stopped")
    assert chat.said == [message("transfer_outcome", "no_account")]


def test_form_slots_are_filled_only_by_answers_to_the_forms_questions(domain) -> None:
    for slot in ("payee", "amount", "transfer_code"):
        for mapping in domain["slots"][slot]["mappings"]:
            assert mapping["conditions"] == [{"active_loop": FORM, "requested_slot": slot}], slot
