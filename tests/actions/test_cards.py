import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cards import ActionSubmitCardFreeze, ValidateLostCardForm, card_tail_of
from tests.actions.conftest import make_tracker


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


@pytest.mark.parametrize(("confirmed", "says"), [(True, "还没有被冻结"), (False, "暂不冻结")])
def test_submit_is_honest(confirmed: bool, says: str, domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"card_tail": "6688", "freeze_confirmed": confirmed})
    events = asyncio.run(ActionSubmitCardFreeze().run(dispatcher, tracker, domain))
    assert says in dispatcher.messages[0]["text"] and "6688" in dispatcher.messages[0]["text"]
    assert all(e["value"] is None for e in events)
