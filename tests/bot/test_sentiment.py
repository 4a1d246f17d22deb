"""The sentiment classifier, trained on the project's own data and judged on the held-out set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.quality.heldout import SENTIMENT_HOLDOUT
from bot.sentiment import LABELS, SentimentModel, evaluate, load_labelled, load_reviews, main, own_examples
from bot.settings import PROJECT_ROOT

HELDOUT = SENTIMENT_HOLDOUT
# First measured (own data only, 330 messages): macro-F1 0.895, negative precision 0.921, recall 0.875.
MIN_MACRO_F1 = 0.85
MIN_NEGATIVE_PRECISION = 0.85
MIN_NEGATIVE_RECALL = 0.80


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.train(own_examples(PROJECT_ROOT / "data" / "sentiment"))


def test_held_out_quality(model: SentimentModel) -> None:
    examples = load_labelled(HELDOUT)
    training = {text for text, _ in own_examples(PROJECT_ROOT / "data" / "sentiment")}
    assert not training & {text for text, _ in examples}, "held-out messages must not be trained on"
    report = evaluate(model, examples)
    print(f"\nsentiment held-out macro-F1 {report.macro_f1:.3f}, negative {report.negative}")
    assert report.macro_f1 >= MIN_MACRO_F1
    assert report.negative["precision"] >= MIN_NEGATIVE_PRECISION
    assert report.negative["recall"] >= MIN_NEGATIVE_RECALL


def test_every_prediction_is_a_label_with_a_probability(model: SentimentModel) -> None:
    for text in ("", "   ", "？？？", "a" * 5000, "<script>alert(1)</script>", "余额"):
        found = model.predict(text)
        assert found.label in LABELS and 0.0 <= found.score <= 1.0
    assert model.predict("").as_dict() == {"label": "neutral", "score": 1.0}


def test_a_saved_model_predicts_the_same(model: SentimentModel, tmp_path: Path) -> None:
    model.save(tmp_path / "sentiment")
    again = SentimentModel.load(tmp_path / "sentiment")
    for text in ("为什么还款失败", "呵呵 真行", "谢谢你 解决了"):
        assert again.predict(text) == model.predict(text)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- 只是一个列表\n", "expected a mapping"),
        ("angry: [太气人了]\n", "expected a mapping"),
        ("negative: 不是列表\n", "must be a list"),
        ("negative: ['']\n", "must be a list"),
    ],
)
def test_malformed_data_files_are_named_errors(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_labelled(path)


def test_training_needs_every_label() -> None:
    with pytest.raises(ValueError, match="every label"):
        SentimentModel.train([("太差了", "negative"), ("谢谢", "positive")])


def test_a_review_corpus_is_sampled_evenly(tmp_path: Path) -> None:
    corpus = tmp_path / "reviews.csv"
    corpus.write_text("label,review\n" + "".join(f"{i % 2},评论{i}\n" for i in range(40)), encoding="utf-8")
    sample = load_reviews(corpus, per_class=5, seed=1)
    assert sorted(label for _, label in sample) == ["negative"] * 5 + ["positive"] * 5


def test_the_command_reports_and_refuses_missing_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--data", str(tmp_path)]) == 2
    assert "no labelled sentiment files" in capsys.readouterr().out
    assert main([]) == 0
    assert "macro-F1" in capsys.readouterr().out
