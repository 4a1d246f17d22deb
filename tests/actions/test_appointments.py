import asyncio
from datetime import datetime

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import ActionSubmitAppointment, ValidateAppointmentForm
from tests.actions.conftest import make_tracker

NOW = datetime(2026, 11, 18, 9, 30)  # Wednesday morning


def validator() -> ValidateAppointmentForm:
    return ValidateAppointmentForm(clock=lambda: NOW)


def test_time_is_resolved_and_shown_in_full(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = validator().validate_appointment_time("明天下午三点", dispatcher, make_tracker(), domain)
    assert result == {"appointment_time": "2026年11月19日（周四）下午15:00"}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("随便", "没有识别出时间"),
        ("2026-11-17 10:00", "已经过去"),
        ("2027-03-01", "30 天以内"),
        ("明天晚上8点", "营业时间"),
    ],
)
def test_bad_times_are_refused_with_reason(text: str, says: str, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = validator().validate_appointment_time(text, dispatcher, make_tracker(), domain)
    assert result == {"appointment_time": None}
    assert says in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    ("value", "ok"), [("理财咨询", True), ("", False), ("办" * 60, False), (None, False)]
)
def test_topic(value, ok: bool, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = validator().validate_appointment_topic(value, dispatcher, make_tracker(), domain)
    assert (result["appointment_topic"] is not None) == ok
    assert (dispatcher.messages == []) == ok


def test_branch(domain) -> None:
    dispatcher = CollectingDispatcher()
    assert validator().validate_appointment_branch("朝阳门支行", dispatcher, make_tracker(), domain) == {
        "appointment_branch": "朝阳门支行"
    }
    assert validator().validate_appointment_branch("   ", dispatcher, make_tracker(), domain) == {
        "appointment_branch": None
    }


def test_submit_repeats_details_and_does_not_claim_booking(domain) -> None:
    dispatcher = CollectingDispatcher()
    slots = {
        "appointment_topic": "理财咨询",
        "appointment_time": "2026年11月19日（周四）",
        "appointment_branch": "朝阳门支行",
    }
    events = asyncio.run(ActionSubmitAppointment().run(dispatcher, make_tracker(slots=slots), domain))
    text = dispatcher.messages[0]["text"]
    assert all(v in text for v in slots.values())
    assert "还没有提交成功" in text
    assert sorted(e["name"] for e in events) == sorted(slots)
