"""Hybrid retrieval over the knowledge base: dense (e5 + FAISS) and lexical (BM25 over jieba tokens).

Scoring, per query:

1. Entry scores: cosine of the query to every indexed question (FAISS inner product on unit
   vectors), and BM25 of the query's jieba tokens against every indexed question.
2. Article scores: the mean of the article's two best entry scores, for each signal. Plain max
   lets one accidentally close paraphrase of another article win; requiring two of an article's
   questions to agree raised leave-one-out hit@1 from 0.471 to 0.510 (dense) and hit@1 on the
   test paraphrases from 0.857 to 0.964 (see retrieval.yml).
3. Fusion: ``w * minmax(dense) + (1 - w) * minmax(bm25)`` over the candidate articles. Weighted
   min-max beat reciprocal-rank fusion in leave-one-out (MRR 0.628 vs 0.590, both on max scores),
   because it keeps *how much* better the best article is, which ranks alone throw away; BM25's
   scale depends on the query's length, which min-max removes.

``answer`` turns the ranking into confident / ambiguous / none with thresholds from retrieval.yml.
The fused score is relative (the best article is always near 1), so the decision uses the raw
dense cosine (is anything close at all?) and its lead over the runner-up (is it clearly this one?).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from knowledge_base.config import RetrievalConfig, load_config
from knowledge_base.index import IndexLoadError, KnowledgeIndex, embed, load_index, tokenize

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from bot.settings import Settings

Mode = Literal["hybrid", "dense", "bm25"]
Outcome = Literal["confident", "ambiguous", "none"]
ENTRIES_PER_ARTICLE_SCORE = 2  # an article's score is the mean of its best this-many entries


@dataclass(frozen=True)
class SearchResult:
    """One ranked article; ``score`` is what the ranking used, ``dense``/``bm25`` its parts."""

    id: str
    score: float
    question: str
    dense: float
    bm25: float


@dataclass(frozen=True)
class Answer:
    """What to tell the customer: one article, a short list to choose from, or nothing."""

    outcome: Outcome
    reason: str
    article_id: str | None = None
    answer: str | None = None
    suggestions: tuple[SearchResult, ...] = ()


@dataclass(frozen=True)
class ArticleScores:
    """Per-article signals for one query; ``-inf`` marks articles that are not candidates."""

    dense: np.ndarray
    bm25: np.ndarray


def entry_matrix(entry_article: np.ndarray, n_articles: int) -> np.ndarray:
    """(articles x most entries) entry positions, padded with -1: vectorised per-article aggregation."""
    counts = np.bincount(entry_article, minlength=n_articles)
    matrix = np.full((n_articles, counts.max()), -1, dtype=np.int64)
    filled = np.zeros(n_articles, dtype=np.int64)
    for entry, article in enumerate(entry_article):
        matrix[article, filled[article]] = entry
        filled[article] += 1
    return matrix


def per_article(entry_scores: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Mean of each article's best (up to two) finite entry scores; -inf for an article without any.

    An article with one question (or one left after masking) is scored by that question alone:
    padding it with -inf would make it unfindable whenever other articles have more questions.
    """
    padded = np.where(matrix >= 0, entry_scores[matrix], -np.inf)
    best = -np.sort(-padded, axis=1)[:, :ENTRIES_PER_ARTICLE_SCORE]
    usable = np.isfinite(best)
    counts = usable.sum(axis=1)
    totals = np.where(usable, best, 0.0).sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), -np.inf)


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale finite scores to [0, 1]; all-equal scores carry no preference and become 0."""
    out = np.full_like(scores, -np.inf)
    finite = np.isfinite(scores)
    if not finite.any():
        return out
    low, high = scores[finite].min(), scores[finite].max()
    out[finite] = (scores[finite] - low) / (high - low) if high > low else 0.0
    return out


def fuse(scores: ArticleScores, mode: Mode, dense_weight: float) -> np.ndarray:
    """The ranking score of every article for ``mode`` (module doc, step 3)."""
    if mode == "dense":
        return scores.dense
    if mode == "bm25":
        return np.where(np.isfinite(scores.dense), scores.bm25, -np.inf)
    fused = dense_weight * minmax(scores.dense) + (1 - dense_weight) * np.maximum(minmax(scores.bm25), 0.0)
    return np.where(np.isfinite(scores.dense), fused, -np.inf)


def has_words(text: str) -> bool:
    """Letters or digits in any script; emoji, punctuation and symbols alone say nothing to search."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def has_chinese(text: str) -> bool:
    """CJK ideographs present: the articles are Chinese, so only such queries may be answered outright."""
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


