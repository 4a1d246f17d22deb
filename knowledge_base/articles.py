"""Load and validate knowledge-base articles (format: knowledge_base/README.md).

Other banks' FAQs arrive in the same format, so validation is strict and complete: one
``ArticleError`` lists every problem (file, article, field) instead of stopping at the first,
so that a whole file can be fixed in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

YAML_SUFFIXES = (".yml", ".yaml")
MIN_SIMILAR_QUESTIONS = 3
REQUIRED_FIELDS = ("id", "question", "similar_questions", "answer", "category", "tags", "updated")
OPTIONAL_FLAGS = ("requires_auth", "escalate")


class ArticleError(ValueError):
    """Every problem found in a set of article files, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"invalid articles ({len(problems)} {noun}):\n" + "\n".join(problems))


@dataclass(frozen=True)
class Article:
    """One curated answer with the questions customers ask for it."""

    id: str
    question: str
    similar_questions: tuple[str, ...]
    answer: str
    category: str
    tags: tuple[str, ...]
    updated: dt.date
    requires_auth: bool = False
    escalate: bool = False

    @property
    def questions(self) -> tuple[str, ...]:
        """The standard question first, then the paraphrases: what the index matches against."""
        return (self.question, *self.similar_questions)


def article_files(source: Path) -> list[Path]:
    """``source`` itself if it is a file, else its YAML files in name order (stable hashes)."""
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        if not files:
            raise ArticleError([f"{source}: no .yml/.yaml files in this folder"])
        return files
    raise ArticleError([f"{source}: no such file or folder"])


def load_articles(source: Path | str) -> list[Article]:
    """All articles from a YAML file or a folder of them; raises ``ArticleError`` listing every problem."""
    problems: list[str] = []
    articles: list[Article] = []
    first_seen: dict[str, str] = {}
    for path in article_files(Path(source)):
        for label, raw in _raw_articles(path, problems):
            article = _validate(raw, label, problems)
            if article is None:
                continue
            if article.id in first_seen:
                problems.append(
                    f"{label}: field 'id': duplicate id, already used in {first_seen[article.id]}"
                )
                continue
            first_seen[article.id] = label
            articles.append(article)
    if problems:
        raise ArticleError(problems)
    return articles


def _raw_articles(path: Path, problems: list[str]) -> list[tuple[str, Any]]:
    """(label for messages, raw article) pairs of one file; file-level problems go to ``problems``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as error:  # ValueError: e.g. date 2026-13-01
        problems.append(f"{path}: not valid YAML: {_one_line(error)}")
        return []
    if not isinstance(data, dict) or "articles" not in data:
        problems.append(f"{path}: the file must be a mapping with the key 'articles:'")
        return []
    if not isinstance(data["articles"], list):
        problems.append(f"{path}: 'articles:' must hold a list of articles")
        return []
    return [(_label(path, index, raw), raw) for index, raw in enumerate(data["articles"])]


def _label(path: Path, index: int, raw: Any) -> str:
    """Where an article is: its id when it has a usable one, else its position (1-based)."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"{path}: article '{raw['id']}'"
    return f"{path}: article #{index + 1}"


def _validate(raw: Any, label: str, problems: list[str]) -> Article | None:
    """An ``Article`` when ``raw`` is valid; otherwise ``None`` and the reasons in ``problems``."""
    if not isinstance(raw, dict):
        problems.append(f"{label}: must be a mapping of fields, got {type(raw).__name__}")
        return None
    found: list[str] = []
    for field in REQUIRED_FIELDS:
        if field not in raw or raw[field] is None:
            found.append(f"field '{field}': missing (required)")
    for field in sorted(set(raw) - set(REQUIRED_FIELDS) - set(OPTIONAL_FLAGS), key=str):
        found.append(
            f"field '{field}': unknown field (allowed: {', '.join(REQUIRED_FIELDS + OPTIONAL_FLAGS)})"
        )
    checks = {
        "id": _text,
        "question": _text,
        "answer": _text,
        "category": _text,
        "similar_questions": _similar_questions,
        "tags": _tags,
        "updated": _date,
        "requires_auth": _flag,
        "escalate": _flag,
    }
    for field, check in checks.items():
        if raw.get(field) is not None:
            message = check(raw[field])
            if message:
                found.append(f"field '{field}': {message}")
    problems.extend(f"{label}: {message}" for message in found)
    if found:
        return None
    return Article(
        id=raw["id"].strip(),
        question=raw["question"].strip(),
        similar_questions=tuple(q.strip() for q in raw["similar_questions"]),
        answer=raw["answer"].strip(),
        category=raw["category"].strip(),
        tags=tuple(str(t).strip() for t in raw["tags"]),
        updated=_as_date(raw["updated"]),
        requires_auth=raw.get("requires_auth", False),
        escalate=raw.get("escalate", False),
    )


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    return None if value.strip() else "must not be empty"


def _similar_questions(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of questions, got {type(value).__name__}"
    bad = [i + 1 for i, q in enumerate(value) if not isinstance(q, str) or not q.strip()]
    if bad:
        return f"items {bad} are empty or not text"
    if len(value) < MIN_SIMILAR_QUESTIONS:
        return f"needs at least {MIN_SIMILAR_QUESTIONS} paraphrases, got {len(value)}"
    return None


def _tags(value: Any) -> str | None:
    """Numbers are fine: YAML reads the tag 12378 (a hotline) in ``[投诉, 12378]`` as an int."""
    if not isinstance(value, list):
        return f"must be a list, got {type(value).__name__}"
    bad = [i + 1 for i, t in enumerate(value) if not _is_tag(t)]
    return f"items {bad} are empty or not text" if bad else None


def _is_tag(value: Any) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def _date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return "must be a date (YYYY-MM-DD) without a time"
    if isinstance(value, dt.date):
        return None
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value.strip())
        except ValueError:
            return f"'{value}' is not a valid date in the form YYYY-MM-DD"
        return None
    return f"must be a date in the form YYYY-MM-DD, got {type(value).__name__}"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value.strip())


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def content_hash(articles: list[Article]) -> str:
    """SHA-256 of the articles' content, independent of file names and order, to spot stale indexes."""
    records = sorted((asdict(a) for a in articles), key=lambda record: record["id"])
    payload = json.dumps(records, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
