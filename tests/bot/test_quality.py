"""The quality report: scoring and rendering on small made-up data, and the knowledge-base part for real."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from bot.quality.render import WEAKEST, benchmark_section, render, retrieval_section
from bot.quality.results import (
    Classification,
    Report,
    Retrieval,
    classify,
    other_reports,
    read_benchmarks,
)
from bot.settings import load_settings
from knowledge_base.search import Retriever
from tests.bench.test_report import RESULT as BENCH_RESULT

NOW = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone.utc)
RETRIEVAL = Retrieval(
    modes={
        "hybrid": {"hit@1": 0.9, "hit@5": 1.0, "mrr": 0.95, "n": 10, "ms_per_query": 30.5},
        "bm25": {"hit@1": 0.7, "hit@5": 0.9, "mrr": 0.8, "n": 10, "ms_per_query": 2.5},
    },
    outcomes={"confident": 6, "ambiguous": 3, "none": 1},
    confident_right=5,
)


def intents() -> Classification:
    """Three intents: check_balance always right, transfer_money half wrong, one nlu_fallback."""
    rows = [
        ("余额多少", "check_balance", "check_balance"),
        ("查余额", "check_balance", "check_balance"),
        ("转账给张三", "transfer_money", "transfer_money"),
        ("汇款到外地", "transfer_money", "check_balance"),
        ("钱转不出去", "transfer_money", "check_balance"),
        ("转钱", "transfer_money", "transfer_money"),
        ("卡丢了", "report_lost_card", "report_lost_card"),
        ("卡不见了", "report_lost_card", "nlu_fallback"),
    ]
    texts, expected, predicted = zip(*rows, strict=True)
    return classify(texts, expected, predicted, sorted(set(expected)))


def sentiment() -> Classification:
    return classify(
        ["烦死了", "谢谢", "好的", "还行"],
        ["negative", "positive", "neutral", "neutral"],
        ["negative", "positive", "neutral", "positive"],
        ("negative", "neutral", "positive"),
    )


def report(**changes: object) -> Report:
    base = Report("bankbot-abc.tar.gz", NOW, intents(), RETRIEVAL, sentiment(), [], [])
    return dataclasses.replace(base, **changes)


def test_scores_and_the_confusion_matrix_count_every_message() -> None:
    scores = intents()
    assert scores.labels == ("check_balance", "report_lost_card", "transfer_money")
    assert scores.columns == (*scores.labels, "nlu_fallback")
    assert scores.matrix == ((2, 0, 0, 0), (0, 1, 0, 1), (2, 0, 2, 0))
    assert scores.n == 8 and scores.accuracy == pytest.approx(5 / 8)
    balance, lost, transfer = scores.scores
    assert (balance.precision, balance.recall, balance.support) == (0.5, 1.0, 2)
    assert (lost.precision, lost.recall) == (1.0, 0.5)
    assert (transfer.precision, transfer.recall, transfer.support) == (1.0, 0.5, 4)
    # nlu_fallback is a miss for report_lost_card, not a class of its own in the average
    assert scores.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    assert scores.outside() == {"nlu_fallback": 1}


def test_the_most_common_mistake_comes_with_its_first_example() -> None:
    balance, lost, transfer = intents().scores
    assert balance.mistake is None
    assert (transfer.mistake.predicted, transfer.mistake.count, transfer.mistake.example) == (
        "check_balance",
        2,
        "汇款到外地",
    )
    assert lost.mistake.predicted == "nlu_fallback" and lost.mistake.example == "卡不见了"


def test_the_weakest_are_ordered_by_f1_then_name() -> None:
    scores = classify(
        ["a", "b", "c", "d", "e"],
        ["x", "y", "y", "z", "z"],
        ["x", "y", "x", "z", "z"],
        ["x", "y", "z"],
    )
    assert [s.label for s in scores.weakest(3)] == ["x", "y", "z"]  # F1 0.667, 0.667, 1.0
    assert [s.label for s in scores.weakest(1)] == ["x"]


def test_the_page_draws_the_confusion_matrix_with_its_counts() -> None:
    page = render(report())
    matrix = page.split("Intent confusion matrix", 2)[2].split("</svg>")[0]
    assert matrix.count("<rect") == 3 * 4  # one cell per true × predicted intent
    assert "<title>transfer_money → check_balance: 2 (50%)</title>" in matrix
    assert "<title>report_lost_card → nlu_fallback: 1 (50%)</title>" in matrix
    assert sorted(re.findall(r">(\d+)</text>", matrix)) == ["1", "1", "2", "2", "2"]


def test_the_weakest_intents_table_starts_with_the_lowest_f1() -> None:
    scores = classify(
        ["我要转账", "查余额", "查下余额", "挂失"] * 2,
        ["transfer_money", "check_balance", "check_balance", "report_lost_card"] * 2,
        ["check_balance", "check_balance", "check_balance", "report_lost_card"] * 2,
        ["check_balance", "report_lost_card", "transfer_money"],
    )
    page = render(report(intents=scores))
    weakest = page.split("with the lowest F1")[1].split("</table>")[0]
    rows = re.findall(r"<tr><th>([a-z_]+)</th><td>", weakest)
    assert rows == ["transfer_money", "check_balance", "report_lost_card"]  # F1 0, 0.8, 1
    assert "<td>0.000</td>" in weakest and "我要转账" in weakest


def test_at_most_the_configured_number_of_weakest_intents_are_listed() -> None:
    labels = [f"intent_{n:02}" for n in range(WEAKEST + 5)]
    page = render(report(intents=classify(labels, labels, labels, labels)))
    weakest = page.split("with the lowest F1")[1].split("</table>")[0]
    assert weakest.count("<tr><th>intent_") == WEAKEST


def test_names_and_messages_from_data_are_escaped() -> None:
    scores = classify(
        ["<img src=x onerror=alert(1)>", "ok"],
        ["<script>", "plain"],
        ["plain", "plain"],
        ["<script>", "plain"],
    )
    page = render(report(intents=scores, links=['x"><script>.html']))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_page_is_self_contained() -> None:
    page = render(report())
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3  # 2 matrices + KB bars
    assert not re.search(r"<(script|link|img|iframe)\b|src=|@import|url\(", page)
    assert "bankbot-abc.tar.gz" in page and "2026-01-05 09:30 UTC" in page


def test_knowledge_base_numbers_are_shown_per_mode_with_the_answer_outcomes() -> None:
    section = "".join(retrieval_section(RETRIEVAL))
    hybrid = "<tr><th>hybrid</th><td>0.900</td><td>1.000</td><td>0.950</td><td>10</td><td>30.5</td></tr>"
    assert hybrid in section
    assert "<tr><th>ambiguous</th><td>3</td><td>0.300</td></tr>" in section
    assert "5 of 6 confident answers" in section


def test_without_benchmark_files_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    assert read_benchmarks(tmp_path) == []
    page = render(report(benchmarks=read_benchmarks(tmp_path)))
    assert "No benchmark results" in page and "make bench" in page


def test_benchmark_files_are_shown_with_their_verdicts_and_time(tmp_path: Path) -> None:
    slow = copy.deepcopy(BENCH_RESULT)
    slow["phases"][0]["p95_ms"] = 251.0
    (tmp_path / "bench-default.json").write_text(json.dumps(slow))
    (tmp_path / "bench-soak-default.json").write_text("{not json")
    found = read_benchmarks(tmp_path)
    assert [b.name for b in found] == ["bench-default.json", "bench-soak-default.json"]
    assert found[1].result is None and "cannot read" in (found[1].problem or "")
    section = "".join(benchmark_section(found))
    assert "<th>full stack</th><td>600</td><td>0</td><td>10.0</td>" in section
    assert "✗ p95 ≤ 250 ms" in section and "✓ zero errors" in section
    assert f"Written {found[0].modified:%Y-%m-%d %H:%M}" in section
    assert "Not shown: cannot read it" in section


def test_a_capacity_result_shows_its_steps_and_the_largest_load(tmp_path: Path) -> None:
    step = dict(BENCH_RESULT["phases"][0], customers=20, offered_per_s=10.0, within_target=True)
    result = {"profile": "default", "steps": [step], "largest_within_target": 20}
    (tmp_path / "bench-capacity-default.json").write_text(json.dumps(result))
    section = "".join(benchmark_section(read_benchmarks(tmp_path)))
    assert "<tr><th>20</th><td>600</td>" in section and "<td>yes</td>" in section
    assert "within the p95 target of 250 ms with no errors: 20 customers" in section


def test_only_the_other_reports_present_are_linked(tmp_path: Path) -> None:
    for name in ("index.html", "bench-default.html", "bench-default.json", "quality.html"):
        (tmp_path / name).write_text("x")
    assert other_reports(tmp_path) == ["index.html", "bench-default.html"]
    page = render(report(links=other_reports(tmp_path)))
    assert '<a href="index.html">index.html</a>' in page


def test_a_knowledge_base_that_cannot_be_built_names_the_target_to_run(tmp_path: Path) -> None:
    from bot.quality.measure import Unavailable, prepare_index

    settings = dataclasses.replace(
        load_settings(), kb_articles_dir=tmp_path / "no-articles", kb_index_dir=tmp_path / "kb"
    )
    with pytest.raises(Unavailable, match="make kb-index"):
        prepare_index(settings)


def test_the_real_knowledge_base_on_the_paraphrases(kb_retriever: Retriever) -> None:
    from bot.quality.heldout import KB_PARAPHRASES as PARAPHRASES
    from bot.quality.measure import retrieval
    from knowledge_base.evaluation import read_queries

    found = retrieval(kb_retriever)
    queries = len(read_queries(PARAPHRASES))
    assert set(found.modes) == {"hybrid", "dense", "bm25"}
    assert all(numbers["n"] == queries for numbers in found.modes.values())
    assert found.modes["hybrid"]["hit@1"] >= 0.7 and found.modes["hybrid"]["hit@5"] >= 0.9
    assert sum(found.outcomes.values()) == queries and set(found.outcomes) == {
        "confident",
        "ambiguous",
        "none",
    }
    assert 0 < found.confident_right <= found.outcomes["confident"]
    assert f"<td>{found.modes['hybrid']['hit@1']:.3f}</td>" in "".join(retrieval_section(found))
