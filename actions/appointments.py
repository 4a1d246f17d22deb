"""Appointments at a branch or with an advisor: topic, time, branch.

Booking needs the advisor calendar (not connected yet); the submit step repeats what
was collected and says honestly that it has not been booked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message, policy
from actions.formatting import format_when
from bot.dates import When, parse_when
from bot.text import normalize

FORM_SLOTS = ("appointment_topic", "appointment_time", "appointment_branch")
MAX_TOPIC_CHARS = 50
MAX_BRANCH_CHARS = 30


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
    return None


class ValidateAppointmentForm(FormValidationAction):
    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        self._clock = clock

    def name(self) -> str:
        return "validate_appointment_form"

    @staticmethod
    def _short_text_slot(
        slot: str, value: Any, limit: int, problem: str, dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        text = _short_text(value, limit)
        if text is None:
            dispatcher.utter_message(text=message("appointment", problem))
        return {slot: text}

    def validate_appointment_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._short_text_slot("appointment_topic", value, MAX_TOPIC_CHARS, "topic_invalid", dispatcher)

    def validate_appointment_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        now = self._clock()
        when = parse_when(value, now) if isinstance(value, str) else None
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
            return {"appointment_time": None}
        return {"appointment_time": format_when(when)}

    def validate_appointment_branch(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._short_text_slot(
            "appointment_branch", value, MAX_BRANCH_CHARS, "branch_invalid", dispatcher
        )


class ActionSubmitAppointment(Action):
    def name(self) -> str:
        return "action_submit_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=message(
                "appointment",
                "not_available",
                topic=tracker.get_slot("appointment_topic"),
                time=tracker.get_slot("appointment_time"),
                branch=tracker.get_slot("appointment_branch"),
            )
        )
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
