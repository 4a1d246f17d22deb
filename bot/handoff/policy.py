"""The escalation policy: when a person must take over, how urgently (P1–P4) and with which skill.

One module and one file (``escalation.yml``) decide every handoff. Two callers ask it:

* ``bot.dialogue.escalation.EscalationPolicy`` (a Rasa policy) after every user message, for what
  the conversation itself shows: an explicit request, fraud, negative sentiment, a private-banking
  client with a wealth or cross-border need (``on_turn``);
* actions that notice a need while working (repeated unanswered turns, a redemption above 10% of
  holdings, a knowledge-base article marked ``escalate``), by reason code (``for_reason``).

Both read the conversation as ``Turn``s built from Rasa's tracker events (``turns_since_handoff``),
so they count the same things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONFIG = Path(__file__).with_name("escalation.yml")
PRIORITIES = ("P1", "P2", "P3", "P4")
TOPIC = "topic"  # a reason's skill is the conversation's topic skill
GENERAL = "general"
HANDOFF_ACTION = "action_handoff_to_human"
HANDOFF_ENDED_INTENT = "handoff_ended"
TIER_SLOT = "customer_tier"  # set once the customer is known (actions/personal.py, verification.py)


class PolicyConfigError(ValueError):
    """escalation.yml is malformed; the message names the entry."""


@dataclass(frozen=True)
class Turn:
    """What the policy needs to know about one customer message."""

    intent: str | None
    sentiment: str = "neutral"
    sentiment_score: float = 0.0
    active_loop: str | None = None

    @property
    def negative(self) -> bool:
        return self.sentiment == "negative"


@dataclass(frozen=True)
class Escalation:
    reason: str
    label: str
    priority: str
    skill: str
    skill_label: str

    def as_dict(self) -> dict[str, str]:
        return {
            "reason": self.reason,
            "reason_label": self.label,
            "priority": self.priority,
            "skill": self.skill,
            "skill_label": self.skill_label,
        }


def turns_since_handoff(events: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """The customer's turns since the last handoff started or ended, from tracker event dicts.

    Turns before a handoff were already judged (and seen by an agent): they must not trigger
    a second one when the conversation comes back to the bot.
    """
    turns: list[Turn] = []
    loop: str | None = None
    for event in events:
        kind = event.get("event")
        if kind == "active_loop":
            loop = event.get("name")
        elif kind == "action" and event.get("name") == HANDOFF_ACTION:
            turns.clear()
        elif kind == "user":
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            if intent == HANDOFF_ENDED_INTENT:
                turns.clear()
                continue
            sentiment = parse.get("sentiment") or {}
            turns.append(
                Turn(
                    intent=intent,
                    sentiment=str(sentiment.get("label", "neutral")),
                    sentiment_score=float(sentiment.get("score", 0.0)),
                    active_loop=loop,
                )
            )
    return turns


class EscalationPolicy:
    """The rules of ``escalation.yml``, validated once."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.reasons: dict[str, dict[str, str]] = dict(_section(config, "reasons"))
        self.intents: dict[str, str] = dict(_section(config, "intents"))
        self.sentiment = _section(config, "sentiment")
        self.low_confidence_streak = int(_section(config, "low_confidence")["streak"])
        self.private_banking = _section(config, "private_banking")
        self.topic_skills: dict[str, str] = dict(_section(config, "topic_skills"))
        self.skills: dict[str, str] = dict(_section(config, "skills"))
        self._validate()

    @classmethod
    def load(cls, path: Path = CONFIG) -> EscalationPolicy:
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as error:
            raise PolicyConfigError(f"{path}: {error}") from error
        if not isinstance(config, dict):
            raise PolicyConfigError(f"{path}: expected a mapping at the top level")
        return cls(config)

    def for_reason(self, reason: str, turns: Sequence[Turn] = (), topic: str | None = None) -> Escalation:
        """The escalation for ``reason``; a topic skill comes from ``topic`` or the turns' intents."""
        rule = self.reasons[reason]
        skill = rule["skill"]
        if skill == TOPIC:
            skill = self.topic_skill([*(t.intent for t in turns), topic])
        return Escalation(reason, rule["label"], rule["priority"], skill, self.skills[skill])

    def topic_skill(self, intents: Iterable[str | None]) -> str:
        """The skill of the most recent intent (or article category) that has one."""
        for intent in reversed([i for i in intents if i]):
            if intent in self.topic_skills:
                return self.topic_skills[intent]
        return GENERAL

    def on_turn(self, turns: Sequence[Turn], tier: str | None = None) -> Escalation | None:
        """The most urgent escalation the latest turn calls for, or None to let the bot carry on."""
        if not turns:
            return None
        triggered = [r for r in self._triggered(turns, tier) if r]
        if not triggered:
            return None
        escalations = [self.for_reason(reason, turns) for reason in triggered]
        return min(escalations, key=lambda e: PRIORITIES.index(e.priority))

    def _triggered(self, turns: Sequence[Turn], tier: str | None) -> list[str | None]:
        latest = turns[-1]
        return [
            self.intents.get(latest.intent or ""),
            self._sentiment_reason(turns),
            "private_banking"
            if tier == self.private_banking["tier"] and latest.intent in self.private_banking["intents"]
            else None,
        ]

    def _sentiment_reason(self, turns: Sequence[Turn]) -> str | None:
        latest = turns[-1]
        if not self._counts(latest) or not latest.negative:
            return None
        if latest.sentiment_score >= float(self.sentiment["strongly_negative"]):
            return "strongly_negative"
        window = [t for t in turns if self._counts(t)][-int(self.sentiment["window"]) :]
        if sum(t.negative for t in window) >= int(self.sentiment["negative_in_window"]):
            return "negative_sentiment"
        return None

    def _counts(self, turn: Turn) -> bool:
        """Whether a turn is evidence of how the customer feels about the service."""
        return (
            turn.intent not in self.sentiment["ignore_intents"]
            and turn.active_loop not in self.sentiment["ignore_loops"]
        )

    def _validate(self) -> None:
        for name, rule in self.reasons.items():
            if not isinstance(rule, dict) or not {"priority", "skill", "label"} <= rule.keys():
                raise PolicyConfigError(f"reasons.{name}: needs priority, skill and label")
            if rule["priority"] not in PRIORITIES:
                raise PolicyConfigError(f"reasons.{name}.priority: one of {', '.join(PRIORITIES)}")
            if rule["skill"] != TOPIC and rule["skill"] not in self.skills:
                raise PolicyConfigError(f"reasons.{name}.skill: unknown skill {rule['skill']!r}")
        for intent, reason in self.intents.items():
            if reason not in self.reasons:
                raise PolicyConfigError(f"intents.{intent}: unknown reason {reason!r}")
        for topic, skill in self.topic_skills.items():
            if skill not in self.skills:
                raise PolicyConfigError(f"topic_skills.{topic}: unknown skill {skill!r}")
        if GENERAL not in self.skills:
            raise PolicyConfigError("skills: the general skill is required")


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = config.get(name)
    if not isinstance(section, Mapping):
        raise PolicyConfigError(f"{name}: missing or not a mapping")
    return section


@cache
def escalation_policy() -> EscalationPolicy:
    """The policy of the shipped escalation.yml, loaded once per process."""
    return EscalationPolicy.load()
