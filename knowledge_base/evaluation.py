"""How well retrieval works: evaluation on a query file, and leave-one-out calibration.

Calibration asks the knowledge base about itself. Each similar_question is searched against the
index *without that entry* (its dense score masked, BM25 rebuilt without it): a realistic
paraphrase whose right answer is known. The same question is then searched with its *whole
article removed*: a banking question the knowledge base cannot answer, so any confident answer
is wrong. The thresholds in retrieval.yml come from these two sets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np
from rank_bm25 import BM25Okapi
from tqdm import tqdm

from knowledge_base.search import ArticleScores, Mode, Retriever, fuse, has_words, lead, per_article

MODES: tuple[Mode, ...] = get_args(Mode)
SIGNALS: dict[Mode, tuple[str, ...]] = {"dense": ("dense",), "bm25": ("bm25",), "hybrid": ("dense", "bm25")}
PERCENTILES = (1, 3, 5, 25, 50)


class QueryFileError(ValueError):
    """A query file with unusable lines; lists all of them."""


@dataclass(frozen=True)
class Query:
    """A test question, the articles that answer it, and articles its search must not see.

    ``hidden`` is for benchmark documents that are the query itself: they would trivially rank first.
    """

    text: str
    expected: frozenset[str]
    hidden: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Probe:
    """One calibration search: was the top article right, how close and how far ahead was it."""

    correct: bool
    dense: float
    lead: float


def read_queries(path: Path) -> list[tuple[str, str]]:
    """``query<TAB>expected_id`` lines; blank lines and a ``query<TAB>expected_id`` header are skipped."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: Excel writes a BOM
    except (OSError, UnicodeDecodeError) as error:
        raise QueryFileError(f"cannot read {path}: {error}") from None
    pairs, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == 1 and line.strip().lower() == "query\texpected_id"):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            problems.append(f"{path}:{number}: expected 'query<TAB>expected_id', got {line!r}")
        else:
            pairs.append((fields[0].strip(), fields[1].strip()))
    if problems:
        raise QueryFileError("\n".join(problems))
    if not pairs:
        raise QueryFileError(f"{path}: no queries")
    return pairs


def evaluate(
    retriever: Retriever, pairs: Sequence[tuple[str, str]], mode: Mode = "hybrid"
) -> dict[str, float]:
    """hit@1, hit@5, MRR (rank in the full ranking) and mean milliseconds per search."""
    queries = [Query(query, frozenset({expected})) for query, expected in pairs]
    return evaluate_modes(retriever, queries, (mode,))[mode]


def evaluate_modes(
    retriever: Retriever,
    queries: Sequence[Query],
    modes: Sequence[Mode] = MODES,
    progress: str | None = None,
) -> dict[Mode, dict[str, float]]:
    """``evaluate`` for several modes in one pass: each query is embedded and BM25-scored once.

    A mode's time is the signals it uses plus fusion and sorting, so "bm25" does not pay for an
    embedding it ignores. ``progress`` is the label of a progress bar on stderr (None: no bar).
    """
    position = {article_id: i for i, article_id in enumerate(retriever.index.article_ids)}
    unknown = sorted({e for q in queries for e in q.expected} - set(position))
    if unknown:
        raise QueryFileError(f"expected ids not in the index: {', '.join(unknown)}")
    retriever.scores(queries[0].text)  # warm-up: first call pays one-off setup costs
    ranks: dict[Mode, list[int | None]] = {mode: [] for mode in modes}
    seconds = dict.fromkeys(modes, 0.0)
    for query in tqdm(queries, desc=progress, unit="query", disable=progress is None, leave=False):
        text = retriever.clip(query.text)
        if not has_words(text):  # search() answers such queries with nothing
            for mode in modes:
                ranks[mode].append(None)
            continue
        signals, scores = timed_scores(retriever, text)
        scores = hide(scores, [position[h] for h in query.hidden])
        expected = [position[e] for e in query.expected]
        for mode in modes:
            started = time.perf_counter()
            ranking = fuse(scores, mode, retriever.config.dense_weight)
            order = np.argsort(-ranking, kind="stable")  # the order Retriever.rank returns
            seconds[mode] += time.perf_counter() - started + sum(signals[s] for s in SIGNALS[mode])
            ranks[mode].append(best_rank(ranking, order, expected))
    return {mode: summarize(ranks[mode], seconds[mode]) for mode in modes}


def timed_scores(retriever: Retriever, text: str) -> tuple[dict[str, float], ArticleScores]:
    """Both article signals of ``text`` and the seconds each took."""
    started = time.perf_counter()
    dense = retriever.dense_scores(text)
    dense_done = time.perf_counter()
    bm25 = retriever.bm25_scores(text)
    seconds = {"dense": dense_done - started, "bm25": time.perf_counter() - dense_done}
    return seconds, ArticleScores(dense, bm25)


def hide(scores: ArticleScores, positions: Sequence[int]) -> ArticleScores:
    """``scores`` with the articles at ``positions`` no longer candidates."""
    if not positions:
        return scores
    dense, bm25 = scores.dense.copy(), scores.bm25.copy()
    dense[positions] = bm25[positions] = -np.inf
    return ArticleScores(dense, bm25)


def best_rank(ranking: np.ndarray, order: np.ndarray, expected: Sequence[int]) -> int | None:
    """1-based rank of the best-placed expected article in ``order``; None if none is a candidate."""
    places = [int(np.flatnonzero(order == e)[0]) + 1 for e in expected if np.isfinite(ranking[e])]
    return min(places, default=None)


