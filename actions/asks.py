"""The questions forms ask, one ``action_ask_<slot>`` per entry under ``ask:`` in messages.yml.

Custom ask actions (instead of ``utter_ask_*`` responses) keep all form wording next to
the validation code that reacts to the answers; adding a form slot needs only a new
entry in messages.yml and the action name in domain.yml.
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


def _ask_action(slot: str) -> type[_AskForSlot]:
    return type(f"AskFor_{slot}", (_AskForSlot,), {"slot": slot, "__module__": __name__})


# One action per question in messages.yml; rasa_sdk finds them as Action subclasses.
ASK_ACTIONS = [_ask_action(slot) for slot in messages("ask")]
