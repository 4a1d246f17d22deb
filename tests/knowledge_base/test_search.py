"""Retrieval on the full knowledge base: quality on customer paraphrases, answers, bad input."""

from __future__ import annotations

import re

import pytest

from bot.quality.heldout import KB_PARAPHRASES
from bot.text import normalize
from knowledge_base.articles import load_articles
from knowledge_base.evaluation import evaluate, read_queries
from knowledge_base.search import Retriever
from tests.knowledge_base.conftest import ARTICLES_DIR

PARAPHRASES = KB_PARAPHRASES


def canonical(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def test_the_paraphrases_are_not_copied_from_the_articles() -> None:
    pairs = read_queries(PARAPHRASES)
    articles = load_articles(ARTICLES_DIR)
    known = {canonical(q) for a in articles for q in a.questions}
    assert len(pairs) >= 40
    assert not [q for q, _ in pairs if canonical(q) in known]
    assert {expected for _, expected in pairs} <= {a.id for a in articles}


def test_retrieval_quality_on_customer_paraphrases(full_retriever: Retriever) -> None:
    pairs = read_queries(PARAPHRASES)
    report = {mode: evaluate(full_retriever, pairs, mode) for mode in ("bm25", "dense", "hybrid")}
    for mode, numbers in report.items():
        print(f"\n{mode:6} {numbers}")
    assert report["hybrid"]["hit@1"] >= 0.7
    assert report["hybrid"]["hit@5"] >= 0.9


def test_search_results_are_ranked_articles(full_retriever: Retriever) -> None:
    results = full_retriever.search("信用卡寄到了怎么激活", top_k=5)
    assert len(results) == 5
    assert results[0].id == "cards-003"
    assert results[0].question == "信用卡怎么激活？"
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert len({r.id for r in results}) == 5  # one result per article, not per indexed question


def test_category_filter(full_retriever: Retriever) -> None:
    results = full_retriever.search("钱转出去多久能到", top_k=5, category="transfer_money")
    categories = {full_retriever.index.articles[r.id].category for r in results}
    assert results and categories == {"transfer_money"}
    assert full_retriever.search("转账", category="no_such_category") == []


def test_a_clear_question_gets_a_confident_answer(full_retriever: Retriever) -> None:
    answer = full_retriever.answer("办签证需要银行出存款证明，怎么弄")
    assert answer.outcome == "confident"
    assert answer.article_id == "branch-010"
    assert answer.answer and "存款证明" in answer.answer


def test_a_vague_question_gets_suggestions(full_retriever: Retriever) -> None:
    answer = full_retriever.answer("信用卡")
    assert answer.outcome == "ambiguous"
    assert 2 <= len(answer.suggestions) <= 3
    assert answer.article_id is None and answer.answer is None


@pytest.mark.parametrize("query", ["今天天气怎么样", "给我讲个笑话", "帮我订一张去北京的机票", "你好"])
def test_off_topic_chat_gets_no_answer(full_retriever: Retriever, query: str) -> None:
    assert full_retriever.answer(query).outcome == "none"


@pytest.mark.parametrize("query", ["", "   \n\t  ", "👍👍🙏", "？？？!!!", "😀 ～～～"])
def test_empty_and_wordless_queries(full_retriever: Retriever, query: str) -> None:
    answer = full_retriever.answer(query)
    assert answer.outcome == "none"
    assert answer.reason in {"empty query", "the query has no words (only symbols, emoji or punctuation)"}
    assert full_retriever.search(query) == []


@pytest.mark.parametrize(
    "query",
    [
        "How do I activate my credit card?",
        "What's the weather like tomorrow?",
        "'; DROP TABLE articles; --",
        "SELECT * FROM accounts WHERE 1=1",
        "<script>alert('x')</script>",
        '<div class="x"><a href="javascript:void(0)">click</a></div>',
        "%s%s%s%n {{7*7}} ${jndi:ldap://x}",
        "\x00\x1b[31m\u200b\ufeff",
    ],
)
def test_foreign_and_hostile_input_never_gets_a_confident_answer(
    full_retriever: Retriever, query: str
) -> None:
    answer = full_retriever.answer(query)
    assert answer.outcome != "confident"
    assert answer.reason


def test_english_banking_question_offers_suggestions_at_most(full_retriever: Retriever) -> None:
    answer = full_retriever.answer("How do I activate my credit card?")
    assert answer.outcome in {"ambiguous", "none"}


def test_long_queries_are_cut_to_the_configured_length(full_retriever: Retriever) -> None:
    limit = full_retriever.config.max_query_chars
    assert limit == 1000
    long_query = "信用卡怎么激活" + "啊" * 5000
    assert len(full_retriever.clip(long_query)) == limit
    assert full_retriever.search(long_query, top_k=3)
    assert full_retriever.answer(long_query).outcome in {"confident", "ambiguous", "none"}


def test_traditional_and_full_width_queries_find_the_same_article(full_retriever: Retriever) -> None:
    simplified = full_retriever.search("信用卡被盗刷了怎么办", top_k=1)[0].id
    assert full_retriever.search("信用卡被盜刷了怎麼辦", top_k=1)[0].id == simplified
    assert full_retriever.search("ＡＴＭ吞卡了怎么办", top_k=1)[0].id == "cards-014"


def test_widening_to_all_articles_embeds_the_query_once(
    full_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowledge_base.search as search

    calls = []
    real_embed = search.embed
    monkeypatch.setattr(search, "embed", lambda model, texts: calls.append(texts) or real_embed(model, texts))
    query = "新办的信用卡寄到了，怎么激活"
    widened = full_retriever.answer(query, "loan_application", widen=True)
    assert len(calls) == 1
    assert widened == full_retriever.answer(query)  # nothing confident among loans: all articles decide
