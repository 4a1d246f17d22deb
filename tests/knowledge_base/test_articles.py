"""Article loading: the shipped files are valid, broken ones are reported completely and clearly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from knowledge_base.articles import Article, ArticleError, content_hash, load_articles
from tests.knowledge_base.conftest import ARTICLES_DIR, write_small_articles

GOOD = """\
  - id: ok-001
    question: 信用卡怎么激活？
    similar_questions: [新卡怎么开卡, 卡到了怎么激活, 激活要去网点吗]
    answer: 在手机银行激活。
    category: card_service
    tags: [信用卡]
    updated: 2026-01-05
"""


def problems_of(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError) as caught:
        load_articles(tmp_path)
    return caught.value.problems


def test_the_shipped_articles_are_valid() -> None:
    articles = load_articles(ARTICLES_DIR)
    assert len(articles) >= 200  # the minimum
    assert len({a.id for a in articles}) == len(articles)
    assert all(isinstance(a, Article) and len(a.similar_questions) >= 3 for a in articles)
    assert all(isinstance(a.updated, dt.date) for a in articles)


def test_a_single_file_loads_and_optional_flags_default_to_false(tmp_path: Path) -> None:
    folder = write_small_articles(tmp_path)
    articles = load_articles(folder / "cards.yml")
    assert [a.id for a in articles] == ["t-001", "t-002"]
    first, second = articles
    assert (first.requires_auth, first.escalate) == (False, False)
    assert second.escalate is True
    assert second.updated == dt.date(2026, 1, 5)  # given as the string "2026-01-05"
    assert first.questions == (
        "信用卡怎么激活？",
        "新卡到手怎么开卡",
        "信用卡寄到了怎么启用",
        "激活信用卡一定要去网点吗",
    )


def test_articles_are_frozen() -> None:
    article = load_articles(ARTICLES_DIR)[0]
    with pytest.raises(AttributeError):
        article.answer = "changed"  # type: ignore[misc]


def test_every_field_problem_is_listed_with_file_article_and_field(tmp_path: Path) -> None:
    broken = """\
articles:
  - id: bad-001
    question: ""
    similar_questions: [只有一个, 两个]
    answer: 有答案
    category: card_service
    tags: 信用卡
    updated: "2026-02-30"
    escalate: "yes please"
  - question: 没有编号的文章
    similar_questions: [一, 二, ""]
    answer: 答案
    category: x
    tags: []
    updated: 2026-01-05
    requires_auth: 1
    escalte: true
  - just a string
"""
    problems = problems_of(tmp_path, {"broken.yml": broken})
    text = "\n".join(problems)
    expected = [
        "broken.yml: article 'bad-001': field 'question': must not be empty",
        "broken.yml: article 'bad-001': field 'similar_questions': needs at least 3 paraphrases, got 2",
        "broken.yml: article 'bad-001': field 'tags': must be a list, got str",
        "broken.yml: article 'bad-001': field 'updated': '2026-02-30' is not a valid date in the form "
        "YYYY-MM-DD",
        "broken.yml: article 'bad-001': field 'escalate': must be true or false, got 'yes please'",
        "broken.yml: article #2: field 'id': missing (required)",
        "broken.yml: article #2: field 'similar_questions': items [3] are empty or not text",
        "broken.yml: article #2: field 'requires_auth': must be true or false, got 1",
        "broken.yml: article #2: field 'escalte': unknown field",
        "broken.yml: article #3: must be a mapping of fields, got str",
    ]
    for message in expected:
        assert message in text
    assert len(problems) == len(expected)


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"a.yml": "articles:\n" + GOOD, "b.yml": "articles:\n" + GOOD})
    assert len(problems) == 1
    assert "b.yml: article 'ok-001': field 'id': duplicate id, already used in" in problems[0]
    assert "a.yml" in problems[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- id: x\n", "the file must be a mapping with the key 'articles:'"),
        ("faq:\n" + GOOD, "the file must be a mapping with the key 'articles:'"),
        ("articles: {id: x}\n", "'articles:' must hold a list of articles"),
        ("articles:\n  - id: [unclosed\n", "not valid YAML"),
        ("articles:\n" + GOOD.replace("2026-01-05", "2026-13-01"), "not valid YAML"),
        ("articles:\n" + GOOD.replace("2026-01-05", "2026-01-05 10:00:00"), "without a time"),
    ],
)
def test_file_level_and_date_problems(tmp_path: Path, text: str, message: str) -> None:
    problems = problems_of(tmp_path, {"file.yml": text})
    assert len(problems) == 1
    assert "file.yml" in problems[0]
    assert message in problems[0]


def test_all_files_are_checked_before_failing(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {"a.yml": "articles: nope\n", "b.yml": "articles:\n" + GOOD.replace("card_service", "''")},
    )
    assert [p.split(":")[0] for p in problems] == [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]


def test_missing_source_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such file or folder"):
        load_articles(tmp_path / "missing")
    with pytest.raises(ArticleError, match=r"no \.yml/\.yaml files"):
        load_articles(tmp_path)


def test_numeric_tags_are_kept_as_text(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "articles:\n" + GOOD.replace("[信用卡]", "[投诉, 12378]"), encoding="utf-8"
    )
    assert load_articles(tmp_path)[0].tags == ("投诉", "12378")


def test_content_hash_ignores_file_layout_but_not_content(tmp_path: Path) -> None:
    folder = write_small_articles(tmp_path / "two-files")
    original = content_hash(load_articles(folder))
    merged = tmp_path / "one-file.yml"
    cards, services = (folder / "cards.yml").read_text(), (folder / "services.yml").read_text()
    merged.write_text(services + cards.removeprefix("articles:\n"), encoding="utf-8")
    assert content_hash(load_articles(merged)) == original
    (folder / "cards.yml").write_text(cards.replace("手机银行", "网上银行"), encoding="utf-8")
    assert content_hash(load_articles(folder)) != original
