import asyncio

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions import asks, wealth
from tests.actions.conftest import make_tracker

ASK_ACTIONS = [cls() for cls in asks.ASK_ACTIONS]


def test_every_form_slot_has_an_ask_action_in_the_domain(domain) -> None:
    form_slots = {slot for form in domain["forms"].values() for slot in form["required_slots"]}
    # questions composed from the customer's profile live next to their form (actions/wealth.py)
    composed = {a.slot for a in (cls() for cls in wealth._ProfileQuestion.__subclasses__())}
    assert {a.slot for a in ASK_ACTIONS} | composed == form_slots
    assert not {a.slot for a in ASK_ACTIONS} & composed
    assert {a.name() for a in ASK_ACTIONS} | {f"action_ask_{s}" for s in composed} <= set(domain["actions"])


@pytest.mark.parametrize("action", ASK_ACTIONS, ids=lambda a: a.name())
def test_ask_actions_say_something(action: Action, domain) -> None:
    dispatcher = CollectingDispatcher()
    slots = {"payee": "张伟", "amount": "500元", "card_tail": "6688"}
    slots |= {"appointment_topic": "理财", "appointment_time": "明天10:00", "appointment_branch": "朝阳支行"}
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
