"""The retrieval benchmark: BQ pairs as retrieval, scoring, report writers, and a small real run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import benchmark
from knowledge_base.articles import Article, load_articles
from knowledge_base.evaluation import Query, evaluate_modes
from knowledge_base.finetune import Pair
from knowledge_base.index import index_articles
from knowledge_base.search import Retriever, entry_matrix, per_article

PAIRS = [
    Pair("怎么还款", "如何还钱", 1),
    Pair("怎么还款", "还款方式有哪些", 1),
    Pair("如何还钱", "还钱的办法", 1),
    Pair("额度多少", "怎么还款", 0),
    Pair("利率多少", "如何还钱", 0),
    Pair("利率多少", "额度多少", 0),
]
HELDOUT = [
    "query\texpected_id",
    "卡片到了怎么开通\tt-001",
    "钱包掉了卡要冻结\tt-002",
    "银行早上几点上班\tt-004",
]
PARAPHRASES = ["query\texpected_id", "信用卡刚寄到要激活\tt-001", "转账到外行要多久\tt-003"]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pairs(path: Path, pairs: list[Pair]) -> Path:
    return write_lines(path, [f"{p.first}\t{p.second}\t{p.label:.0f}" for p in pairs])


@pytest.fixture(scope="module")
def task() -> benchmark.RetrievalTask:
    return benchmark.pairs_to_task(PAIRS)


@pytest.fixture(scope="module")
def bq_retriever(task: benchmark.RetrievalTask, embedding_model_dir: Path) -> Retriever:
    return Retriever(index_articles(task.documents, "tiny pairs", embedding_model_dir))


def test_pairs_become_documents_distractors_and_queries(task: benchmark.RetrievalTask) -> None:
    assert [(d.id, d.question) for d in task.documents] == [
        ("bq-00000", "如何还钱"),  # s2 of positive pairs, first seen first
        ("bq-00001", "还款方式有哪些"),
        ("bq-00002", "还钱的办法"),
        ("bq-00003", "额度多少"),  # distractors: negative-pair sentences that are nothing else
        ("bq-00004", "利率多少"),
    ]
    assert task.distractors == 2
    assert all(d.similar_questions == () for d in task.documents)
    assert task.queries == (
        Query("怎么还款", frozenset({"bq-00000", "bq-00001"})),
        # 如何还钱 is also a document: hidden from its own search; 怎么还款 is no document to find
        Query("如何还钱", frozenset({"bq-00002"}), frozenset({"bq-00000"})),
    )


def test_a_query_is_never_its_own_right_answer() -> None:
    task = benchmark.pairs_to_task([Pair("同一句", "同一句", 1), Pair("问题甲", "问题乙", 1)])
    assert [q.text for q in task.queries] == ["问题甲"]


def test_single_question_articles_are_scored_by_that_question() -> None:
    matrix = entry_matrix(np.array([0, 0, 0, 1]), 2)  # article 0 has three questions, article 1 one
    scores = per_article(np.array([0.5, 0.9, 0.7, 0.8]), matrix)
    assert scores.tolist() == pytest.approx([0.8, 0.8])  # mean of the best two; the single one alone
    masked = per_article(np.array([-np.inf, -np.inf, 0.7, -np.inf]), matrix)
    assert masked[0] == pytest.approx(0.7) and masked[1] == -np.inf


def test_a_single_question_article_is_found_next_to_full_articles(
    small_source: Path, embedding_model_dir: Path
) -> None:
    articles = [*load_articles(small_source), benchmark.document("bq-00000", "外币兑换的汇率在哪里查")]
    retriever = Retriever(index_articles(articles, "mixed", embedding_model_dir))
    assert retriever.search("美元汇率去哪查", top_k=1)[0].id == "bq-00000"


def test_hidden_documents_are_not_candidates(bq_retriever: Retriever) -> None:
    itself = Query("如何还钱", frozenset({"bq-00000"}))
    assert evaluate_modes(bq_retriever, [itself], ("dense",))["dense"]["hit@1"] == 1.0
    hidden = Query("如何还钱", frozenset({"bq-00000"}), frozenset({"bq-00000"}))
    assert evaluate_modes(bq_retriever, [hidden], ("dense",))["dense"]["mrr"] == 0.0


REPORT = {
    "created_at": "2026-11-22T00:00:00+00:00",
    "setups": [{"key": "bm25", "label": "BM25 only"}, {"key": "dense", "label": "<b>dense</b> & co"}],
    "query_sets": [
        {"key": "bq_dev", "title": "BQ dev", "note": "pairs <script>alert(1)</script>", "n": 2},
        {"key": "heldout", "title": "own held-out", "note": "held out", "n": 3},
    ],
    "results": {
        "bq_dev": {
            "bm25": {"hit@1": 0.5, "hit@5": 1.0, "mrr": 0.75, "n": 2, "ms_per_query": 2.0},
            "dense": {"hit@1": 1.0, "hit@5": 1.0, "mrr": 1.0, "n": 2, "ms_per_query": 20.0},
        },
        "heldout": {
            "bm25": {"hit@1": 0.3333, "hit@5": 0.6667, "mrr": 0.5, "n": 3, "ms_per_query": 2.5},
            "dense": {"hit@1": 0.6667, "hit@5": 1.0, "mrr": 0.8, "n": 3, "ms_per_query": 21.0},
        },
    },
    "finetuned_model": None,
    "seconds": 12.3,
}


def test_text_table_has_one_row_per_setup_and_a_column_group_per_query_set() -> None:
    table = benchmark.format_table(REPORT)
    lines = table.splitlines()
    assert "BQ dev (n=2)" in lines[0] and "own held-out (n=3)" in lines[0]
    assert lines[1].count("hit@1") == 2 and lines[1].count("MRR") == 2
    bm25 = next(line for line in lines if line.startswith("BM25 only"))
    assert bm25.split() == "BM25 only | 0.500 1.000 0.750 2.0 | 0.333 0.667 0.500 2.5".split()
    assert "pairs <script>" in table  # plain text is not escaped
    assert "(BQ dev 50.0, own held-out 33.3)" in table  # how much one query moves hit@k


def test_html_report_escapes_text_and_needs_nothing_external(tmp_path: Path) -> None:
    html_path, json_path = benchmark.write_reports(REPORT, tmp_path / "reports")
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;dense&lt;/b&gt; &amp; co" in page
    assert page.count("<svg") == 3  # hit@1, hit@5, MRR
    assert "src=" not in page and "<link" not in page
    assert "<td><b>1.000</b></td>" in page  # the best number of a column stands out
    assert json.loads(json_path.read_text(encoding="utf-8")) == REPORT


def benchmark_args(tmp_path: Path, small_source: Path, *extra: str | Path) -> list[str]:
    pairs = write_pairs(tmp_path / "pairs.tsv", PAIRS)
    heldout = write_lines(tmp_path / "heldout.tsv", HELDOUT)
    paraphrases = write_lines(tmp_path / "paraphrases.tsv", PARAPHRASES)
    args = ["--bq", pairs, "--heldout", heldout, "--paraphrases", paraphrases, "--articles", small_source]
    return [str(a) for a in (*args, "--report-dir", tmp_path / "reports", *extra)]


def test_a_small_run_of_all_four_setups(
    tmp_path: Path, small_source: Path, embedding_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    # The base model stands in for the fine-tuned one, so nothing is trained here.
    extra = ("--finetuned", embedding_model_dir, "--train", tmp_path / "pairs.tsv")
    assert benchmark.main(benchmark_args(tmp_path, small_source, *extra)) == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    assert [s["key"] for s in report["setups"]] == ["bm25", "dense", "hybrid", "hybrid_finetuned"]
    assert [(q["key"], q["n"]) for q in report["query_sets"]] == [
        ("bq_dev", 2),
        ("heldout", 3),
        ("test_paraphrases", 2),
    ]
    for numbers in report["results"].values():
        for setup in numbers.values():
            assert 0 <= setup["hit@1"] <= setup["hit@5"] <= 1 and setup["ms_per_query"] > 0
    assert report["results"]["heldout"]["hybrid"]["hit@5"] == 1.0  # four articles: the top 5 holds all
    assert report["results"]["heldout"]["hybrid"] == {
        **report["results"]["heldout"]["hybrid_finetuned"],
        "ms_per_query": report["results"]["heldout"]["hybrid"]["ms_per_query"],
    }
    tuned = report["finetuned_model"]
    assert tuned["trained_in_this_run"] is False and tuned["bq_dev_queries_seen_in_train"] == 1.0
    assert any(line.startswith("hybrid + fine-tuned on BQ") for line in out)
    assert json.loads((tmp_path / "reports" / "kb-bench.json").read_text()) == report
    assert "<svg" in (tmp_path / "reports" / "kb-bench.html").read_text()


def test_skip_finetuned_leaves_out_the_fourth_setup(
    tmp_path: Path, small_source: Path, embedding_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    args = benchmark_args(tmp_path, small_source, "--skip-finetuned", "--bq-limit", "1")
    assert benchmark.main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [s["key"] for s in report["setups"]] == ["bm25", "dense", "hybrid"]
    assert report["query_sets"][0]["n"] == 1 and report["finetuned_model"] is None


def test_missing_default_heldout_file_falls_back_with_a_notice(
    tmp_path: Path, small_source: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "bench" / "heldout.tsv"
    monkeypatch.setattr(benchmark, "DEFAULT_HELDOUT", missing)
    paraphrases = write_lines(tmp_path / "paraphrases.tsv", PARAPHRASES)
    sets = benchmark.kb_query_sets(missing, paraphrases, load_articles(small_source))
    assert [s.key for s in sets] == ["test_paraphrases"]
    assert "does not exist yet" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: ["--bq", str(t / "nope.tsv")], "no BQ pairs at"),
        (lambda t: ["--heldout", str(write_lines(t / "bad.tsv", ["只有一列"]))], "bad.tsv:1"),
        (lambda t: ["--heldout", str(write_lines(t / "bad.tsv", ["问题\tno-such-id"]))], "no-such-id"),
        (lambda t: ["--heldout", str(t / "absent.tsv")], "no held-out queries"),
        (lambda t: ["--bq", str(write_lines(t / "bad.tsv", ["a\tb\t2"]))], "bad.tsv:1"),
        (lambda t: ["--bq", str(write_lines(t / "neg.tsv", ["a\tb\t0"]))], "no positive pairs"),
        (lambda t: ["--model", str(t / "no-model")], "make embeddings"),
    ],
)
def test_user_errors_are_one_message_and_exit_code_2(
    tmp_path: Path, small_source: Path, capsys: pytest.CaptureFixture, change, message: str
) -> None:
    args = benchmark_args(tmp_path, small_source, "--skip-finetuned", *change(tmp_path))
    assert benchmark.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.startswith("knowledge_base.benchmark: error:")


def test_documents_are_plain_articles() -> None:
    doc = benchmark.document("bq-00007", "怎么提额")
    assert isinstance(doc, Article) and doc.questions == ("怎么提额",)
