"""The context summary an agent reads when a conversation is handed over, so the customer never repeats.

Built from the conversation's tracker events (what was asked, which slots were filled, which
knowledge-base articles and forms the bot tried, how the customer felt), the customer's profile
facts and the escalation decision. It is deterministic: the same conversation gives the same
summary, which makes it testable. A different summariser (e.g. an LLM) may replace
``summarise`` later behind ``Summariser``, but nothing requires one.

Texts in the events are already PII-masked by the gateway; the customer's name is masked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.handoff.policy import Escalation

CONFIG = Path(__file__).with_name("summary.yml")
ANSWERED_OUTCOMES = ("confident", "chosen")
BOT_TURN_CHARS = 60


@dataclass(frozen=True)
class CustomerFacts:
    """What the agent should know about the customer; all None for a customer not verified."""

    name: str | None = None  # masked: 张*
    tier: str | None = None
    risk_level: str | None = None
    products: tuple[str, ...] = ()
    advisor: str | None = None


@dataclass(frozen=True)
class Summary:
    text: str
    customer: CustomerFacts
    intents: tuple[str, ...]
    details: dict[str, str]
    kb_articles: tuple[str, ...]
    forms: tuple[str, ...]
    sentiment: tuple[str, ...]
    escalation: Escalation
    next_step: str
    last_turns: tuple[dict[str, str], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape agents' clients read (``summary`` of a queue item)."""
        return {
            "text": self.text,
            "customer": {**asdict(self.customer), "products": list(self.customer.products)},
            "wants": {"intents": list(self.intents), "details": dict(self.details)},
            "tried": {"kb_articles": list(self.kb_articles), "forms": list(self.forms)},
            "sentiment": list(self.sentiment),
            "reason": self.escalation.label,
            "reason_code": self.escalation.reason,
            "priority": self.escalation.priority,
            "skill": self.escalation.skill_label,
            "next_step": self.next_step,
            "last_turns": [dict(turn) for turn in self.last_turns],
        }


class Summariser(Protocol):
    def __call__(
        self,
        events: Iterable[Mapping[str, Any]],
        escalation: Escalation,
        customer: CustomerFacts,
        intent_labels: Mapping[str, str],
    ) -> Summary: ...


@cache
def _config() -> dict[str, Any]:
    with open(CONFIG, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳娜娜 → 欧阳**: surname (two characters for a four-character name) kept."""
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * max(len(name) - keep, 1)


def summarise(
    events: Iterable[Mapping[str, Any]],
    escalation: Escalation,
    customer: CustomerFacts,
    intent_labels: Mapping[str, str],
) -> Summary:
    """The summary of a conversation (its tracker events as dicts) at the moment of handoff."""
    config = _config()
    reading = _Reading(config, intent_labels)
    for event in events:
        reading.add(event)
    next_step = config["next_steps"].get(escalation.reason, config["next_steps"]["customer_request"])
    summary = Summary(
        text="",
        customer=customer,
        intents=tuple(reading.intents),
        details=reading.details(),
        kb_articles=tuple(reading.kb_articles),
        forms=reading.forms(),
        sentiment=tuple(reading.sentiment),
        escalation=escalation,
        next_step=next_step,
        last_turns=tuple(reading.turns[-int(config["last_turns"]) :]),
    )
    return replace(summary, text=prose(summary, int(config["max_chars"])))


class _Reading:
    """One pass over the events, collecting what the summary needs."""

    def __init__(self, config: Mapping[str, Any], intent_labels: Mapping[str, str]) -> None:
        self.config, self.intent_labels = config, intent_labels
        self.intents: list[str] = []
        self.values: dict[str, str] = {}
        self.kb_articles: list[str] = []
        self.sentiment: list[str] = []
        self.turns: list[dict[str, str]] = []
        self.form_states: dict[str, str] = {}
        self.active_form: str | None = None
        self.last_action: str | None = None

    def add(self, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            self._user(event)
        elif kind == "bot":
            self._bot(event)
        elif kind == "slot":
            self._value(event.get("name"), event.get("value"))
        elif kind == "action":
            self.last_action = event.get("name")
        elif kind == "active_loop":
            self._loop(event.get("name"))

    def _user(self, event: Mapping[str, Any]) -> None:
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        label = self.intent_labels.get(intent or "")
        if label and intent not in self.config["ignored_intents"] and label not in self.intents[-1:]:
            self.intents.append(label)
        for entity in parse.get("entities") or []:
            self._value(entity.get("entity"), entity.get("value"))
        sentiment = (parse.get("sentiment") or {}).get("label", "neutral")
        self.sentiment.append(self.config["sentiment"].get(sentiment, sentiment))
        text = str(event.get("text") or "")
        if text and not text.startswith("/"):
            self.turns.append({"who": "customer", "text": text})

    def _bot(self, event: Mapping[str, Any]) -> None:
        text = str(event.get("text") or "")
        if text:
            cut = text if len(text) <= BOT_TURN_CHARS else text[: BOT_TURN_CHARS - 1] + "…"
            self.turns.append({"who": "bot", "text": cut})
        article = ((event.get("metadata") or {}).get("knowledge_base")) or {}
        if article.get("outcome") in ANSWERED_OUTCOMES and article.get("question"):
            entry = f"{article.get('article_id')} {str(article['question']).rstrip('？?。')}"
            if entry not in self.kb_articles:
                self.kb_articles.append(entry)

    def _value(self, name: Any, value: Any) -> None:
        if name in self.config["details"] and value not in (None, "", [], {}):
            self.values[name] = str(value)

    def _loop(self, name: str | None) -> None:
        if name:
            self.active_form = name
            self.form_states[name] = "进行中"
        elif self.active_form:
            finished = self.last_action == self.active_form
            self.form_states[self.active_form] = "已完成" if finished else "已中断"
            self.active_form = None

    def details(self) -> dict[str, str]:
        labels = self.config["details"]
        return {labels[name]: self.values[name] for name in labels if name in self.values}

    def forms(self) -> tuple[str, ...]:
        labels = self.config["forms"]
        return tuple(f"{labels.get(name, name)}（{state}）" for name, state in self.form_states.items())


def prose(summary: Summary, limit: int) -> str:
    """≤ ``limit`` characters: who, why and how urgent, what they want, what was tried, mood, next step.

    Parts are dropped from the least important (details, tried) before the text is cut.
    """
    escalation = summary.escalation
    who = _who(summary.customer)
    head = f"{who}因“{escalation.label}”转人工（{escalation.priority}·{escalation.skill_label}）。"
    wants = "诉求：" + ("、".join(summary.intents) or "未明确") + "。"
    details = "关键信息：" + "；".join(f"{k}{v}" for k, v in summary.details.items()) + "。"
    tried = (
        "已尝试：" + "、".join([*summary.forms, *(a.split(" ", 1)[-1] for a in summary.kb_articles)]) + "。"
    )
    mood = "情绪：" + "→".join(summary.sentiment[-4:]) + "。" if summary.sentiment else ""
    step = f"建议：{summary.next_step}。"
    optional = [details if summary.details else "", tried if summary.forms or summary.kb_articles else ""]
    parts = [head, wants, *optional, mood, step]
    for drop in (2, 3):  # details first, then what was tried
        text = "".join(parts)
        if len(text) <= limit:
            return text
        parts[drop] = ""
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(customer: CustomerFacts) -> str:
    if not customer.name:
        return "未验证身份的客户"
    traits = "，".join(filter(None, [customer.tier, customer.risk_level]))
    return f"{customer.name}（{traits}）" if traits else customer.name
