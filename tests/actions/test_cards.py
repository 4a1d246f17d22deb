import asyncio
import re

import pytest
import sqlalchemy as sa
from rasa_sdk.executor import CollectingDispatcher

from actions.cards import ActionSubmitCardFreeze, ValidateLostCardForm, card_tail_of
from actions.config import message
from bot.profile.db import session_factory
from bot.profile.models import Card, Customer
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log


@pytest.mark.parametrize(
    ("text", "tail", "full"),
    [
        ("尾号6688", "6688", False),
        ("6688那张", "6688", False),
        ("最后四位是１２３４", "1234", False),
        ("卡号6222020200112233445", "3445", True),
        ("我的卡丢了，卡号****0128", "0128", True),  # as the gateway forwards a full number
        ("信用卡那张", None, False),
        ("123", None, False),
    ],
)
def test_card_tail_of(text: str, tail, full: bool) -> None:
    assert card_tail_of(text) == (tail, full)


def test_full_card_number_is_reduced_to_tail_with_warning(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateLostCardForm().validate_card_tail(
        "6222020200112233445", dispatcher, make_tracker(), domain
    )
    assert result == {"card_tail": "3445"}
    assert "不要在对话中发送完整卡号" in dispatcher.messages[0]["text"]
    assert "6222020200112233445" not in dispatcher.messages[0]["text"]


def test_missing_tail_asks_again(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateLostCardForm().validate_card_tail("不记得了", dispatcher, make_tracker(), domain)
    assert result == {"card_tail": None}
    assert "后四位" in dispatcher.messages[0]["text"]


def submit(
    service: ProfileService | None, tail: str, confirmed: bool = True, customer: str | None = None
) -> str:
    """What the submit step says for a customer (verified by the gateway when ``customer`` is set)."""
    dispatcher = CollectingDispatcher()
    metadata = {"customer_no": customer} if customer else {}
    latest = {"text": "确认", "intent": {"name": "affirm"}, "entities": [], "metadata": metadata}
    tracker = make_tracker(slots={"card_tail": tail, "freeze_confirmed": confirmed}, latest_message=latest)
    events = asyncio.run(ActionSubmitCardFreeze(lambda: service).run(dispatcher, tracker, {}))
    assert all(e["value"] is None for e in events)  # the form starts clean next time
    [reply] = dispatcher.messages
    return reply["text"]


@pytest.mark.parametrize(("confirmed", "says"), [(True, "还没有被冻结"), (False, "暂不冻结")])
def test_an_unverified_customer_is_sent_to_the_hotline_at_once(confirmed: bool, says: str) -> None:
    text = submit(None, "6688", confirmed)
    assert says in text and "6688" in text


def card_status(sessions, customer_no: str, tail: str) -> str:
    with sessions() as session:
        query = (
            sa.select(Card.status)
            .join(Customer, Card.customer_id == Customer.id)
            .where(Customer.customer_no == customer_no, Card.number.endswith(tail))
        )
        return session.execute(query).scalar_one().value


def test_a_verified_customer_gets_the_card_frozen_with_a_reference(service, sessions) -> None:
    text = submit(service, "1234", customer="C000001")
    reference = re.search(r"业务编号 (FZ\w+)", text).group(1)
    assert text.startswith("张先生") and "1234" in text
    assert card_status(sessions, "C000001", "1234") == "frozen"
    [record] = [r for r in audit_log(sessions) if r.operation == "freeze_card"]
    assert (record.outcome.value, record.purpose, record.reference) == ("ok", "客户挂失冻结银行卡", reference)
    assert submit(service, "1234", customer="C000001") == message(
        "card_freeze", "already_frozen", tail="1234"
    )


def test_an_already_frozen_card_is_not_changed_again(service, sessions) -> None:
    assert submit(service, "4321", customer="C000003") == message(
        "card_freeze", "already_frozen", tail="4321"
    )
    assert card_status(sessions, "C000003", "4321") == "frozen"


def test_a_tail_that_is_not_the_customers_freezes_nothing(service, sessions) -> None:
    assert submit(service, "4321", customer="C000001") == message("card_freeze", "not_yours", tail="4321")
    assert card_status(sessions, "C000003", "4321") == "frozen"  # 刘洋's card, untouched by 张伟
    assert card_status(sessions, "C000001", "1234") == "active"


def test_declining_freezes_nothing_even_when_verified(service, sessions) -> None:
    assert "暂不冻结" in submit(service, "1234", confirmed=False, customer="C000001")
    assert card_status(sessions, "C000001", "1234") == "active"


def test_an_unreachable_store_apologises_with_the_hotline(tmp_path) -> None:
    broken = ProfileService(session_factory(f"sqlite:///{tmp_path / 'missing' / 'profile.db'}"))
    assert submit(broken, "1234", customer="C000001") == message("accounts", "unavailable")
