import asyncio
import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import (
    ActionSubmitAppointment,
    ValidateAppointmentForm,
    pick_by_keywords,
    topic_of,
)
from actions.config import message
from bot.dates import CHINA
from bot.profile.db import session_factory
from bot.profile.models import Appointment, AppointmentStatus, AuditOutcome, Skill
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log

NOW = datetime(2026, 11, 18, 9, 30)  # Wednesday morning, China time
THURSDAY_3PM = "2026-11-19T15:00:00+08:00"


def validator() -> ValidateAppointmentForm:
    return ValidateAppointmentForm(clock=lambda: NOW)


def test_time_is_resolved_shown_in_full_and_kept_for_booking(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = validator().validate_appointment_time("明天下午三点", dispatcher, make_tracker(), domain)
    assert result == {
        "appointment_time": "2026年11月19日（周四）下午15:00",
        "appointment_starts_at": THURSDAY_3PM,
    }
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
    assert result == {"appointment_time": None, "appointment_starts_at": None}
    assert says in dispatcher.messages[0]["text"]


def test_a_day_without_an_hour_asks_for_the_hour_and_keeps_the_day(domain) -> None:
    dispatcher = CollectingDispatcher()
    result = validator().validate_appointment_time("明天", dispatcher, make_tracker(), domain)
    assert result == {"appointment_time": None, "appointment_starts_at": "2026-11-19"}
    assert "几点" in dispatcher.messages[0]["text"]
    tracker = make_tracker(slots={"appointment_starts_at": "2026-11-19"})
    answer = validator().validate_appointment_time("下午3点", CollectingDispatcher(), tracker, domain)
    assert answer == {
        "appointment_time": "2026年11月19日（周四）下午15:00",
        "appointment_starts_at": THURSDAY_3PM,
    }
    tracker = make_tracker(slots={"appointment_starts_at": THURSDAY_3PM})  # changed later: same day
    later = validator().validate_appointment_time("改到下午4点半吧", CollectingDispatcher(), tracker, domain)
    assert later["appointment_starts_at"] == "2026-11-19T16:30:00+08:00"


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("理财咨询", Skill.WEALTH),
        ("想把基金赎回了做个资产配置", Skill.WEALTH),
        ("想聊聊房贷", Skill.LOANS),
        ("車貸", Skill.LOANS),  # traditional characters
        ("汇款到国外要交税吗", Skill.TAX_CROSS_BORDER),
        ("房贷和基金都想问", None),  # a tie is not a guess
        ("随便聊聊", None),
    ],
)
def test_topics_map_to_advisor_skills(text: str, skill) -> None:
    assert topic_of(text) is skill


def test_the_keyword_with_most_hits_wins() -> None:
    table = {"fees": ["收费", "年费"], "card": ["信用卡"]}
    assert pick_by_keywords("信用卡年费乱收费", table) == "fees"
    assert pick_by_keywords("", table) is None


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("理财咨询", "理财"),
        ("税务与跨境", "税务与跨境"),
        ("随便", None),
        ("", None),
        ("办" * 60, None),
        (None, None),
    ],
)
def test_topic_is_kept_as_the_skill_label_or_asked_again(value, label, domain) -> None:
    dispatcher = CollectingDispatcher()
    assert validator().validate_appointment_topic(value, dispatcher, make_tracker(), domain) == {
        "appointment_topic": label
    }
    assert (dispatcher.messages == []) == (label is not None)
    if label is None:
        assert "理财投资、贷款、税务与跨境" in dispatcher.messages[0]["text"]


def test_the_topic_comes_from_the_request_itself(domain) -> None:
    latest = {"text": "想约个理财经理聊聊", "intent": {"name": "book_appointment"}, "entities": []}

    def extract(slots: dict) -> dict:
        tracker = make_tracker(slots=slots, latest_message=latest)
        return asyncio.run(validator().extract_appointment_topic(CollectingDispatcher(), tracker, domain))

    assert extract({}) == {"appointment_topic": "理财"}
    assert extract({"appointment_topic": "贷款"}) == {}
    latest = {**latest, "intent": {"name": "inform"}}
    assert extract({}) == {}


def test_branch(domain) -> None:
    dispatcher = CollectingDispatcher()
    assert validator().validate_appointment_branch("朝阳门支行", dispatcher, make_tracker(), domain) == {
        "appointment_branch": "朝阳门支行"
    }
    assert validator().validate_appointment_branch("   ", dispatcher, make_tracker(), domain) == {
        "appointment_branch": None
    }


