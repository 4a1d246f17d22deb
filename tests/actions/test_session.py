import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.config import messages, policy
from actions.personal import ActionSessionStart
from actions.session import verified_customer
from tests.actions.conftest import make_tracker


@pytest.mark.parametrize(
    ("metadata", "input_channel", "expected_key"),
    [
        ({"channel": "wechat"}, None, "wechat"),
        ({"channel": "web"}, None, "web"),
        ({}, "cmdline", "cmdline"),
        ({"channel": "unknown-app"}, None, "default"),
        (None, None, "default"),
    ],
)
def test_greets_by_channel(metadata, input_channel, expected_key, domain) -> None:
    events = [{"event": "user", "text": "hi", "input_channel": input_channel}] if input_channel else []
    tracker = make_tracker(slots={"session_started_metadata": metadata}, events=events)
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionSessionStart().run(dispatcher, tracker, domain))
    assert dispatcher.messages[0]["text"] == messages("welcome")[expected_key]
    assert [e["event"] for e in result] == ["session_started", "action"]
    assert result[-1]["name"] == "action_listen"


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"customer_no": "C000001"}, "C000001"),
        ({"customer_no": "C000001' OR 1=1"}, None),
        ({"customer_no": "C000001\n"}, None),
        ({"customer_no": "c000001"}, None),
        ({"customer_no": "C0000001"}, None),
        ({"customer_no": "C٠٠٠٠٠١"}, None),  # Arabic-Indic digits are digits to \d, not to us
        ({"customer_no": 1}, None),
        ({"customer_no": ["C000001"]}, None),
        ({}, None),
        ("C000001", None),
        (None, None),
    ],
)
def test_only_a_well_formed_customer_number_counts_as_verified(metadata, expected) -> None:
    latest = {"text": "余额", "intent": {}, "entities": [], "metadata": metadata}
    assert verified_customer(make_tracker(latest_message=latest)) == expected


def test_a_logged_in_customer_is_greeted_by_name_with_their_tier_hotline(service, domain) -> None:
    tracker = make_tracker(slots={"session_started_metadata": {"channel": "rest", "customer_no": "C000002"}})
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSessionStart(lambda: service).run(dispatcher, tracker, domain))
    text = dispatcher.messages[0]["text"]
    assert (
        text.startswith("王女士，您好")
        and "私人银行" in text
        and policy("tiers", "private")["hotline"] in text
    )


def test_an_unknown_customer_gets_the_channel_greeting(service, domain) -> None:
    tracker = make_tracker(
        slots={"session_started_metadata": {"channel": "wechat", "customer_no": "C999999"}}
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSessionStart(lambda: service).run(dispatcher, tracker, domain))
    assert dispatcher.messages[0]["text"] == messages("welcome")["wechat"]
