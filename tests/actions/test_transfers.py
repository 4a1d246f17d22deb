import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.transfers import ActionSubmitTransfer, ValidateTransferForm, clean_payee, complete_name
from tests.actions.conftest import make_tracker


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
    ("text", "slot"),
    [("500", "500元"), ("五千块", "5,000元"), ("1.5万", "15,000元"), ("12.5元", "12.50元")],
)
def test_validate_amount_accepts(text: str, slot: str, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateTransferForm().validate_amount(text, dispatcher, make_tracker(), domain)
    assert result == {"amount": slot}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("text", "says"),
    [("0", "大于 0"), ("-100", "大于 0"), ("10万", "上限"), ("一个亿", "上限"), ("很多钱", "没有识别出金额")],
)
def test_validate_amount_refuses_with_reason(text: str, says: str, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateTransferForm().validate_amount(text, dispatcher, make_tracker(), domain)
    assert result == {"amount": None}
    assert says in dispatcher.messages[0]["text"]


def test_validate_payee_refuses_question(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateTransferForm().validate_payee("转账要多久到账？", dispatcher, make_tracker(), domain)
    assert result == {"payee": None}
    assert "收款人" in dispatcher.messages[0]["text"]


def test_submit_never_claims_a_transfer(domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"payee": "张伟", "amount": "500元", "transfer_confirmed": True})
    events = asyncio.run(ActionSubmitTransfer().run(dispatcher, tracker, domain))
    text = dispatcher.messages[0]["text"]
    assert "张伟" in text and "500元" in text and "没有发生任何资金划转" in text
    assert {e["name"]: e["value"] for e in events} == {
        "payee": None,
        "amount": None,
        "transfer_confirmed": None,
    }


def test_submit_cancelled(domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"payee": "张伟", "amount": "500元", "transfer_confirmed": False})
    asyncio.run(ActionSubmitTransfer().run(dispatcher, tracker, domain))
    assert "已取消" in dispatcher.messages[0]["text"]


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
