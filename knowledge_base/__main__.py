"""Command line: build an index, search it, evaluate it, calibrate the answer thresholds.

    python -m knowledge_base build --source knowledge_base/articles --out var/kb-index
    python -m knowledge_base search --index var/kb-index --top-k 5 --json "信用卡怎么激活"
    python -m knowledge_base eval --index var/kb-index --queries queries.tsv
    python -m knowledge_base calibrate --index var/kb-index
    python -m knowledge_base feedback

Problems the user can fix (missing or stale index, invalid articles, bad query file) are one
message on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import os

# transformers imports TensorFlow (installed for Rasa) unless told not to: 3 s and log noise per run.
os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import jieba
from sqlalchemy.exc import SQLAlchemyError

from knowledge_base.config import load_config
from knowledge_base.evaluation import MODES, calibrate, evaluate, read_queries
from knowledge_base.index import DEFAULT_MODEL_DIR, IndexLoadError, build_index, ensure_index
from knowledge_base.search import Retriever

EXIT_USER_ERROR = 2


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="index the articles")
    build.add_argument("--source", type=Path, required=True, help="an articles YAML file or a folder of them")
    build.add_argument("--out", type=Path, required=True, help="index directory to write")
    build.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="sentence-transformers model")
    build.add_argument(
        "--if-stale", action="store_true", help="keep an index that is current for these articles and model"
    )
    search = commands.add_parser("search", help="print the best articles for a question")
    search.add_argument("--index", type=Path, required=True)
    search.add_argument("--top-k", type=positive_int, default=5)
    search.add_argument("--json", action="store_true", help="print a JSON list of {id, score, question}")
    search.add_argument("query")
    evaluation = commands.add_parser("eval", help="hit@1, hit@5, MRR on query<TAB>expected_id lines")
    evaluation.add_argument("--index", type=Path, required=True)
    evaluation.add_argument("--queries", type=Path, required=True)
    evaluation.add_argument("--mode", choices=MODES, default="hybrid", help="ranking to evaluate")
    calibrate = commands.add_parser("calibrate", help="leave-one-out numbers behind retrieval.yml")
    calibrate.add_argument("--index", type=Path, required=True)
    feedback = commands.add_parser("feedback", help="customers' 有用/没用 votes per article, worst first")
    feedback.add_argument("--db", help="SQLAlchemy URL of the votes (default: KB_FEEDBACK_DB / var/)")
    return parser.parse_args(argv)


def run_build(args: argparse.Namespace) -> None:
    if not args.if_stale:
        build_index(args.source, args.out, args.model)
    elif reason := ensure_index(args.source, args.out, args.model):
        print(f"rebuilt the index: {reason}")
    else:
        print("the index is up to date")
    manifest = json.loads((args.out / "manifest.json").read_text(encoding="utf-8"))
    print(
        f"indexed {manifest['article_count']} articles ({manifest['entry_count']} questions, "
        f"{manifest['index_type']}) into {args.out}"
    )


def run_search(args: argparse.Namespace) -> None:
    results = Retriever.load(args.index).search(args.query, args.top_k)
    if args.json:
        print(
            json.dumps(
                [{"id": r.id, "score": round(r.score, 4), "question": r.question} for r in results],
                ensure_ascii=False,
            )
        )
        return
    for rank, r in enumerate(results, start=1):
        print(f"{rank}. {r.id}  {r.score:.3f}  (cosine {r.dense:.3f}, bm25 {r.bm25:.2f})  {r.question}")


def run_eval(args: argparse.Namespace) -> None:
    pairs = read_queries(args.queries)  # before loading the model: a bad file fails fast
    print(json.dumps(evaluate(Retriever.load(args.index), pairs, args.mode)))


def run_calibrate(args: argparse.Namespace) -> None:
    for name, numbers in calibrate(Retriever.load(args.index)).items():
        if isinstance(numbers, list):
            print(name + ":\n" + "\n".join("  " + json.dumps(row) for row in numbers))
        else:
            print(f"{name}: {json.dumps(numbers)}")


def run_feedback(args: argparse.Namespace) -> None:
    from bot.privacy import pseudonym_key
    from bot.settings import load_settings
    from knowledge_base.feedback import FeedbackStore

    settings = load_settings()
    votes = FeedbackStore(args.db or settings.kb_feedback_db, pseudonym_key(settings)).summary()
    if not votes:
        print("no votes yet")
    for v in votes:
        share = f"{v.helpful_share:.0%}"
        print(f"{v.article_id:<24} helpful {v.helpful:>5}  not helpful {v.unhelpful:>5}  ({share})")


COMMANDS = {
    "build": run_build,
    "search": run_search,
    "eval": run_eval,
    "calibrate": run_calibrate,
    "feedback": run_feedback,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    jieba.setLogLevel(logging.WARNING)  # else "Building prefix dict ..." on every run
    try:
        load_config()  # a broken retrieval.yml is reported like any other user error
        COMMANDS[args.command](args)
    # ValueError covers invalid articles, query files and retrieval.yml
    except (IndexLoadError, ValueError, OSError, SQLAlchemyError) as error:
        print(f"knowledge_base {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
