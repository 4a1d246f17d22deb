"""Sentiment as part of the trained Rasa model: every parse result carries it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.agent import Agent

from bot.quality.heldout import parse_all
from bot.sentiment import LABELS, load_labelled
from tests.bot.test_sentiment import HELDOUT, MIN_NEGATIVE_PRECISION, MIN_NEGATIVE_RECALL


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return Agent.load(str(trained_model))


def test_every_parse_result_has_a_sentiment(agent: Agent) -> None:
    for result in parse_all(agent, ["查余额", "", "你们这什么破服务", "谢谢"]):
        sentiment = result["sentiment"]
        assert sentiment["label"] in LABELS and 0.0 <= sentiment["score"] <= 1.0


def test_the_held_out_negatives_are_found_through_the_pipeline(agent: Agent) -> None:
    examples = load_labelled(HELDOUT)
    results = parse_all(agent, [text for text, _ in examples])
    found = [(label, r["sentiment"]["label"]) for (_, label), r in zip(examples, results, strict=True)]
    said_negative = [want for want, got in found if got == "negative"]
    negatives = [got for want, got in found if want == "negative"]
    precision = said_negative.count("negative") / len(said_negative)
    recall = negatives.count("negative") / len(negatives)
    assert precision >= MIN_NEGATIVE_PRECISION and recall >= MIN_NEGATIVE_RECALL
