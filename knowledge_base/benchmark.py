"""Knowledge-base retrieval benchmark (``make bench-kb``): four setups side by side on the same queries.

Setups: BM25 alone, dense alone, hybrid (the ``Retriever``'s default) and hybrid with the embedding
model fine-tuned on BQ train by ``knowledge_base/finetune.py`` (trained here first when missing).

Query sets:

- BQ dev as retrieval (``../shared/data/bq/dev.tsv``; research-only data, never copied into the
  project). Every distinct s1 of a positive pair is a query; every distinct s2 of a positive pair
  is a document (an article with only a question); sentences of negative pairs that are neither
  become distractor documents. A query's right answers are the documents labelled as its
  paraphrase, in either column; a document that *is* the query is hidden from its search, or it
  would trivially rank first. Paraphrases that BQ does not label count as misses, so the numbers
  are a lower bound. BQ dev is in-domain for the fine-tuned model: same source and style as its
  training pairs, although the pairs are disjoint.
- Own held-out paraphrases (``knowledge_base/bench/heldout.tsv``) against the real knowledge base:
  this column says whether fine-tuning on BQ transfers to our bank's questions.
- Test paraphrases (``tests/knowledge_base/data/paraphrases.tsv``): they informed retrieval.yml's
  settings, so they are shown for comparison but are not held out.

Output: progress on stderr; on stdout a table and, as the last line, a JSON object of all numbers;
``reports/kb-bench.html`` (table and bar charts) and ``reports/kb-bench.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba

from bot.charts import bar_chart, page
from bot.files import staged_directory
from bot.settings import PROJECT_ROOT
from knowledge_base.__main__ import EXIT_USER_ERROR, positive_int
from knowledge_base.articles import Article, load_articles
from knowledge_base.config import RetrievalConfig, load_config
from knowledge_base.evaluation import Query, QueryFileError, evaluate_modes, read_queries
from knowledge_base.finetune import DEFAULT_OUT as DEFAULT_FINETUNED
from knowledge_base.finetune import SEED, Pair, finetune, read_pairs, sample
from knowledge_base.index import DEFAULT_MODEL_DIR, IndexLoadError, index_articles
from knowledge_base.search import Mode, Retriever

BQ_DIR = PROJECT_ROOT.parent / "shared" / "data" / "bq"
DEFAULT_BQ = BQ_DIR / "dev.tsv"
DEFAULT_TRAIN = BQ_DIR / "train.tsv"
DEFAULT_HELDOUT = PROJECT_ROOT / "knowledge_base" / "bench" / "heldout.tsv"
TEST_PARAPHRASES = PROJECT_ROOT / "tests" / "knowledge_base" / "data" / "paraphrases.tsv"
ARTICLES_DIR = PROJECT_ROOT / "knowledge_base" / "articles"
REPORT_DIR = PROJECT_ROOT / "reports"
REPORT_NAME = "kb-bench"
# Fine-tuning 4,000 pairs took 6 minutes on the 2-core development machine (2.9 s per batch of 32).
FINETUNE_PAIRS = 4000
SECONDS_PER_PAIR = 0.09
BQ_COLLECTION, KB_COLLECTION = "bq", "kb"
METRICS = (("hit@1", "hit@1", "{:.3f}"), ("hit@5", "hit@5", "{:.3f}"), ("mrr", "MRR", "{:.3f}"))
LATENCY = ("ms_per_query", "ms", "{:.1f}")


class BenchmarkError(ValueError):
    """An input the user can fix (missing data or model); the message says how."""


@dataclass(frozen=True)
class Setup:
    """One retrieval configuration: a ranking mode and which embedding model it uses."""

    key: str
    label: str
    mode: Mode
    finetuned: bool


SETUPS = (
    Setup("bm25", "BM25 only", "bm25", False),
    Setup("dense", "dense only", "dense", False),
    Setup("hybrid", "hybrid (default)", "hybrid", False),
    Setup("hybrid_finetuned", "hybrid + fine-tuned on BQ", "hybrid", True),
)


@dataclass(frozen=True)
class RetrievalTask:
    """Labelled pairs as retrieval: documents to index and queries with known right documents."""

    documents: tuple[Article, ...]
    queries: tuple[Query, ...]
    distractors: int


@dataclass(frozen=True)
class QuerySet:
    """Queries and the collection (``BQ_COLLECTION`` or ``KB_COLLECTION``) they are searched in."""

    key: str
    title: str
    note: str
    collection: str
    queries: tuple[Query, ...]


# ----------------------------------------------------------------------------- inputs


def distinct(texts: Iterable[str]) -> list[str]:
    """Unique texts in first-seen order, so document ids are stable for a given file."""
    return list(dict.fromkeys(texts))


def document(article_id: str, text: str) -> Article:
    """A benchmark document: an article that has nothing but its question."""
    return Article(article_id, text, (), "", BQ_COLLECTION, (), dt.date.min)


def pairs_to_task(pairs: Iterable[Pair], prefix: str = "bq") -> RetrievalTask:
    """Documents, distractors and queries from ``s1, s2, label`` pairs (rules in the module doc)."""
    pairs = list(pairs)
    positives = [p for p in pairs if p.label == 1]
    query_texts = distinct(p.first for p in positives)
    document_texts = distinct(p.second for p in positives)
    taken = set(query_texts) | set(document_texts)
    distractors = distinct(s for p in pairs if p.label == 0 for s in (p.first, p.second) if s not in taken)
    ids = {text: f"{prefix}-{n:05d}" for n, text in enumerate(document_texts + distractors)}
    partners: dict[str, set[str]] = defaultdict(set)
    for pair in positives:
        partners[pair.first].add(pair.second)
        partners[pair.second].add(pair.first)
    queries = []
    for text in query_texts:
        expected = frozenset(ids[t] for t in partners[text] if t in ids and t != text)
        hidden = frozenset({ids[text]}) if text in ids else frozenset()
        if expected:
            queries.append(Query(text, expected, hidden))
    documents = tuple(document(ids[t], t) for t in document_texts + distractors)
    return RetrievalTask(documents, tuple(queries), len(distractors))


def shown(path: Path) -> str:
    """``path`` as the user would type it from the project root."""
    return os.path.relpath(path.resolve(), PROJECT_ROOT)


def bq_query_set(path: Path, limit: int | None, seed: int) -> tuple[QuerySet, tuple[Article, ...]]:
    """BQ dev as retrieval; ``limit`` queries sampled reproducibly (documents always all of them)."""
    if not path.is_file():
        raise BenchmarkError(f"no BQ pairs at {path} (research data, see ../shared/data/bq/); pass --bq FILE")
    task = pairs_to_task(read_pairs(path))
    if not task.queries:
        raise BenchmarkError(f"{path}: no positive pairs (label 1), so no queries to search with")
    queries = task.queries if limit is None else tuple(sample(task.queries, limit, seed))
    sampled = (
        f", a random sample (seed {seed}) of {len(task.queries)}" if len(queries) < len(task.queries) else ""
    )
    note = (
        f"{shown(path)} as retrieval: {len(queries)} queries{sampled} (distinct s1 of positive pairs) "
        f"against {len(task.documents)} documents ({len(task.documents) - task.distractors} s2 of "
        f"positive pairs + {task.distractors} distractors from negative pairs). Right = any document "
        "labelled as the query's paraphrase; unlabelled paraphrases count as misses (a lower bound). "
        "In-domain for the fine-tuned model (trained on BQ train; the pairs are disjoint)."
    )
    query_set = QuerySet("bq_dev", "BQ dev (in-domain for FT)", note, BQ_COLLECTION, queries)
    return query_set, task.documents


def kb_query_sets(heldout: Path, paraphrases: Path, articles: Sequence[Article]) -> list[QuerySet]:
    """The held-out and test paraphrases; a missing default held-out file is reported, not fatal."""
    sets = []
    if not heldout.is_file() and heldout.resolve() != DEFAULT_HELDOUT.resolve():
        raise BenchmarkError(f"no held-out queries at {heldout}")
    if not heldout.is_file():
        log(f"notice: {shown(heldout)} does not exist yet; falling back to the test paraphrases alone")
    elif heldout.resolve() == paraphrases.resolve():
        log(f"notice: {shown(heldout)} are the test paraphrases, which are not held out; shown once")
    else:
        note = f"{shown(heldout)}: written for this benchmark, never used to build or tune retrieval."
        sets.append(QuerySet("heldout", "own held-out", note, KB_COLLECTION, kb_queries(heldout, articles)))
    note = f"{shown(paraphrases)}: informed retrieval.yml's settings, so not held out."
    sets.append(
        QuerySet(
            "test_paraphrases", "test paraphrases", note, KB_COLLECTION, kb_queries(paraphrases, articles)
        )
    )
    return sets


def kb_queries(path: Path, articles: Sequence[Article]) -> tuple[Query, ...]:
    """``query<TAB>expected_id`` lines, checked against the articles before any model work."""
    pairs = read_queries(path)
    unknown = sorted({expected for _, expected in pairs} - {a.id for a in articles})
    if unknown:
        raise QueryFileError(f"{path}: expected ids that no article has: {', '.join(unknown)}")
    return tuple(Query(query, frozenset({expected})) for query, expected in pairs)


def share_seen(queries: Sequence[Query], pairs_file: Path) -> float | None:
    """Share of queries that occur verbatim in a training file (None when it is not there)."""
    if not pairs_file.is_file():
        return None
    seen = {s for pair in read_pairs(pairs_file) for s in (pair.first, pair.second)}
    return round(sum(q.text in seen for q in queries) / len(queries), 4)


# ----------------------------------------------------------------------------- models


def log(message: str) -> None:
    """Progress and notices go to stderr: stdout is the table and the JSON line."""
    print(message, file=sys.stderr, flush=True)


def require_model(model_dir: Path) -> Path:
    """``model_dir``; a missing model is the user's to build, never silently converted here."""
    if not (model_dir / "modules.json").is_file():
        raise BenchmarkError(f"no embedding model in {model_dir}; build it with: make embeddings")
    return model_dir


