"""The quality report as one self-contained HTML page: pure functions from ``results`` data to HTML.

Every text that comes from data (intent names, customer messages, file names) is escaped; charts
are inline SVG from ``bot.charts``, so the page has no scripts and loads nothing.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any

from bench.report import COLUMNS, TARGET_P95_MS, verdicts
from bot.charts import bar_chart, heatmap, page
from bot.quality.results import Benchmark, Classification, LabelScore, Report, Retrieval

TITLE = "星海银行 assistant: quality report"
WEAKEST = 10  # rows in the table of the intents with the lowest F1
RATES = ("hit@1", "hit@5", "mrr")  # the knowledge-base numbers between 0 and 1, drawn as bars
CAPACITY_COLUMNS = (("customers", "customers"), *COLUMNS, ("within_target", "within target"))
Cell = str | int | float | bool


def render(report: Report) -> str:
    """The whole page."""
    return page(
        TITLE,
        [
            *header(report),
            *intents_section(report.intents),
            *retrieval_section(report.retrieval),
            *sentiment_section(report.sentiment),
            *benchmark_section(report.benchmarks),
        ],
    )


def header(report: Report) -> list[str]:
    """Which model was judged and when, the key numbers, and the other reports to go deeper."""
    links = " · ".join(f'<a href="{html.escape(name)}">{html.escape(name)}</a>' for name in report.links)
    glance = table(
        ["", "value"],
        [
            ["intent macro-F1 (held-out)", report.intents.macro_f1],
            ["intent accuracy (held-out)", report.intents.accuracy],
            ["knowledge base hit@1 (hybrid)", report.retrieval.modes["hybrid"]["hit@1"]],
            ["sentiment macro-F1 (held-out)", report.sentiment.macro_f1],
        ],
    )
    return [
        f"<p>Model <code>{html.escape(report.model)}</code>, generated {_when(report.generated)}.</p>",
        f"<p>Other reports: {links or 'none yet (make eval, make bench-kb, make bench write them)'}.</p>",
        glance,
    ]


def intents_section(intents: Classification) -> list[str]:
    """Intent quality: averages, where the model confuses intents, and the weakest intents."""
    fallbacks = ", ".join(f"{html.escape(name)} {count}×" for name, count in intents.outside().items())
    return [
        "<h2>1. NLU intents on the held-out set</h2>",
        f"<p>{intents.n} customer messages written apart from the training data "
        f"(<code>tests/data/nlu_holdout_*.yml</code>), {len(intents.scores)} intents: "
        f"macro-F1 <b>{intents.macro_f1:.3f}</b>, accuracy <b>{intents.accuracy:.3f}</b>."
        + (f" Predictions outside the intents: {fallbacks}." if fallbacks else "")
        + "</p>",
        "<p>Rows are the true intent, columns the predicted one; a cell's shade is its share of the row "
        "(blue: right, red: a mistake).</p>",
        heatmap("Intent confusion matrix", intents.labels, intents.columns, intents.matrix),
        f"<h3>The {WEAKEST} intents with the lowest F1</h3>",
        scores_table("intent", intents.weakest(WEAKEST)),
    ]


def retrieval_section(retrieval: Retrieval) -> list[str]:
    """Ranking quality per search mode and what the answer decision made of the same queries."""
    modes = list(retrieval.modes)
    keys = list(retrieval.modes[modes[0]])  # whatever evaluate() returns, in its order
    rates = [key for key in RATES if key in keys]
    chart = bar_chart(
        "Retrieval on customer paraphrases",
        modes,
        rates,
        [[retrieval.modes[mode][key] for key in rates] for mode in modes],
    )
    total = sum(retrieval.outcomes.values())
    confident = retrieval.outcomes["confident"]
    return [
        "<h2>2. Knowledge base hit rates</h2>",
        "<p>Customer paraphrases with the article that answers each "
        "(<code>tests/knowledge_base/data/paraphrases.tsv</code>), searched in every mode.</p>",
        table(["mode", *keys], [[mode, *retrieval.modes[mode].values()] for mode in modes]),
        chart,
        "<h3>Answer decisions on the same queries</h3>",
        table(
            ["outcome", "queries", "share"],
            [[o, count, count / total if total else 0.0] for o, count in retrieval.outcomes.items()],
        ),
        f"<p>{retrieval.confident_right} of {confident} confident answers gave the expected article.</p>",
    ]


def sentiment_section(sentiment: Classification) -> list[str]:
    """Per-class sentiment quality; the escalation rules act on the negative class."""
    return [
        "<h2>3. Sentiment</h2>",
        f"<p>{sentiment.n} held-out messages (<code>tests/data/sentiment_heldout.yml</code>), labelled "
        f"through the NLU pipeline: macro-F1 <b>{sentiment.macro_f1:.3f}</b>, "
        f"accuracy <b>{sentiment.accuracy:.3f}</b>.</p>",
        heatmap("Sentiment confusion matrix", sentiment.labels, sentiment.columns, sentiment.matrix),
        scores_table("class", sentiment.scores),
    ]


def benchmark_section(benchmarks: Sequence[Benchmark]) -> list[str]:
    """The last load benchmarks on disk, or how to run one."""
    parts = ["<h2>4. Last benchmark</h2>"]
    if not benchmarks:
        return [*parts, "<p>No benchmark results in reports/ yet: run <code>make bench</code>.</p>"]
    for benchmark in benchmarks:
        parts.append(f"<h3>{html.escape(benchmark.name)}</h3>")
        parts.append(f"<p>Written {_when(benchmark.modified)}.</p>")
        if benchmark.result is None:
            parts.append(f"<p>Not shown: {html.escape(benchmark.problem or 'no result')}.</p>")
        else:
            parts.extend(benchmark_parts(benchmark.result))
    return parts


def benchmark_parts(result: dict[str, Any]) -> list[str]:
    """A result's table and its verdicts; which ones depends on the kind of run (bench/load.py)."""
    if "steps" in result:
        largest = result["largest_within_target"]
        return [
            _columns_table(CAPACITY_COLUMNS, result["steps"]),
            f"<p>Largest load within the p95 target of {TARGET_P95_MS} ms with no errors: "
            f"{html.escape(str(largest or 'none'))} customers.</p>",
        ]
    parts = [_columns_table((("phase", "phase"), *COLUMNS), result["phases"])]
    if "ratios" in result:
        checks = "".join(
            f"<li>{'✓' if ok else '✗'} {html.escape(label)}</li>" for label, ok in verdicts(result)
        )
        parts.append(f"<ul>{checks}</ul>")
    if "rss_growth_percent_after_warm_up" in result:
        growth = ", ".join(
            f"{html.escape(name)} {percent:+.1f} %"
            for name, percent in result["rss_growth_percent_after_warm_up"].items()
        )
        parts.append(f"<p>Memory growth after warm-up: {growth}.</p>")
    return parts


