"""Command line: ``python -m bot {train,run,shell,eval}`` (what the make targets call)."""

from __future__ import annotations

import argparse
import sys

from bot import supervisor
from bot.settings import load_settings
from bot.training import ensure_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("train", help="train the Rasa model if its inputs changed")
    commands.add_parser("run", help="run gateway, Rasa server and action server")
    commands.add_parser("shell", help="chat with the assistant in the terminal")
    commands.add_parser("eval", help="NLU cross-validation and test stories into reports/")
    args = parser.parse_args(argv)

    settings = load_settings()
    model = ensure_model()
    if args.command == "train":
        print(f"==> model: {model}")
        return 0
    if args.command == "run":
        return supervisor.run_all(settings, model)
    if args.command == "shell":
        return supervisor.run_shell(settings, model)
    from bot.evaluation import run_evaluation

    return run_evaluation(model)


if __name__ == "__main__":
    sys.exit(main())