def ensure_finetuned(out: Path, base: Path, train: Path, max_pairs: int) -> dict[str, Any]:
    """The fine-tuned model's training record; trains it first (bounded, staged) when it is missing."""
    seconds = None
    if not (out / "modules.json").is_file():
        if out.exists() and any(out.iterdir()):
            raise BenchmarkError(f"{out} exists but holds no model; remove it or pass another --finetuned")
        pairs = sample(list(read_pairs(train)), max_pairs, SEED)
        log(
            f"==> no fine-tuned model in {shown(out)}: fine-tuning {base.name} on {len(pairs)} pairs of "
            f"{shown(train)} first (about {len(pairs) * SECONDS_PER_PAIR / 60:.0f} min; "
            "make finetune-embeddings trains on more)"
        )
        started = time.perf_counter()
        with staged_directory(out) as staging:  # never a half-written model
            finetune(pairs, base, staging)
        seconds = round(time.perf_counter() - started, 1)
    record_file = out / "finetune.json"
    record = json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else {}
    return {
        "path": shown(out),
        "pairs": record.get("pairs"),
        "epochs": record.get("epochs"),
        "trained_in_this_run": seconds is not None,
        "training_seconds": seconds,
    }


# ----------------------------------------------------------------------------- run


def evaluate_collection(
    articles: Sequence[Article],
    source: str,
    model_dir: Path,
    config: RetrievalConfig,
    query_sets: Sequence[QuerySet],
    setups: Sequence[Setup],
) -> dict[str, dict[str, dict[str, float]]]:
    """Index ``articles`` with ``model_dir`` once, then numbers per query set and setup."""
    log(f"==> indexing {len(articles)} articles of {source} with {model_dir.name}")
    retriever = Retriever(index_articles(articles, source, model_dir, config), config)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for query_set in query_sets:
        progress = f"{query_set.title} · {model_dir.name}"
        numbers = evaluate_modes(retriever, query_set.queries, [s.mode for s in setups], progress)
        results[query_set.key] = {s.key: numbers[s.mode] for s in setups}
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every input checked first (cheap), then the models, then all numbers as one report."""
    started = time.perf_counter()
    config = load_config()
    bq_set, bq_documents = bq_query_set(args.bq, args.bq_limit, args.seed)
    articles = tuple(load_articles(args.articles))
    query_sets = [bq_set, *kb_query_sets(args.heldout, args.paraphrases, articles)]
    collections = {
        BQ_COLLECTION: (bq_documents, shown(args.bq)),
        KB_COLLECTION: (articles, shown(args.articles)),
    }
    models = [(require_model(args.model), [s for s in SETUPS if not s.finetuned])]
    finetuned = None
    if not args.skip_finetuned:
        finetuned = ensure_finetuned(args.finetuned, args.model, args.train, args.finetune_pairs)
        finetuned["bq_dev_queries_seen_in_train"] = share_seen(bq_set.queries, args.train)
        models.append((args.finetuned, [s for s in SETUPS if s.finetuned]))
    results: dict[str, dict[str, dict[str, float]]] = {q.key: {} for q in query_sets}
    for model_dir, setups in models:
        for key, (documents, source) in collections.items():
            sets = [q for q in query_sets if q.collection == key]
            for set_key, numbers in evaluate_collection(
                documents, source, model_dir, config, sets, setups
            ).items():
                results[set_key].update(numbers)
    setups = [s for _, model_setups in models for s in model_setups]
    return {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "setups": [{"key": s.key, "label": s.label} for s in setups],
        "query_sets": [
            {"key": q.key, "title": q.title, "note": q.note, "n": len(q.queries)} for q in query_sets
        ],
        "results": {q.key: {s.key: results[q.key][s.key] for s in setups} for q in query_sets},
        "finetuned_model": finetuned,
        "seconds": round(time.perf_counter() - started, 1),
    }


# ----------------------------------------------------------------------------- output


def notes(report: dict[str, Any]) -> list[str]:
    """What a reader needs to interpret the numbers honestly."""
    lines = [f"{q['title']}: {q['note']}" for q in report["query_sets"]]
    tuned = report["finetuned_model"]
    if tuned:
        seen = tuned.get("bq_dev_queries_seen_in_train")
        overlap = (
            f"; {seen:.1%} of the BQ dev queries also occur verbatim in BQ train" if seen is not None else ""
        )
        lines.append(
            f"Fine-tuned model {tuned['path']}: trained on {tuned['pairs']} BQ train pairs{overlap}. "
            "Its BQ dev numbers are in-domain; the KB columns show whether it transfers."
        )
    small = [f"{q['title']} {100 / q['n']:.1f}" for q in report["query_sets"] if q["n"] < 1000]
    if small:
        lines.append(
            f"One query moves hit@k by 100/n points ({', '.join(small)}): "
            "a difference of one or two queries is noise, not evidence."
        )
    lines.append(
        "ms per query on this machine, one query at a time: embedding + FAISS for dense, jieba + BM25 "
        "for BM25, both for hybrid, plus fusion and sorting."
    )
    return lines


def format_table(report: dict[str, Any]) -> str:
    """Setups down, query sets across (hit@1, hit@5, MRR, ms each), then the notes."""
    columns = (*METRICS, LATENCY)
    label_width = max(len("setup"), *(len(s["label"]) for s in report["setups"])) + 2
    subheader = "".join(f"{name:>7}" for _, name, _ in columns)
    heads = [f"{q['title']} (n={q['n']})" for q in report["query_sets"]]
    widths = [max(len(subheader), len(head)) for head in heads]
    lines = [
        " " * label_width + "".join(f" | {h:<{w}}" for h, w in zip(heads, widths, strict=True)),
        f"{'setup':<{label_width}}" + "".join(f" | {subheader:>{w}}" for w in widths),
    ]
    lines.append("-" * len(lines[1]))
    for setup in report["setups"]:
        cells = []
        for query_set, width in zip(report["query_sets"], widths, strict=True):
            numbers = report["results"][query_set["key"]][setup["key"]]
            cells.append(f"{''.join(f'{form.format(numbers[key]):>7}' for key, _, form in columns):>{width}}")
        lines.append(f"{setup['label']:<{label_width}}" + "".join(f" | {c}" for c in cells))
    lines.append("")
    lines.extend(f"* {note}" for note in notes(report))
    lines.append(f"total run time {report['seconds']:.0f} s")
    return "\n".join(lines)


def html_table(report: dict[str, Any]) -> str:
    """The text table as HTML; the best hit@1 / hit@5 / MRR of each query set in bold."""
    e = html.escape
    columns = (*METRICS, LATENCY)
    head = "".join(
        f'<th colspan="{len(columns)}">{e(q["title"])} (n={q["n"]})</th>' for q in report["query_sets"]
    )
    sub = "".join(f"<th>{e(name)}</th>" for _ in report["query_sets"] for _, name, _ in columns)
    rows = []
    for setup in report["setups"]:
        cells = []
        for query_set in report["query_sets"]:
            results = report["results"][query_set["key"]]
            for key, _, form in columns:
                best = key != LATENCY[0] and results[setup["key"]][key] == max(
                    r[key] for r in results.values()
                )
                text = e(form.format(results[setup["key"]][key]))
                cells.append(f"<td><b>{text}</b></td>" if best else f"<td>{text}</td>")
        rows.append(f"<tr><th>{e(setup['label'])}</th>{''.join(cells)}</tr>")
    return (
        f'<table><tr><th rowspan="2">setup</th>{head}</tr><tr>{sub}</tr>\n' + "\n".join(rows) + "\n</table>"
    )


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: table, one bar chart per metric, the notes."""
    e = html.escape
    groups = [q["title"] for q in report["query_sets"]]
    series = [s["label"] for s in report["setups"]]
    charts = [
        bar_chart(
            name,
            groups,
            series,
            [
                [report["results"][q["key"]][s["key"]][key] for s in report["setups"]]
                for q in report["query_sets"]
            ],
            value_format="{:.3f}",
        )
        for key, name, _ in METRICS
    ]
    return page(
        "Knowledge-base retrieval benchmark",
        [
            f"<p>{e(report['created_at'])}, run time {report['seconds']:.0f} s. hit@k: a right article among "
            "the first k; MRR: mean of 1 / rank of the first right article.</p>",
            html_table(report),
            "<div>",
            *charts,
            "</div>",
            "<ul>",
            *(f"<li>{e(note)}</li>" for note in notes(report)),
            "</ul>",
        ],
    )