def scores_table(kind: str, scores: Iterable[LabelScore]) -> str:
    """Per-label scores with the label's most common mistake and a message it was made on."""
    rows = [
        [
            score.label,
            score.precision,
            score.recall,
            score.f1,
            score.support,
            score.mistake.predicted if score.mistake else "—",
            score.mistake.count if score.mistake else "",
            score.mistake.example if score.mistake else "",
        ]
        for score in scores
    ]
    head = [kind, "precision", "recall", "F1", "support", "most often taken for", "times", "example"]
    return table(head, rows)


def table(head: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A table whose first column names the row; text is left-aligned, numbers right."""
    heading = "".join(f"<th>{html.escape(title)}</th>" for title in head)
    body = "".join(
        f"<tr><th>{html.escape(str(row[0]))}</th>{''.join(_cell(value) for value in row[1:])}</tr>"
        for row in rows
    )
    return f"<table><tr>{heading}</tr>{body}</table>"


def _columns_table(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> str:
    return table([title for _, title in columns], [[row[key] for key, _ in columns] for row in rows])


def _cell(value: Cell) -> str:
    """Scores (floats up to 1) with three decimals, other numbers as they are, text left-aligned."""
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, float) and abs(value) <= 1:
        return f"<td>{value:.3f}</td>"
    if isinstance(value, int | float):
        return f"<td>{value}</td>"
    return f'<td style="text-align:left">{html.escape(str(value))}</td>'


def _when(moment: dt.datetime) -> str:
    return html.escape(moment.strftime("%Y-%m-%d %H:%M %Z").strip())
