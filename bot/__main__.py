"""Command line: ``python -m bot {train,run,run-scaled,shell,eval,token,simulate}`` (what make targets
call)."""

from __future__ import annotations

import argparse
import sys

from bot import supervisor
from bot.settings import Settings, load_settings
from bot.training import ensure_model


def prepare_data(settings: Settings) -> None:
    """What the action server and the gateway read: the knowledge-base index and the profile database."""
    prepare_knowledge_base(settings)
    prepare_profiles(settings)


def prepare_knowledge_base(settings: Settings) -> None:
    """Build the knowledge-base index when articles, dictionary or model changed since the last build.

    A knowledge base that cannot be built (say, an article with a missing field) is reported loudly
    but does not stop the assistant: it answers with topic overviews until the articles are fixed.
    """
    from knowledge_base.index import IndexLoadError, ensure_index

    print("==> checking the knowledge-base index", flush=True)
    try:
        reason = ensure_index(settings.kb_articles_dir, settings.kb_index_dir, settings.kb_model_dir)
    except (IndexLoadError, ValueError, OSError) as error:
        print(f"==> WARNING: knowledge base unavailable, answering with overviews only: {error}", flush=True)
        return
    print(f"==> knowledge base: {'rebuilt (' + reason + ')' if reason else 'index up to date'}", flush=True)


def prepare_profiles(settings: Settings) -> None:
    """Bring the profile database's schema up to date; an empty database gets the demo bank."""
    from bot.profile.errors import ProfileUnavailable
    from bot.profile.seed import seed_demo_bank

    try:
        report = seed_demo_bank(settings.profile_db, customers=240, seed=7, progress=False)
    except ProfileUnavailable as error:
        print(
            f"==> WARNING: profile database unavailable, account services will apologise: {error}", flush=True
        )
        return
    state = f"seeded the demo bank ({report.customers} customers)" if report else "up to date"
    print(f"==> profile database: {state}", flush=True)
    prepare_console_logins(settings)


def prepare_console_logins(settings: Settings) -> None:
    """Demo staff get the documented console password (``BANKBOT_DEMO_STAFF_PASSWORD``) once."""
    from bot.handoff.agents import AgentDirectory
    from bot.profile.db import session_factory

    given = AgentDirectory(session_factory(settings.profile_db)).ensure_demo_logins(
        settings.demo_staff_password
    )
    if given:
        print(f"==> agent console: {given} demo staff can log in at {settings.gateway_url}/agent", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("train", help="train the Rasa model if its inputs changed")
    commands.add_parser("run", help="run gateway, Rasa server and action server")
    commands.add_parser("run-scaled", help="run two replicas of each service behind nginx (bot/scaled.py)")
    commands.add_parser("shell", help="chat with the assistant in the terminal")
    commands.add_parser("eval", help="NLU cross-validation and test stories into reports/")
    token = commands.add_parser("token", help="sign a web login token for a demo user (HS256 only)")
    token.add_argument("user_id", help="the website's user id, e.g. demo-web-1 (see bot/profile/README.md)")
    token.add_argument("--minutes", type=int, default=60, help="validity (default 60)")
    commands.add_parser(
        "simulate",
        add_help=False,  # its own options: python -m bot simulate --help
        help="play demo conversations through the running system (bot/analytics/simulate.py)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "simulate":
        from bot.analytics.simulate import main as simulate

        return simulate(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    settings = load_settings()
    if args.command == "token":
        from bot.identity import sign_demo_token

        print(sign_demo_token(settings, args.user_id, args.minutes))
        return 0
    model = ensure_model()
    if args.command == "train":
        print(f"==> model: {model}")
        return 0
    if args.command == "run-scaled":
        from bot.scaled import run_scaled

        try:
            return run_scaled(settings, model, prepare_data)
        except RuntimeError as error:  # PostgreSQL or Redis could not be started
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.command == "run":
        return supervisor.run_all(settings, model, prepare=lambda: prepare_data(settings))
    if args.command == "shell":
        prepare_data(settings)
        return supervisor.run_shell(settings, model)
    from bot.evaluation import run_evaluation

    return run_evaluation(model)


if __name__ == "__main__":
    sys.exit(main())
