"""The questions forms ask, one ``action_ask_<slot>`` per slot, worded in messages.yml.

Custom ask actions (instead of ``utter_ask_*`` responses) keep all form wording next to
the validation code that reacts to the answers.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import messages


class _AskForSlot(Action, metaclass=ABCMeta):
    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot this question fills."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        prompt: dict[str, Any] = messages("ask")[self.slot]
        dispatcher.utter_message(
            text=prompt["text"].format(**tracker.slots),
            buttons=[{"title": t, "payload": p} for t, p in prompt.get("buttons", {}).items()],
        )
        return []


class AskPayee(_AskForSlot):
    slot = "payee"


class AskAmount(_AskForSlot):
    slot = "amount"


class AskTransferConfirmed(_AskForSlot):
    slot = "transfer_confirmed"


class AskCardTail(_AskForSlot):
    slot = "card_tail"


class AskFreezeConfirmed(_AskForSlot):
    slot = "freeze_confirmed"


class AskAppointmentTopic(_AskForSlot):
    slot = "appointment_topic"


class AskAppointmentTime(_AskForSlot):
    slot = "appointment_time"


class AskAppointmentBranch(_AskForSlot):
    slot = "appointment_branch"
