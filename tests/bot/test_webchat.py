"""The web chat channel's pure parts: Rasa's socketio message shape and the restored history."""

from __future__ import annotations

from bot.webchat import bot_uttered, history_from_events


def user(text: str, customer: str | None = None) -> dict:
    return {
        "event": "user",
        "text": text,
        "timestamp": 1.0,
        "metadata": {"customer_no": customer} if customer else {},
    }


def bot(text: str, buttons: list | None = None) -> dict:
    return {"event": "bot", "text": text, "timestamp": 2.0, "data": {"buttons": buttons}, "metadata": {}}


def test_buttons_become_quick_replies_and_metadata_is_kept() -> None:
    message = {
        "text": "选一个",
        "buttons": [{"title": "有用", "payload": "/yes"}],
        "metadata": {"agent_name": "赵敏"},
    }
    assert bot_uttered(message) == {
        "text": "选一个",
        "quick_replies": [{"content_type": "text", "title": "有用", "payload": "/yes"}],
        "metadata": {"agent_name": "赵敏"},
    }
    assert bot_uttered({"text": "您好"}) == {"text": "您好"}


def test_history_shows_what_was_said_without_payloads() -> None:
    events = [
        user("你好"),
        bot("您好！", [{"title": "有用", "payload": "/yes"}]),
        user("/kb_feedback{}"),
        {"event": "action"},
    ]
    shown = history_from_events(events, None)
    assert [(m["who"], m["text"]) for m in shown] == [("customer", "你好"), ("bot", "您好！")]
    assert shown[1]["quick_replies"][0]["payload"] == "/yes"


def test_a_verified_customers_history_is_only_for_that_customer() -> None:
    events = [user("查余额", "C000001"), bot("您的余额为 1,000.00 元")]
    assert len(history_from_events(events, "C000001")) == 2
    assert history_from_events(events, None) == []  # someone who only knows the session id
    assert history_from_events(events, "C000002") == []
