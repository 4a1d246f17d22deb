"""Scripted conversations as Rasa writes them to the tracker store, for the reporting tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered

DAY = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in China


@dataclass
class Script:
    """Events of one sender's conversation, with a clock that moves forward as they are added."""

    sender: str
    clock: float = field(default_factory=DAY.timestamp)
    events: list[Event] = field(default_factory=list)

    def tick(self, seconds: float = 0.05) -> float:
        self.clock += seconds
        return self.clock

    def session(self, after_seconds: float = 1.0) -> Script:
        self.tick(after_seconds)
        self.events += [ActionExecuted("action_session_start", timestamp=self.tick(0.001))]
        self.events += [
            SessionStarted(timestamp=self.tick(0.001)),
            ActionExecuted("action_listen", timestamp=self.tick(0.001)),
        ]
        return self

    def says(
        self,
        text: str,
        intent: str,
        confidence: float = 0.95,
        sentiment: tuple[str, float] = ("neutral", 0.8),
        entities: list[dict[str, Any]] | None = None,
        after_seconds: float = 5.0,
        **metadata: Any,
    ) -> Script:
        received = self.tick(after_seconds)
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "text": text,
            "sentiment": {"label": sentiment[0], "score": sentiment[1]},
        }
        self.events.append(
            UserUttered(
                text,
                parse["intent"],
                entities or [],
                parse_data=parse,
                timestamp=self.tick(0.01),
                input_channel=metadata.get("channel", "rest"),
                message_id=uuid.uuid4().hex,
                metadata={"channel": "rest", "received_at": received, **metadata},
            )
        )
        return self

    def bot(self, action: str, text: str = "好的", seconds: float = 0.05, **metadata: Any) -> Script:
        self.events.append(ActionExecuted(action, timestamp=self.tick(seconds / 2)))
        self.events.append(BotUttered(text, metadata=metadata, timestamp=self.tick(seconds / 2)))
        return self

    def slot(self, name: str, value: Any) -> Script:
        self.events.append(SlotSet(name, value, timestamp=self.tick(0.001)))
        return self

    def listens(self) -> Script:
        self.events.append(ActionExecuted("action_listen", timestamp=self.tick(0.001)))
        return self

    def as_dicts(self) -> list[tuple[int, dict[str, Any]]]:
        return [(n, event.as_dict()) for n, event in enumerate(self.events, start=1)]


def kb(outcome: str, article: str | None = None) -> dict[str, Any]:
    return {"knowledge_base": {"outcome": outcome, **({"article_id": article} if article else {})}}
