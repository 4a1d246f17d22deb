"""Connecting to the profile database (SQLite file by default, PostgreSQL by URL) and migrating it.

Every transaction goes through ``session_scope``: it commits everything or nothing, and turns any
database failure into ``ProfileUnavailable`` so callers handle one error type.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.profile.errors import ProfileUnavailable

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def create_engine(url: str) -> sa.engine.Engine:
    """An engine that enforces foreign keys on SQLite too (it ignores them unless asked per connection)."""
    engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        use_sqlite_safely_from_several_processes(engine, "PRAGMA foreign_keys = ON")
    return engine


def use_sqlite_safely_from_several_processes(engine: sa.engine.Engine, *pragmas: str) -> None:
    """Write-ahead logging on every connection to a SQLite file, plus ``pragmas``.

    The gateway, the action server and Rasa open the same files; in SQLite's default journal mode a
    writer blocks every reader and each commit costs several disk syncs, which stalls the event
    loops of the processes under load. With WAL, readers never wait for the writer, commits sync
    once, and a writer that finds the file busy waits up to 5 s instead of failing at once.
    """

    def on_connect(connection: sqlite3.Connection, _record: Any) -> None:
        cursor = connection.cursor()
        for pragma in ("PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 5000", *pragmas):
            cursor.execute(pragma)
        cursor.close()

    sa.event.listen(engine, "connect", on_connect)


def session_factory(url: str) -> sessionmaker:
    """Sessions whose loaded objects stay readable after commit (views are built after it)."""
    return sessionmaker(bind=create_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(sessions: sessionmaker) -> Iterator[Session]:
    """One transaction: committed if the block completes, rolled back if anything raises."""
    try:
        with sessions() as session, session.begin():
            yield session
    except SQLAlchemyError as error:
        raise ProfileUnavailable(f"profile database unavailable: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    """The driver's own message, without SQLAlchemy's SQL echo and documentation link."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def alembic_config(url: str) -> Config:
    """Alembic configured for ``url``; passed as an attribute because ini values interpolate ``%``."""
    return Config(ALEMBIC_INI, attributes={"url": url})


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (creating a SQLite file and its folder)."""
    location = sa.engine.make_url(url)
    try:
        if location.get_backend_name() == "sqlite" and location.database not in (None, "", ":memory:"):
            Path(location.database).parent.mkdir(parents=True, exist_ok=True)
        command.upgrade(alembic_config(url), "head")
    except (OSError, SQLAlchemyError) as error:
        raise ProfileUnavailable(f"cannot migrate the profile database: {_reason(error)}") from error
