"""The measurements behind the quality report, on the real models.

The trained Rasa model parses the held-out NLU and sentiment sets in-process, read by
``bot.quality.heldout`` as the quality gates in tests/ read them; the configured knowledge base
searches and answers the customer paraphrases.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import get_args

from rasa.core.agent import Agent
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

from bot.quality.heldout import KB_PARAPHRASES, SENTIMENT_HOLDOUT, holdout_examples, parse_all
from bot.quality.results import Classification, Retrieval, classify
from bot.sentiment import LABELS, load_labelled
from bot.settings import Settings
from bot.training import ensure_model
from knowledge_base.evaluation import MODES, evaluate, read_queries
from knowledge_base.index import ensure_index
from knowledge_base.search import LOAD_ERRORS, Outcome, Retriever, configured_retriever


class Unavailable(Exception):
    """A model or index is missing and could not be built; the message says what to run."""


def prepare_model() -> Path:
    """The Rasa model for the current inputs, trained first if needed (as ``make train``)."""
    try:
        return ensure_model()
    except (subprocess.CalledProcessError, RuntimeError, OSError) as error:
        raise Unavailable(f"no trained Rasa model and training failed ({error}); run `make train`") from error


def prepare_index(settings: Settings) -> str | None:
    """Build the knowledge-base index if it is missing or stale; returns why it was rebuilt."""
    try:
        return ensure_index(settings.kb_articles_dir, settings.kb_index_dir, settings.kb_model_dir)
    except LOAD_ERRORS as error:
        raise Unavailable(f"no usable knowledge-base index ({error}); run `make kb-index`") from error


def load_retriever(settings: Settings) -> Retriever:
    """The knowledge base the bot answers from, loaded the way the action server loads it."""
    try:
        return configured_retriever(settings)
    except LOAD_ERRORS as error:
        raise Unavailable(f"cannot load the knowledge base ({error}); run `make kb-index`") from error


def load_agent(model: Path) -> Agent:
    """The trained model in-process, loaded once for both held-out sets (a load takes tens of seconds).

    Rasa logs warnings only: at its default level it logs every parse, hundreds of lines per set.
    """
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    return Agent.load(str(model))


def intents(agent: Agent) -> Classification:
    """Intent scores on the held-out customer messages (tests/data/nlu_holdout_*.yml)."""
    texts, expected = zip(*holdout_examples(), strict=True)
    predicted = [result["intent"]["name"] for result in parse_all(agent, list(texts))]
    return classify(texts, expected, predicted, sorted(set(expected)))


def sentiment(agent: Agent) -> Classification:
    """Sentiment scores on the held-out set, read from the parse results as the dialogue sees them."""
    examples = load_labelled(SENTIMENT_HOLDOUT)
    texts = [text for text, _ in examples]
    predicted = [result["sentiment"]["label"] for result in parse_all(agent, texts)]
    return classify(texts, [label for _, label in examples], predicted, LABELS)


def retrieval(retriever: Retriever) -> Retrieval:
    """Ranking quality per mode and the answer decisions on the customer paraphrases."""
    pairs = read_queries(KB_PARAPHRASES)
    answers = [(retriever.answer(query), expected) for query, expected in pairs]
    return Retrieval(
        modes={mode: evaluate(retriever, pairs, mode) for mode in MODES},
        outcomes={o: sum(a.outcome == o for a, _ in answers) for o in get_args(Outcome)},
        confident_right=sum(a.outcome == "confident" and a.article_id == e for a, e in answers),
    )