def submit(
    service: ProfileService | None,
    starts_at: str = THURSDAY_3PM,
    *,
    confirmed: bool = True,
    customer: str | None = "C000001",
    clock=lambda: NOW,
) -> tuple[dict, list[dict]]:
    """The submit step's one message and events for a customer (verified by the gateway when set)."""
    dispatcher = CollectingDispatcher()
    slots = {
        "appointment_topic": "理财",
        "appointment_time": "2026年11月19日（周四）下午15:00",
        "appointment_starts_at": starts_at,
        "appointment_branch": "朝阳门支行",
        "appointment_confirmed": confirmed,
    }
    metadata = {"customer_no": customer} if customer else {}
    latest = {"text": "确认预约", "intent": {"name": "affirm"}, "entities": [], "metadata": metadata}
    action = ActionSubmitAppointment(lambda: service, clock=clock)
    events = asyncio.run(action.run(dispatcher, make_tracker(slots=slots, latest_message=latest), {}))
    [reply] = dispatcher.messages
    return reply, events


def bookings(sessions) -> list[Appointment]:
    """Appointments made in these tests (the seeded ones are in 2025)."""
    with sessions() as session:
        query = sa.select(Appointment).where(Appointment.starts_at >= NOW.replace(tzinfo=CHINA))
        return list(session.scalars(query))


def test_a_confirmed_appointment_is_booked_with_the_customers_advisor(service, sessions) -> None:
    reply, events = submit(service)
    reference = re.search(r"业务编号 (YY\d{16})", reply["text"])[1]
    assert reply["text"].startswith("张先生")
    assert all(
        part in reply["text"] for part in ("2026年11月19日（周四）下午15:00", "朝阳门支行", "李娜", "理财")
    )
    [row] = bookings(sessions)
    assert (row.reference, row.status, row.topic, row.branch) == (
        reference,
        AppointmentStatus.BOOKED,
        Skill.WEALTH,
        "朝阳门支行",
    )
    [record] = [r for r in audit_log(sessions) if r.operation == "book_appointment"]
    assert (record.outcome, record.reference, record.purpose) == (
        AuditOutcome.OK,
        reference,
        "客户预约客户经理面谈",
    )
    assert {e["name"] for e in events} >= {"appointment_topic", "appointment_confirmed"}
    assert all(e["value"] is None for e in events)  # the form starts clean next time


def test_declining_books_nothing(service, sessions) -> None:
    reply, events = submit(service, confirmed=False)
    assert reply["text"] == message("appointment", "cancelled")
    assert bookings(sessions) == [] and audit_log(sessions) == []
    assert all(e["value"] is None for e in events)


def test_when_no_one_is_free_the_next_hours_are_offered_and_the_time_asked_again(
    service, sessions, domain
) -> None:
    reply, events = submit(service, "2026-11-22T10:00:00+08:00")  # a Sunday: no advisor works
    assert "约满" in reply["text"]
    titles = [b["title"] for b in reply["buttons"]]
    assert titles == [f"2026年11月23日（周一）上午{hour}:00" for hour in (9, 10, 11)]
    assert all(title in reply["text"] for title in titles)
    assert bookings(sessions) == []
    assert events[-1] == {"event": "followup", "name": "appointment_form", "timestamp": None}
    assert {e["name"]: e["value"] for e in events[:-1]} == {
        "appointment_time": None,
        "appointment_starts_at": None,
        "appointment_confirmed": None,
    }
    # the customer taps a button: the form reads it as the new time
    picked = validator().validate_appointment_time(
        reply["buttons"][1]["payload"], CollectingDispatcher(), make_tracker(), domain
    )
    assert picked["appointment_starts_at"] == "2026-11-23T10:00:00+08:00"


def test_nothing_free_within_the_bookable_days_sends_to_the_hotline(service, sessions) -> None:
    reply, events = submit(service, "2026-11-22T10:00:00+08:00", clock=lambda: datetime(2026, 10, 23, 9))
    assert reply["text"] == message("appointment", "fully_booked", days=30, topic="理财")
    assert "buttons" not in reply or not reply["buttons"]
    assert all(e["value"] is None for e in events) and bookings(sessions) == []


def test_an_unverified_customer_gets_no_profile_access(service, sessions) -> None:
    reply, _ = submit(service, customer=None)
    assert reply["text"] == message("accounts", "verify_first")
    assert bookings(sessions) == [] and audit_log(sessions) == []


def test_an_unreachable_store_apologises(tmp_path) -> None:
    broken = ProfileService(session_factory(f"sqlite:///{tmp_path / 'missing' / 'profile.db'}"))
    reply, _ = submit(broken)
    assert reply["text"] == message("accounts", "unavailable")
