"""Appointments with an advisor (客户经理): topic, time, branch, confirmation, then the booking.

The topic decides which advisors qualify (their skill; keywords in policy.yml ``appointment.topics``).
The profile store books the hour with the customer's own advisor when they are free, else with the
least booked one; when nobody is free, the nearest free hours are offered as buttons and the form asks
for the time again. Times are China time, as customers say them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message, policy
from actions.customer import Lookup, answer
from actions.formatting import format_when
from actions.services import profile_service
from actions.session import request_message
from bot.dates import CHINA, When, parse_when
from bot.profile.errors import NoAdvisorFree
from bot.profile.models import Coded, Skill
from bot.profile.scheduling import BookingWindow
from bot.profile.service import ProfileService
from bot.text import normalize

FORM = "appointment_form"
TOPIC, TIME, STARTS_AT = "appointment_topic", "appointment_time", "appointment_starts_at"
BRANCH, CONFIRMED = "appointment_branch", "appointment_confirmed"
FORM_SLOTS = (TOPIC, TIME, STARTS_AT, BRANCH, CONFIRMED)
BOOK_PURPOSE = "客户预约客户经理面谈"
MAX_TOPIC_CHARS = 50
MAX_BRANCH_CHARS = 30

C = TypeVar("C", bound=Coded)


def china_now() -> datetime:
    """The customers' wall clock (naive, China time), whatever zone the server runs in."""
    return datetime.now(CHINA).replace(tzinfo=None)


def pick_by_keywords(text: str, table: Mapping[str, Sequence[str]]) -> str | None:
    """The key whose keywords occur most in ``text``; None when none occurs or two keys tie."""
    plain = normalize(text)
    scores = {key: sum(word in plain for word in words) for key, words in table.items()}
    best = max(scores.values(), default=0)
    winners = [key for key, score in scores.items() if score == best]
    return winners[0] if best and len(winners) == 1 else None


def by_label(kind: type[C], label: Any) -> C | None:
    """The member whose Chinese label a slot holds (slots keep what the customer is shown)."""
    return next((member for member in kind if member.label == label), None)


def topic_of(text: str) -> Skill | None:
    """The advisor skill a meeting about ``text`` needs ("想聊聊房贷" → loans)."""
    key = pick_by_keywords(text, policy("appointment", "topics"))
    return Skill(key) if key else None


def _short_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = normalize(value).strip(" 。，,.!！")
    return text if 0 < len(text) <= limit else None


def check_time(when: When | None, now: datetime) -> str | None:
    """The key of the complaint about ``when`` in messages.yml, or None if it is bookable."""
    if when is None:
        return "time_unparsed"
    if when.day < now.date() or (when.as_datetime() or datetime.max) < now:
        return "time_past"
    if when.day > now.date() + timedelta(days=policy("appointment", "max_days_ahead")):
        return "time_too_far"
    opening, closing = policy("appointment", "opening_hour"), policy("appointment", "closing_hour")
    if when.hour is not None and not opening <= when.hour < closing:
        return "time_closed"
    if when.hour is None:
        return "time_no_hour"
    return None


def requested_when(text: str, now: datetime, pending_day: str | None) -> When | None:
    """The time asked for; an hour alone ("下午3点") belongs to the day given before ("明天")."""
    when = parse_when(text, now)
    if when is None and pending_day:
        when = parse_when(f"{pending_day[:10]} {text}", now)  # the day part of an ISO date or time
    return when


def booking_window(now: datetime) -> BookingWindow:
    """Branch hours and bookable days from policy.yml, from today on."""
    return BookingWindow(
        opening=time(policy("appointment", "opening_hour")),
        closing=time(policy("appointment", "closing_hour")),
        first_day=now.date(),
        last_day=now.date() + timedelta(days=policy("appointment", "max_days_ahead")),
    )


def show_time(moment: datetime) -> str:
    """A stored time as the customer reads it (and can send back): "2026年11月19日（周四）下午15:00"."""
    local = moment.astimezone(CHINA)
    return format_when(When(local.date(), local.hour, local.minute))


