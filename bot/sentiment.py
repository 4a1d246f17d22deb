"""How the customer feels in one message: negative, neutral or positive, with a confidence.

A spaCy text classifier (``textcat``, bag of character n-grams over a blank ``zh`` pipeline) trained
on our own labelled customer-service messages (``data/sentiment/*.yml``) and, optionally, a sample of
public review corpora (negative and positive only). Character n-grams rather than jieba words: the
signals are short and often outside any dictionary (跌麻了, 呵呵, 搞什么, ！！！). The escalation rules
read the label; the score is the classifier's probability for it.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import spacy
import yaml
from spacy.language import Language
from spacy.training import Example

from bot.text import normalize

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
MAX_TEXT_CHARS = 500  # longer messages are judged by their start: the feeling shows early


@dataclass(frozen=True)
class Sentiment:
    label: Label
    score: float

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "score": round(self.score, 4)}


@dataclass(frozen=True)
class TrainingOptions:
    """What ``data/sentiment/config.yml`` may set."""

    ngram_size: int = 3
    epochs: int = 12
    seed: int = 7
    review_sample: int = 0  # per class, from each public review corpus given; 0: own data only


def load_labelled(path: Path) -> list[tuple[str, Label]]:
    """``{label: [messages]}`` YAML → (text, label) pairs; a clear ``ValueError`` for anything else."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not set(data) <= set(LABELS):
        raise ValueError(f"{path}: expected a mapping with the keys {', '.join(LABELS)}")
    pairs: list[tuple[str, Label]] = []
    for label, texts in data.items():
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(f"{path}: '{label}' must be a list of non-empty strings")
        pairs += [(text, label) for text in texts]
    return pairs


def load_reviews(path: Path, per_class: int, seed: int) -> list[tuple[str, Label]]:
    """A balanced sample of a public review corpus: CSV with ``label`` (1 = positive) and ``review``."""
    with path.open(encoding="utf-8") as handle:
        rows = [
            (row["review"], "positive" if row["label"] == "1" else "negative")
            for row in csv.DictReader(handle)
        ]
    rng = random.Random(seed)
    sample: list[tuple[str, Label]] = []
    for label in ("negative", "positive"):
        matching = [r for r in rows if r[1] == label and r[0] and len(r[0]) <= MAX_TEXT_CHARS]
        sample += rng.sample(matching, min(per_class, len(matching)))
    return sample


def _prepare(text: str) -> str:
    return normalize(text)[:MAX_TEXT_CHARS]


class SentimentModel:
    """The trained pipeline; ``predict`` is what the NLU component and the evaluation call."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp

    @classmethod
    def train(
        cls, examples: Sequence[tuple[str, Label]], options: TrainingOptions = TrainingOptions()
    ) -> SentimentModel:
        if {label for _, label in examples} != set(LABELS):
            raise ValueError(f"training needs examples of every label: {', '.join(LABELS)}")
        spacy.util.fix_random_seed(options.seed)
        nlp = spacy.blank("zh")
        textcat = nlp.add_pipe(
            "textcat",
            config={
                "model": {
                    "@architectures": "spacy.TextCatBOW.v2",
                    "exclusive_classes": True,
                    "ngram_size": options.ngram_size,
                    "no_output_layer": False,
                }
            },
        )
        for label in LABELS:
            textcat.add_label(label)
        data = [cls._example(nlp, text, label) for text, label in examples]
        optimizer = nlp.initialize(lambda: data)
        rng = random.Random(options.seed)
        for _ in range(options.epochs):
            rng.shuffle(data)
            for batch in spacy.util.minibatch(data, size=32):
                nlp.update(batch, sgd=optimizer)
        return cls(nlp)

    @staticmethod
    def _example(nlp: Language, text: str, label: Label) -> Example:
        cats = {name: float(name == label) for name in LABELS}
        return Example.from_dict(nlp.make_doc(_prepare(text)), {"cats": cats})

    def predict(self, text: str) -> Sentiment:
        prepared = _prepare(text)
        if not prepared.strip():
            return Sentiment("neutral", 1.0)
        cats = self.nlp(prepared).cats
        label = max(LABELS, key=lambda name: cats[name])
        return Sentiment(label, float(cats[label]))

    def save(self, path: Path) -> None:
        self.nlp.to_disk(path)

    @classmethod
    def load(cls, path: Path) -> SentimentModel:
        return cls(spacy.load(path))


@dataclass(frozen=True)
class Report:
    """Quality on a held-out set: what the escalation rules care about is the negative class."""

    n: int
    macro_f1: float
    per_label: dict[str, dict[str, float]]
    errors: list[dict[str, str]]

    @property
    def negative(self) -> dict[str, float]:
        return self.per_label["negative"]

    def to_json(self) -> str:
        return json.dumps(
            {"n": self.n, "macro_f1": self.macro_f1, "per_label": self.per_label, "errors": self.errors},
            ensure_ascii=False,
        )


def evaluate(model: SentimentModel, examples: Iterable[tuple[str, Label]]) -> Report:
    pairs = [(text, label, model.predict(text).label) for text, label in examples]
    per_label = {}
    for label in LABELS:
        tp = sum(1 for _, want, got in pairs if want == label and got == label)
        predicted = sum(1 for _, _, got in pairs if got == label)
        actual = sum(1 for _, want, _ in pairs if want == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    macro = sum(v["f1"] for v in per_label.values()) / len(LABELS)
    errors = [{"text": t, "expected": w, "predicted": g} for t, w, g in pairs if w != g]
    return Report(len(pairs), macro, per_label, errors)


def own_examples(folder: Path) -> list[tuple[str, Label]]:
    """Every labelled file in ``folder`` (``data/sentiment``), in name order."""
    files = sorted(p for p in folder.glob("*.yml") if p.name != "config.yml")
    if not files:
        raise ValueError(f"{folder}: no labelled sentiment files (*.yml)")
    return [pair for path in files for pair in load_labelled(path)]


def main(argv: list[str] | None = None) -> int:
    """Train on ``data/sentiment`` (plus an optional review sample) and report on the held-out set."""
    import argparse
    import time

    from bot.settings import PROJECT_ROOT

    parser = argparse.ArgumentParser(prog="python -m bot.sentiment", description=main.__doc__)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "sentiment")
    parser.add_argument(
        "--heldout", type=Path, default=PROJECT_ROOT / "tests" / "data" / "sentiment_heldout.yml"
    )
    parser.add_argument("--reviews", type=Path, action="append", default=[], help="public review CSV")
    parser.add_argument("--review-sample", type=int, default=0, help="per class and corpus")
    parser.add_argument("--ngram-size", type=int, default=TrainingOptions.ngram_size)
    parser.add_argument("--epochs", type=int, default=TrainingOptions.epochs)
    args = parser.parse_args(argv)
    try:
        options = TrainingOptions(args.ngram_size, args.epochs, review_sample=args.review_sample)
        examples = own_examples(args.data)
        for corpus in args.reviews:
            examples += load_reviews(corpus, options.review_sample, options.seed)
        started = time.perf_counter()
        model = SentimentModel.train(examples, options)
        trained = time.perf_counter() - started
        report = evaluate(model, load_labelled(args.heldout))
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"error: {error}")
        return 2
    negative = report.negative
    print(
        f"{len(examples)} training examples, {trained:.1f} s; held-out n={report.n}: "
        f"macro-F1 {report.macro_f1:.3f}, "
        f"negative precision {negative['precision']:.3f} recall {negative['recall']:.3f}"
    )
    print(report.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