class Retriever:
    """Searches a loaded index and decides whether an answer is safe to give."""

    def __init__(self, index: KnowledgeIndex, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.config = config or load_config()
        self.matrix = entry_matrix(index.entry_article, len(index.article_ids))
        self._categories = np.array([index.articles[a].category for a in index.article_ids])
        self._position = {article_id: i for i, article_id in enumerate(index.article_ids)}

    @classmethod
    def load(
        cls,
        directory: Path | str,
        source: Path | str | None = None,
        model: SentenceTransformer | None = None,
        config: RetrievalConfig | None = None,
        model_dir: Path | None = None,
    ) -> Retriever:
        """Load and verify the index in ``directory`` (see ``index.load_index``)."""
        config = config or load_config()
        index = load_index(Path(directory), Path(source) if source else None, model, config, model_dir)
        return cls(index, config)

    @property
    def categories(self) -> frozenset[str]:
        """The categories that articles use (the values ``category`` filters accept)."""
        return frozenset(self._categories.tolist())

    def clip(self, query: str) -> str:
        """The query as searched: stripped, and cut to ``max_query_chars`` (long pastes, abuse)."""
        return query.strip()[: self.config.max_query_chars]

    def scores(self, query: str) -> ArticleScores:
        """Dense and BM25 article scores of ``query`` (steps 1-2 of the module doc)."""
        return ArticleScores(self.dense_scores(query), self.bm25_scores(query))

    def dense_scores(self, query: str) -> np.ndarray:
        """Per-article cosine signal (separate from BM25 so a benchmark can time each alone)."""
        vector = embed(self.index.model, [query])
        dense = self.index.dense
        k = dense.ntotal if self.index.manifest["index_type"] == "flat_ip" else self.config.hnsw_candidates
        found, positions = dense.search(vector, min(k, dense.ntotal))
        keep = positions[0] >= 0  # HNSW returns candidates only; the rest count as the worst candidate
        entry_dense = np.full(dense.ntotal, found[0][keep].min() if keep.any() else -np.inf, dtype=np.float64)
        entry_dense[positions[0][keep]] = found[0][keep]
        return per_article(entry_dense, self.matrix)

    def bm25_scores(self, query: str) -> np.ndarray:
        """Per-article BM25 signal over jieba tokens."""
        entry_bm25 = np.asarray(self.index.bm25.get_scores(tokenize(query)), dtype=np.float64)
        return per_article(entry_bm25, self.matrix)

    def restrict(self, scores: ArticleScores, category: str | None) -> ArticleScores:
        """Only the articles of ``category`` stay candidates (all of them when it is ``None``)."""
        if category is None:
            return scores
        allowed = self._categories == category
        return ArticleScores(
            np.where(allowed, scores.dense, -np.inf), np.where(allowed, scores.bm25, -np.inf)
        )

    def rank(self, scores: ArticleScores, top_k: int, mode: Mode = "hybrid") -> list[SearchResult]:
        """The ``top_k`` best candidate articles."""
        ranking = fuse(scores, mode, self.config.dense_weight)
        order = [i for i in np.argsort(-ranking, kind="stable")[:top_k] if np.isfinite(ranking[i])]
        return [self._result(i, float(ranking[i]), scores) for i in order]

    def _result(self, position: int, score: float, scores: ArticleScores) -> SearchResult:
        article_id = self.index.article_ids[position]
        return SearchResult(
            id=article_id,
            score=score,
            question=self.index.articles[article_id].question,
            dense=float(scores.dense[position]),
            bm25=float(scores.bm25[position]),
        )

    def search(
        self, query: str, top_k: int = 5, category: str | None = None, mode: Mode = "hybrid"
    ) -> list[SearchResult]:
        """Ranked articles for ``query``; an unknown category or a wordless query gives none."""
        query = self.clip(query)
        if top_k < 1 or not has_words(query):
            return []
        return self.rank(self.restrict(self.scores(query), category), top_k, mode)

    def answer(self, query: str, category: str | None = None, *, widen: bool = False) -> Answer:
        """Confident (one article), ambiguous (2-3 to choose from) or none, with the reason.

        ``widen``: when nothing in ``category`` is confident, the whole knowledge base decides, from
        the same scores (the query is embedded once).
        """
        query = self.clip(query or "")
        if not query:
            return Answer("none", "empty query")
        if not has_words(query):
            return Answer("none", "the query has no words (only symbols, emoji or punctuation)")
        scores = self.scores(query)
        within = self._answer_from(query, self.restrict(scores, category), category)
        if category is None or not widen or within.outcome == "confident":
            return within
        return self._answer_from(query, scores, None)

    def _answer_from(self, query: str, scores: ArticleScores, category: str | None) -> Answer:
        results = self.rank(scores, self.config.suggestions)
        if not results:
            return Answer("none", f"no articles in category {category!r}")
        return self.decide(query, results, lead(scores.dense, self._position[results[0].id]))

    def decide(self, query: str, results: Sequence[SearchResult], top_lead: float) -> Answer:
        """Apply the calibrated thresholds (retrieval.yml) to a ranking and the top article's dense lead."""
        config = self.config
        top = results[0]
        if top.dense < config.ambiguous_min_dense:
            return Answer("none", f"nothing similar enough (best cosine {top.dense:.3f})")
        if not has_chinese(query):
            reason = (
                "the query has no Chinese text; the articles are Chinese, so only suggestions are offered"
            )
        elif top.dense < config.confident_min_dense:
            reason = f"best cosine {top.dense:.3f} is below {config.confident_min_dense}"
        elif top_lead < config.confident_min_margin:
            reason = f"the best article leads the next by only {top_lead:.3f} cosine"
        else:
            answer = self.index.articles[top.id].answer
            return Answer("confident", f"cosine {top.dense:.3f}, lead {top_lead:.3f}", top.id, answer, (top,))
        return Answer("ambiguous", reason, suggestions=tuple(results[: config.suggestions]))


def lead(dense: np.ndarray, position: int) -> float:
    """How far the article at ``position`` is ahead of the best other article in dense score.

    Negative when another article is closer: fusion ranked it first on BM25 alone.
    """
    others = np.delete(dense, position)
    runner_up = others[np.isfinite(others)].max(initial=-1.0)
    return float(dense[position] - runner_up)


# What loading the configured knowledge base can fail with (ValueError: invalid articles or config);
# callers answer without it then.
LOAD_ERRORS = (IndexLoadError, ValueError, OSError)


def configured_retriever(settings: Settings) -> Retriever:
    """The knowledge base ``settings`` point at, for the bot and the agent console alike."""
    return Retriever.load(settings.kb_index_dir, settings.kb_articles_dir, model_dir=settings.kb_model_dir)