class ValidateAppointmentForm(FormValidationAction):
    def __init__(self, clock: Callable[[], datetime] = china_now) -> None:
        self._clock = clock

    def name(self) -> str:
        return "validate_appointment_form"

    async def extract_appointment_topic(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The topic named in the request itself ("想约理财经理聊聊"), so it is not asked again."""
        request = request_message(tracker)
        if tracker.get_slot(TOPIC) or (request.get("intent") or {}).get("name") != "book_appointment":
            return {}
        skill = topic_of(request.get("text") or "")
        return {TOPIC: skill.label} if skill else {}

    def validate_appointment_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _short_text(value, MAX_TOPIC_CHARS)
        skill = (by_label(Skill, text) or topic_of(text)) if text else None
        if skill is None:
            dispatcher.utter_message(text=message("appointment", "topic_invalid"))
            return {TOPIC: None}
        return {TOPIC: skill.label}

    def validate_appointment_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        now = self._clock()
        pending = tracker.get_slot(STARTS_AT)
        when = requested_when(value, now, pending) if isinstance(value, str) else None
        problem = check_time(when, now)
        if problem:
            dispatcher.utter_message(
                text=message(
                    "appointment",
                    problem,
                    days=policy("appointment", "max_days_ahead"),
                    open=policy("appointment", "opening_hour"),
                    close=policy("appointment", "closing_hour"),
                )
            )
            day_only = problem == "time_no_hour"
            return {TIME: None, STARTS_AT: when.day.isoformat() if day_only else None}
        starts = datetime(when.day.year, when.day.month, when.day.day, when.hour, when.minute, tzinfo=CHINA)
        return {TIME: format_when(when), STARTS_AT: starts.isoformat()}

    def validate_appointment_branch(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _short_text(value, MAX_BRANCH_CHARS)
        if text is None:
            dispatcher.utter_message(text=message("appointment", "branch_invalid"))
        return {BRANCH: text}


@dataclass(frozen=True)
class AppointmentRequest:
    """What the form collected, ready for the profile store."""

    skill: Skill
    starts_at: datetime
    branch: str

    @classmethod
    def from_tracker(cls, tracker: Tracker) -> AppointmentRequest | None:
        skill, starts_at = by_label(Skill, tracker.get_slot(TOPIC)), tracker.get_slot(STARTS_AT)
        branch = tracker.get_slot(BRANCH)
        if skill is None or not isinstance(starts_at, str) or "T" not in starts_at or not branch:
            return None
        return cls(skill, datetime.fromisoformat(starts_at), branch)


def booking_reply(
    lookup: Lookup, request: AppointmentRequest, window: BookingWindow, offered: list[datetime]
) -> str:
    """Book the hour and say with whom; when nobody is free, put the next free hours in ``offered``."""
    name = lookup.addressed_as()
    topic = request.skill.label
    try:
        booked = lookup.profiles.book_appointment(
            lookup.actor,
            lookup.customer_no,
            request.skill,
            request.branch,
            request.starts_at,
            purpose=lookup.purpose,
            window=window,
        )
    except NoAdvisorFree as full:
        if not full.next_slots:
            days = policy("appointment", "max_days_ahead")
            return message("appointment", "fully_booked", days=days, topic=topic)
        offered.extend(full.next_slots)
        slots = "、".join(show_time(slot) for slot in full.next_slots)
        return message(
            "appointment", "no_advisor", time=show_time(request.starts_at), topic=topic, slots=slots
        )
    return message(
        "appointment",
        "booked",
        name=name,
        reference=booked.reference,
        time=show_time(booked.starts_at),
        branch=booked.branch,
        advisor=booked.advisor_name,
        topic=topic,
    )


def ask_time_again() -> list[EventType]:
    """Back into the form, which asks for the time (topic and branch are kept)."""
    return [SlotSet(TIME, None), SlotSet(STARTS_AT, None), SlotSet(CONFIRMED, None), FollowupAction(FORM)]


class ActionSubmitAppointment(Action):
    """Books the confirmed appointment for the verified customer, or offers other times."""

    def __init__(
        self,
        profiles: Callable[[], ProfileService] = profile_service,
        clock: Callable[[], datetime] = china_now,
    ) -> None:
        self.profiles = profiles
        self._clock = clock

    def name(self) -> str:
        return "action_submit_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        clear = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if not tracker.get_slot(CONFIRMED):
            dispatcher.utter_message(text=message("appointment", "cancelled"))
            return clear
        request = AppointmentRequest.from_tracker(tracker)
        if request is None:  # collected before times were kept for booking: ask again
            return [SlotSet(TOPIC, None), *ask_time_again()]
        offered: list[datetime] = []
        compose = partial(
            booking_reply, request=request, window=booking_window(self._clock()), offered=offered
        )
        text = await asyncio.to_thread(answer, tracker, self.profiles, BOOK_PURPOSE, compose)
        buttons = [{"title": show_time(slot), "payload": show_time(slot)} for slot in offered]
        dispatcher.utter_message(text=text, buttons=buttons)
        return ask_time_again() if offered else clear
