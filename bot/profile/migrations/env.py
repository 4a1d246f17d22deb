"""Alembic environment of the profile database: the URL comes from the caller, ``-x url=…`` or settings."""

from __future__ import annotations

from alembic import context

import bot.analytics.models
import bot.handoff.models
import bot.inbound
import bot.wechat.store  # noqa: F401
from bot.profile.db import create_engine
from bot.profile.models import Base
from bot.settings import load_settings


def database_url() -> str:
    given = context.config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return given or load_settings().profile_db


def run_migrations() -> None:
    """Online only: batch mode lets the same revisions alter tables on SQLite, which lacks most ALTERs."""
    engine = create_engine(database_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
