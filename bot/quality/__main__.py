"""``python -m bot.quality`` (``make report``): measure, then write reports/quality.html."""

from __future__ import annotations

import datetime as dt
import sys

from bot.evaluation import REPORTS
from bot.quality import measure
from bot.quality.render import render
from bot.quality.results import Report, other_reports, read_benchmarks
from bot.settings import PROJECT_ROOT, load_settings

OUT = REPORTS / "quality.html"
STEPS = 4


def step(number: int, title: str) -> None:
    """One line per step: loading and running the models takes tens of seconds each."""
    print(f"==> [{number}/{STEPS}] {title}", flush=True)


def build_report() -> Report:
    """Every measurement, the prerequisites first so a missing one fails before the slow steps."""
    settings = load_settings()
    model = measure.prepare_model()
    rebuilt = measure.prepare_index(settings)
    print(f"==> model {model.name}; knowledge-base index {'rebuilt: ' + rebuilt if rebuilt else 'current'}")
    step(1, "NLU held-out set (loading the Rasa model first)")
    agent = measure.load_agent(model)
    intents = measure.intents(agent)
    step(2, "knowledge base on customer paraphrases (loading the index and embeddings)")
    retrieval = measure.retrieval(measure.load_retriever(settings))
    step(3, "sentiment held-out set")
    sentiment = measure.sentiment(agent)
    step(4, "last benchmark results")
    return Report(
        model=model.name,
        generated=dt.datetime.now().astimezone(),
        intents=intents,
        retrieval=retrieval,
        sentiment=sentiment,
        benchmarks=read_benchmarks(REPORTS),
        links=other_reports(REPORTS),
    )


def main() -> int:
    try:
        report = build_report()
    except measure.Unavailable as error:
        print(f"==> ERROR: {error}", file=sys.stderr)
        return 1
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render(report), encoding="utf-8")
    numbers = {
        "intent macro-F1": report.intents.macro_f1,
        "knowledge-base hit@1 (hybrid)": report.retrieval.modes["hybrid"]["hit@1"],
        "sentiment macro-F1": report.sentiment.macro_f1,
    }
    print("==> " + ", ".join(f"{name} {value:.3f}" for name, value in numbers.items()))
    print(f"==> report: {OUT.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
