import asyncio

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions import asks
from tests.actions.conftest import make_tracker

ASK_ACTIONS = [cls() for cls in asks.ASK_ACTIONS]


def test_every_form_slot_has_an_ask_action_in_the_domain(domain) -> None:
    form_slots = {slot for form in domain["forms"].values() for slot in form["required_slots"]}
    assert {a.slot for a in ASK_ACTIONS} == form_slots
    assert {a.name() for a in ASK_ACTIONS} <= set(domain["actions"])


@pytest.mark.parametrize("action", ASK_ACTIONS, ids=lambda a: a.name())
def test_ask_actions_say_something(action: Action, domain) -> None:
    dispatcher = CollectingDispatcher()
    slots = {"payee": "张伟", "amount": "500元", "card_tail": "6688"}
    asyncio.run(action.run(dispatcher, make_tracker(slots=slots), domain))
    assert dispatcher.messages[0]["text"].strip()


def test_confirmation_repeats_the_details_with_buttons(domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"payee": "张伟", "amount": "500元"})
    confirm = next(a for a in ASK_ACTIONS if a.name() == "action_ask_transfer_confirmed")
    asyncio.run(confirm.run(dispatcher, tracker, domain))
    message = dispatcher.messages[0]
    assert "张伟" in message["text"] and "500元" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
