"""``make eval``: NLU cross-validation, held-out NLU test and test stories, into reports/.

Rasa writes its own JSON reports and confusion-matrix images; this module runs the three
evaluations and puts a one-page HTML summary (reports/index.html) on top of them.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

REPORTS = PROJECT_ROOT / "reports"
CV_FOLDS = 5


def _rasa(*args: str) -> int:
    print(f"==> rasa {' '.join(args)}", flush=True)
    return subprocess.call([sys.executable, "-m", "rasa", *args], cwd=PROJECT_ROOT)


def run_evaluation(model: Path) -> int:
    steps = {
        "NLU cross-validation": (
            "nlu-cv",
            [
                "test",
                "nlu",
                "--nlu",
                "data",
                "--config",
                "config.yml",
                "--cross-validation",
                "--folds",
                str(CV_FOLDS),
            ],
        ),
        "NLU held-out set": ("nlu-holdout", ["test", "nlu", "--nlu", "tests/data", "--model", str(model)]),
        "Test stories": (
            "stories",
            ["test", "core", "--stories", "tests/test_stories.yml", "--model", str(model)],
        ),
    }
    codes = {}
    for index, (title, (folder, args)) in enumerate(steps.items(), start=1):
        print(f"==> [{index}/{len(steps)}] {title}", flush=True)
        codes[title] = _rasa(*args, "--out", str(REPORTS / folder))
    page = REPORTS / "index.html"
    page.write_text(render_summary({t: REPORTS / f for t, (f, _) in steps.items()}), encoding="utf-8")
    print(f"==> summary: {page}")
    return 0 if all(code == 0 for code in codes.values()) else 1


def intent_scores(folder: Path) -> dict[str, float] | None:
    report = folder / "intent_report.json"
    if not report.exists():
        return None
    data = json.loads(report.read_text())
    return {
        "macro F1": data["macro avg"]["f1-score"],
        "weighted F1": data["weighted avg"]["f1-score"],
        "accuracy": data.get("accuracy", data.get("micro avg", {}).get("f1-score", 0.0)),
    }


def story_scores(folder: Path) -> dict[str, float] | None:
    report = folder / "story_report.json"
    if not report.exists():
        return None
    data = json.loads(report.read_text())
    return {
        "conversation accuracy": data.get("conversation_accuracy", {}).get("accuracy", 0.0),
        "action macro F1": data.get("macro avg", {}).get("f1-score", 0.0),
    }


def _section(title: str, folder: Path) -> list[str]:
    scores = intent_scores(folder) or story_scores(folder) or {}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.3f}</td></tr>" for k, v in scores.items())
    images = "".join(
        f'<figure><img src="{html.escape(str(p.relative_to(REPORTS)))}" alt="{html.escape(p.stem)}">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in sorted(folder.glob("*.png"))
    )
    missing = "" if scores else "<p>No results (the step failed; see the console output).</p>"
    return [f"<h2>{html.escape(title)}</h2>", missing, f"<table>{rows}</table>", images]


def render_summary(sections: dict[str, Path]) -> str:
    body = [part for title, folder in sections.items() for part in _section(title, folder)]
    return (
        "<!doctype html><meta charset='utf-8'><title>Assistant evaluation</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}"
        "img{max-width:100%}figure{margin:1em 0}</style>"
        "<h1>星海银行 assistant: evaluation</h1>" + "".join(body)
    )