def write_reports(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    html_path, json_path = directory / f"{REPORT_NAME}.html", directory / f"{REPORT_NAME}.json"
    html_path.write_text(render_html(report), encoding="utf-8")
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return html_path, json_path


# ----------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge_base.benchmark", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--bq", type=Path, default=DEFAULT_BQ, help="BQ dev pairs: s1<TAB>s2<TAB>label")
    parser.add_argument("--bq-limit", type=positive_int, help="sample this many BQ queries (default: all)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the BQ query sample")
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT, help="query<TAB>expected_id file")
    parser.add_argument("--paraphrases", type=Path, default=TEST_PARAPHRASES, help="the tests' query file")
    parser.add_argument("--articles", type=Path, default=ARTICLES_DIR, help="knowledge-base articles")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="base embedding model")
    parser.add_argument("--finetuned", type=Path, default=DEFAULT_FINETUNED, help="fine-tuned model")
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="pairs to fine-tune on if needed")
    parser.add_argument(
        "--finetune-pairs",
        type=positive_int,
        default=FINETUNE_PAIRS,
        help=f"how many of them (about {SECONDS_PER_PAIR} s each)",
    )
    parser.add_argument("--skip-finetuned", action="store_true", help="leave out the fine-tuned setup")
    parser.add_argument("--report-dir", type=Path, default=REPORT_DIR, help="where the HTML/JSON go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    jieba.setLogLevel(logging.WARNING)
    try:
        report = run(args)
        html_path, json_path = write_reports(report, args.report_dir)
    except (IndexLoadError, ValueError, OSError) as error:  # ValueError: bad pairs, queries, articles
        print(f"knowledge_base.benchmark: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    log(f"==> wrote {html_path} and {json_path}")
    print(format_table(report))
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
