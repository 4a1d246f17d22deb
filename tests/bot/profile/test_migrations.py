"""The Alembic revisions build exactly the schema the models declare, and can be undone."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.profile.db import alembic_config, create_engine, upgrade
from bot.profile.models import Base


def schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    upgrade(url)
    upgrade(url)  # already at head: nothing to do
    assert schema_differences(url) == []


def test_downgrade_removes_everything_and_upgrade_restores_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    assert table_names(url) == {"alembic_version"}
    upgrade(url)
    assert table_names(url) == set(Base.metadata.tables) | {"alembic_version"}
