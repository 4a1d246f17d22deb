"""Knowledge gaps: what customers asked that the knowledge base could not answer, grouped by meaning.

A question is a gap when the assistant left it unanswered (``Turn.answered``), could only offer
articles to choose from (``ambiguous``), or the customer voted the answer 没用. Questions are
embedded with the knowledge base's own encoder and grouped by average-linkage clustering on cosine
distance (threshold in ``gaps.yml``, with its calibration); each group shows how often it was asked,
example questions, why they were gaps, and the closest existing article, so an editor can tell a
missing article from one that needs rewriting. ``draft_article`` turns a group into a YAML draft in
the article format for an editor to complete (it is not indexed until moved to ``articles/``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from sqlalchemy.orm import Session

from bot.analytics.measures import BUTTON_INTENTS, Scope, turns
from bot.analytics.models import ReportTurn
from bot.text import normalize

if TYPE_CHECKING:
    from knowledge_base.search import Retriever

CONFIG_PATH = Path(__file__).with_name("gaps.yml")
WORDLESS = re.compile(r"^[\W\d_]*$")  # digits, emoji, punctuation: nothing to write an article about


@dataclass(frozen=True)
class GapConfig:
    link_similarity: float
    min_questions: int
    max_examples: int
    max_questions: int


def load_gap_config(path: Path = CONFIG_PATH) -> GapConfig:
    """The clustering settings; a missing or out-of-range value is an error naming the setting."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a mapping of settings")
    similarity = data.get("link_similarity")
    if isinstance(similarity, bool) or not isinstance(similarity, int | float) or not 0 < similarity < 1:
        raise ValueError(f"{path}: link_similarity must be a number between 0 and 1, got {similarity!r}")
    counts = {}
    for name in ("min_questions", "max_examples", "max_questions"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{path}: {name} must be a positive whole number, got {value!r}")
        counts[name] = value
    return GapConfig(link_similarity=float(similarity), **counts)


@dataclass(frozen=True)
class Question:
    """A distinct gap question (normalised text) and how often and why it was asked."""

    text: str
    asked: int
    reasons: dict[str, int]
    intents: dict[str, int]
    last_at: dt.datetime


def gap_reason(turn: ReportTurn, voted_down: set[tuple[int, str]]) -> str | None:
    """Why a customer turn is a gap, or None when it was answered."""
    if turn.to_agent or turn.intent in BUTTON_INTENTS:
        return None
    if not turn.answered:
        return "unanswered"
    if turn.kb_outcome == "ambiguous":
        return "ambiguous"
    if turn.kb_article and (turn.conversation_id, turn.kb_article) in voted_down:
        return "not_useful"
    return None


def gap_questions(session: Session, scope: Scope, limit: int) -> list[Question]:
    """The scope's gap questions, most recent ``limit`` turns, merged by normalised text."""
    said = sorted(turns(session, scope), key=lambda t: t.at, reverse=True)
    voted_down = {(t.conversation_id, t.kb_article) for t in said if t.kb_vote == "no" and t.kb_article}
    merged: dict[str, dict[str, Any]] = {}
    for turn in said:
        reason = gap_reason(turn, voted_down)
        text = normalize(turn.text).strip()
        if reason is None or WORDLESS.match(text) or (len(merged) >= limit and text not in merged):
            continue
        entry = merged.setdefault(
            text, {"asked": 0, "reasons": Counter(), "intents": Counter(), "last": turn.at}
        )
        entry["asked"] += 1
        entry["reasons"][reason] += 1
        entry["intents"][turn.intent or "unknown"] += 1
    return [
        Question(text, e["asked"], dict(e["reasons"]), dict(e["intents"]), e["last"])
        for text, e in merged.items()
    ]


def clusters(vectors: np.ndarray, link_similarity: float) -> list[int]:
    """A cluster label per unit vector: average linkage, merged while similarity ≥ ``link_similarity``."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, affinity="cosine", linkage="average", distance_threshold=1 - link_similarity
    )
    return [int(label) for label in model.fit_predict(vectors)]


def group_id(texts: Sequence[str]) -> str:
    """Stable while the group's most asked question stays the same."""
    return hashlib.sha256(texts[0].encode("utf-8")).hexdigest()[:12]


def knowledge_gaps(
    session: Session, scope: Scope, retriever: Retriever, config: GapConfig | None = None
) -> dict[str, Any]:
    """The gap groups of ``scope``, most asked first, each with its closest existing article."""
    from knowledge_base.index import embed

    config = config or load_gap_config()
    questions = gap_questions(session, scope, config.max_questions)
    if not questions:
        return {"groups": [], "questions": 0, "asked": 0, "ungrouped_asked": 0}
    labels = clusters(embed(retriever.index.model, [q.text for q in questions]), config.link_similarity)
    grouped: dict[int, list[Question]] = {}
    for question, label in zip(questions, labels, strict=True):
        grouped.setdefault(label, []).append(question)
    groups = [_group(members, retriever, config) for members in grouped.values()]
    shown = sorted((g for g in groups if g["asked"] >= config.min_questions), key=lambda g: -g["asked"])
    return {
        "groups": shown,
        "questions": len(questions),
        "asked": sum(q.asked for q in questions),
        "ungrouped_asked": sum(g["asked"] for g in groups if g["asked"] < config.min_questions),
    }


def _group(members: list[Question], retriever: Retriever, config: GapConfig) -> dict[str, Any]:
    members = sorted(members, key=lambda q: (-q.asked, q.text))
    reasons: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    for question in members:
        reasons.update(question.reasons)
        intents.update(question.intents)
    closest = retriever.search(members[0].text, top_k=1)
    return {
        "id": group_id([q.text for q in members]),
        "asked": sum(q.asked for q in members),
        "distinct_questions": len(members),
        "examples": [{"text": q.text, "asked": q.asked} for q in members[: config.max_examples]],
        "reasons": dict(reasons.most_common()),
        "intents": dict(intents.most_common(3)),
        "last_asked": max(q.last_at for q in members).isoformat(),
        "closest_article": (
            {"id": closest[0].id, "question": closest[0].question, "similarity": round(closest[0].dense, 3)}
            if closest
            else None
        ),
    }


def draft_article(group: dict[str, Any], drafts_dir: Path, today: dt.date) -> Path:
    """A YAML draft in the article format from a gap group; the editor writes the answer.

    Written once per group (a second click returns the same file, so an editor's work is never
    overwritten). The questions are customers' masked words; the draft is not indexed.
    """
    drafts_dir.mkdir(parents=True, exist_ok=True)
    path = drafts_dir / f"gap-{group['id']}.yml"
    if path.exists():
        return path
    examples = [e["text"] for e in group["examples"]]
    intents = [name for name in group.get("intents", {}) if name not in ("nlu_fallback", "unknown")]
    article = {
        "id": f"draft-{group['id']}",
        "question": examples[0],
        "similar_questions": examples[1:],
        "answer": "（待编辑：请填写标准答案，使用“您”称呼客户。）",
        "category": intents[0] if intents else "general",
        "tags": [],
        "updated": today,
        "requires_auth": False,
        "escalate": False,
    }
    header = (
        f"# Draft from a knowledge gap: asked {group['asked']} times, "
        f"{group['distinct_questions']} phrasings.\n"
        f"# Closest existing article: {(group.get('closest_article') or {}).get('id', 'none')}.\n"
        "# Complete the answer, give it an id like cards-0NN, and move it to knowledge_base/articles/.\n"
    )
    body = yaml.safe_dump({"articles": [article]}, allow_unicode=True, sort_keys=False)
    path.write_text(header + body, encoding="utf-8")
    return path


def drafted(drafts_dir: Path) -> set[str]:
    """Ids of the groups that already have a draft."""
    return (
        {p.stem.removeprefix("gap-") for p in drafts_dir.glob("gap-*.yml")} if drafts_dir.is_dir() else set()
    )