def summarize(ranks: Sequence[int | None], seconds: float) -> dict[str, float]:
    """hit@1, hit@5, MRR and ms per query from 1-based ranks (None: not found)."""
    return {
        "hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / len(ranks), 4),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
        "n": len(ranks),
        "ms_per_query": round(1000 * seconds / len(ranks), 2),
    }


def held_out_scores(
    retriever: Retriever, vectors: np.ndarray, query_entry: int, removed: np.ndarray
) -> ArticleScores:
    """Article scores of entry ``query_entry``'s text against the index minus the ``removed`` entries."""
    index = retriever.index
    entry_dense = (vectors @ vectors[query_entry]).astype(np.float64)
    entry_dense[removed] = -np.inf
    kept = np.flatnonzero(~removed)
    entry_bm25 = np.full(len(index.entries), -np.inf)
    entry_bm25[kept] = BM25Okapi([index.tokens[i] for i in kept], **index.manifest["bm25"]).get_scores(
        index.tokens[query_entry]
    )
    return ArticleScores(
        per_article(entry_dense, retriever.matrix), per_article(entry_bm25, retriever.matrix)
    )


def leave_one_out(retriever: Retriever) -> tuple[list[tuple[ArticleScores, int]], list[ArticleScores]]:
    """(scores, right article) per held-out paraphrase, and scores with the whole article removed."""
    index = retriever.index
    vectors = index.dense.reconstruct_n(0, index.dense.ntotal)  # the stored embeddings: no re-encoding
    paraphrases, unanswerable = [], []
    for position, entry in enumerate(index.entries):
        if entry.is_standard:
            continue
        article = index.entry_article[position]
        alone = np.zeros(len(index.entries), dtype=bool)
        alone[position] = True
        paraphrases.append((held_out_scores(retriever, vectors, position, alone), int(article)))
        unanswerable.append(held_out_scores(retriever, vectors, position, index.entry_article == article))
    return paraphrases, unanswerable


def ranking_quality(
    paraphrases: Sequence[tuple[ArticleScores, int]], mode: Mode, dense_weight: float
) -> dict[str, float]:
    """hit@1, hit@5 and MRR of held-out paraphrases."""
    ranks = []
    for scores, right in paraphrases:
        ranking = fuse(scores, mode, dense_weight)
        ranks.append(int(np.sum(ranking > ranking[right])) + 1)
    ranks_array = np.array(ranks)
    return {
        "hit@1": round(float(np.mean(ranks_array == 1)), 3),
        "hit@5": round(float(np.mean(ranks_array <= 5)), 3),
        "mrr": round(float(np.mean(1 / ranks_array)), 3),
    }


def probe(scores: ArticleScores, dense_weight: float, right: int | None) -> Probe:
    """What ``Retriever.decide`` would look at for this ranking."""
    top = int(np.argmax(fuse(scores, "hybrid", dense_weight)))
    return Probe(top == right, float(scores.dense[top]), lead(scores.dense, top))


def threshold_table(
    paraphrases: Sequence[Probe],
    unanswerable: Sequence[Probe],
    min_dense: Sequence[float],
    margins: Sequence[float],
) -> list[dict[str, float]]:
    """For each (min cosine, min lead): how often confident, how often right, and false alarms."""
    rows = []
    for threshold in min_dense:
        for margin in margins:
            confident = [p for p in paraphrases if p.dense >= threshold and p.lead >= margin]
            false = [p for p in unanswerable if p.dense >= threshold and p.lead >= margin]
            rows.append(
                {
                    "confident_min_dense": threshold,
                    "confident_min_margin": margin,
                    "confident_share": round(len(confident) / len(paraphrases), 3),
                    "precision": round(sum(p.correct for p in confident) / max(len(confident), 1), 3),
                    "unanswerable_confident_share": round(len(false) / len(unanswerable), 3),
                }
            )
    return rows


def calibrate(retriever: Retriever) -> dict[str, Any]:
    """Everything retrieval.yml's comments quote: ranking quality, weight sweep, cosines, thresholds."""
    config = retriever.config
    paraphrases, unanswerable = leave_one_out(retriever)
    known = [probe(scores, config.dense_weight, right) for scores, right in paraphrases]
    unknown = [probe(scores, config.dense_weight, None) for scores in unanswerable]
    right = np.array([p.dense for p in known if p.correct])
    return {
        "held_out_paraphrases": len(paraphrases),
        "ranking": {mode: ranking_quality(paraphrases, mode, config.dense_weight) for mode in MODES},
        "dense_weight_sweep": {
            w: ranking_quality(paraphrases, "hybrid", w) for w in (0.5, 0.6, 0.7, 0.8, 0.9)
        },
        "top_cosine_percentiles_1_3_5_25_50": {
            "right": np.percentile(right, PERCENTILES).round(3).tolist(),
            "unanswerable": np.percentile([p.dense for p in unknown], PERCENTILES).round(3).tolist(),
        },
        "right_below_ambiguous_min_dense": round(float(np.mean(right < config.ambiguous_min_dense)), 3),
        "thresholds": threshold_table(
            known, unknown, (0.9, 0.91, 0.92, 0.93, 0.94), (0.01, 0.015, 0.02, 0.025, 0.03)
        ),
    }
