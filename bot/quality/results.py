"""What the quality report shows, as plain data, and the light work of filling it in.

Nothing here loads a model: scores are computed from (text, expected, predicted) triples and
benchmark results are read from their JSON files, so rendering can be tested with made-up numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

# The result files `make bench*` write (bench/load.py), in the order a reviewer wants them.
BENCHMARK_FILES = ("bench-default.json", "bench-scaled.json", "bench-capacity-*.json", "bench-soak-*.json")
# Pages other targets write (make eval, make bench-kb, make bench*), linked from the header.
OTHER_REPORTS = ("index.html", "kb-bench.html", "bench-*.html")


@dataclass(frozen=True)
class Mistake:
    """The most common wrong prediction for one true label, and a message it was made on."""

    predicted: str
    count: int
    example: str


@dataclass(frozen=True)
class LabelScore:
    """One label's scores; ``mistake`` is None when every message of the label was recognised."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    mistake: Mistake | None


@dataclass(frozen=True)
class Classification:
    """One classifier on one labelled set.

    ``matrix`` rows follow ``scores`` (the true labels); its columns follow ``columns``: the true
    labels, then whatever else was predicted (``nlu_fallback``), which is not averaged over.
    """

    n: int
    accuracy: float
    macro_f1: float
    scores: tuple[LabelScore, ...]
    columns: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(score.label for score in self.scores)

    def weakest(self, count: int) -> list[LabelScore]:
        """The ``count`` labels with the lowest F1 (ties by name, so the table is stable)."""
        return sorted(self.scores, key=lambda score: (score.f1, score.label))[:count]

    def outside(self) -> dict[str, int]:
        """How often each prediction outside the labels (a fallback) was made."""
        extra = range(len(self.scores), len(self.columns))
        return {self.columns[j]: sum(row[j] for row in self.matrix) for j in extra}


@dataclass(frozen=True)
class Retrieval:
    """Knowledge-base search on customer paraphrases with known answers.

    ``modes``: ``knowledge_base.evaluation.evaluate`` per mode; ``outcomes``: how often
    ``Retriever.answer`` was confident, ambiguous or had none; ``confident_right``: confident
    answers that gave the expected article.
    """

    modes: dict[str, dict[str, float]]
    outcomes: dict[str, int]
    confident_right: int


@dataclass(frozen=True)
class Benchmark:
    """One benchmark result file: its contents, or why they cannot be shown."""

    name: str
    modified: dt.datetime
    result: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything on the page; ``links`` are other report pages present, relative to reports/."""

    model: str
    generated: dt.datetime
    intents: Classification
    retrieval: Retrieval
    sentiment: Classification
    benchmarks: list[Benchmark]
    links: list[str]


def classify(
    texts: Sequence[str], expected: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> Classification:
    """Scores of ``predicted`` against ``expected``, macro-averaged over ``labels`` only.

    A message answered with a label outside ``labels`` (``nlu_fallback``) is a miss for its true
    label, as in tests/nlu/test_holdout.py, but not a class of its own.
    """
    labels = list(labels)
    columns = labels + sorted(set(predicted) - set(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0
    )
    matrix = confusion_matrix(expected, predicted, labels=columns)[: len(labels)]
    mistakes = _mistakes(texts, expected, predicted)
    scores = tuple(
        LabelScore(label, float(p), float(r), float(f), int(s), mistakes.get(label))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    )
    right = sum(e == p for e, p in zip(expected, predicted, strict=True))
    return Classification(
        n=len(expected),
        accuracy=right / len(expected) if expected else 0.0,
        macro_f1=float(f1.mean()) if labels else 0.0,
        scores=scores,
        columns=tuple(columns),
        matrix=tuple(tuple(int(c) for c in row) for row in matrix),
    )


def _mistakes(texts: Sequence[str], expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Mistake]:
    """Per true label, its most common wrong prediction with the first message it was made on."""
    wrong = Counter((e, p) for e, p in zip(expected, predicted, strict=True) if e != p)
    mistakes: dict[str, Mistake] = {}
    for (label, guess), count in wrong.most_common():  # most common first: the first seen wins
        if label not in mistakes:
            example = next(
                t for t, e, p in zip(texts, expected, predicted, strict=True) if (e, p) == (label, guess)
            )
            mistakes[label] = Mistake(guess, count, example)
    return mistakes


def read_benchmarks(folder: Path) -> list[Benchmark]:
    """The benchmark results in ``folder``; an unreadable file is listed with the reason."""
    paths = [path for pattern in BENCHMARK_FILES for path in sorted(folder.glob(pattern))]
    return [_read_benchmark(path) for path in paths]


def _read_benchmark(path: Path) -> Benchmark:
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return Benchmark(path.name, modified, None, f"cannot read it: {error}")
    if not isinstance(result, dict) or not ({"phases", "steps"} & set(result)):
        return Benchmark(path.name, modified, None, "not a benchmark result (no phases or steps)")
    return Benchmark(path.name, modified, result)


def other_reports(folder: Path) -> list[str]:
    """Names of the report pages present in ``folder``, for relative links."""
    return [path.name for pattern in OTHER_REPORTS for path in sorted(folder.glob(pattern))]
