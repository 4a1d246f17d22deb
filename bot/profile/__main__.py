"""Command line of the profile database: create or upgrade its schema, fill it with the demo bank.

    python -m bot.profile migrate [--db URL]
    python -m bot.profile seed [--customers 240] [--seed 7] [--db URL]

``--db`` defaults to the PROFILE_DB setting (``var/profile.db``). Seeding migrates first and leaves
a database that already has customers unchanged. Problems (unreachable database, bad values) are
one message on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.profile.db import upgrade
from bot.profile.errors import ProfileUnavailable
from bot.profile.seed import DEMO_CUSTOMERS, seed_demo_bank
from bot.settings import load_settings

EXIT_USER_ERROR = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", help="SQLAlchemy URL (default: PROFILE_DB, else sqlite:///var/profile.db)")
    parser = argparse.ArgumentParser(prog="python -m bot.profile", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[database], help="create or upgrade the schema")
    seed = commands.add_parser("seed", parents=[database], help="fill an empty database with the demo bank")
    seed.add_argument(
        "--customers", type=int, default=240, help=f"how many (at least {len(DEMO_CUSTOMERS)}; default 240)"
    )
    seed.add_argument(
        "--seed", type=int, default=7, help="the same seed on the same day gives the same bank (default 7)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.db or load_settings().profile_db
    try:
        if args.command == "migrate":
            upgrade(url)
            print(f"profile database is up to date: {url}")
            return 0
        report = seed_demo_bank(url, args.customers, args.seed, progress=sys.stderr.isatty())
    except (ProfileUnavailable, ValueError) as error:
        print(f"bot.profile {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    if report is None:
        print(f"the profile database already has customers; nothing changed: {url}")
    else:
        print(
            f"seeded {url}: {report.customers} customers, {report.accounts} accounts, {report.cards} cards, "
            f"{report.holdings} holdings, {report.transactions} transactions"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
