"""The command line is a public contract: output formats and exit codes, in real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.__main__ import main
from tests.knowledge_base.conftest import private_copy, run_cli

EVAL_KEYS = {"hit@1", "hit@5", "mrr", "n", "ms_per_query"}


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 2, a message on stderr, no traceback, nothing on stdout."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr


def test_search_prints_a_json_list_on_the_small_set(small_index: Path) -> None:
    result = run_cli("search", "--index", small_index, "--top-k", "2", "--json", "跨行转账多长时间能到")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert [set(r) for r in results] == [{"id", "score", "question"}] * 2
    assert results[0]["id"] == "t-003"
    assert results[0]["question"] == "跨行转账多久到账？"
    assert results[0]["score"] >= results[1]["score"]


def test_search_on_the_full_set(full_index: Path) -> None:
    result = run_cli("search", "--index", full_index, "--top-k", "5", "--json", "钱包丢了 卡也没了 怎么办")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert len(results) == 5
    assert results[0]["id"] == "cards-017"


def test_eval_prints_metrics_as_the_last_line(small_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.tsv"
    queries.write_text(
        "query\texpected_id\n新办的信用卡如何激活\tt-001\n卡弄丢了\tt-002\n\n周日银行开门吗\tt-004\n",
        encoding="utf-8",
    )
    result = run_cli("eval", "--index", small_index, "--queries", queries)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(metrics) == EVAL_KEYS
    assert metrics["n"] == 3
    assert 0 <= metrics["hit@1"] <= metrics["hit@5"] <= 1
    assert 0 < metrics["mrr"] <= 1
    assert metrics["ms_per_query"] > 0


def test_missing_index(tmp_path: Path) -> None:
    result = run_cli("search", "--index", tmp_path / "nope", "--json", "转账")
    assert_user_error(result, "no index at", "python -m knowledge_base build")


def test_stale_index(small_index: Path, small_source: Path, tmp_path: Path) -> None:
    source, index = private_copy(small_index, small_source, tmp_path)
    cards = source / "cards.yml"
    cards.write_text(cards.read_text().replace("客服热线", "客户热线"), encoding="utf-8")
    assert_user_error(run_cli("search", "--index", index, "--json", "挂失"), "changed", "rebuild")


def test_bad_query_file_lines(small_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "bad.tsv"
    queries.write_text("卡丢了\tt-002\n只有问题没有编号\n\tt-001\n多\t了\t一列\n", encoding="utf-8")
    result = run_cli("eval", "--index", small_index, "--queries", queries)
    assert_user_error(result, "bad.tsv:2:", "bad.tsv:3:", "bad.tsv:4:")
    assert "bad.tsv:1:" not in result.stderr


def test_unknown_expected_id(small_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (same code path as the subprocess tests above, without paying for a new interpreter)."""
    queries = tmp_path / "unknown.tsv"
    queries.write_text("卡丢了\tcards-999\n", encoding="utf-8")
    assert main(["eval", "--index", str(small_index), "--queries", str(queries)]) == 2
    captured = capsys.readouterr()
    assert "expected ids not in the index: cards-999" in captured.err
    assert captured.out == ""


def test_invalid_articles(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("articles:\n  - id: x-001\n    question: 问题\n", encoding="utf-8")
    result = run_cli("build", "--source", tmp_path, "--out", tmp_path / "index")
    assert_user_error(result, "a.yml: article 'x-001': field 'similar_questions': missing (required)")
    assert not (tmp_path / "index").exists()
