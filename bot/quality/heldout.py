"""The held-out evaluation sets and how they are read: written separately from the training data,
used by the quality gates in ``tests/`` and by the quality report, so both judge the same data the
same way."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from rasa.core.agent import Agent

DATA = PROJECT_ROOT / "tests" / "data"
NLU_HOLDOUT = sorted(DATA.glob("nlu_holdout*.yml"))  # customer messages with their intents
SENTIMENT_HOLDOUT = DATA / "sentiment_heldout.yml"
KB_PARAPHRASES = PROJECT_ROOT / "tests" / "knowledge_base" / "data" / "paraphrases.tsv"


def holdout_examples() -> list[tuple[str, str]]:
    """``(text, intent)`` of every held-out NLU message."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in NLU_HOLDOUT:
        data = load_data(str(path))
        examples += [(m.get("text"), m.get("intent")) for m in data.intent_examples]
    return examples


def parse_all(agent: Agent, texts: list[str]) -> list[dict]:
    """The model's parse result of each text, in order."""

    async def run() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())
