"""The profile store on PostgreSQL (``PROFILE_DB=postgresql://…``): migrations, seed, service, audit."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bot.profile.access import Actor
from bot.profile.db import alembic_config, session_factory
from bot.profile.errors import CardAlreadyFrozen
from bot.profile.models import AuditRecord, Card, CardStatus, Customer, Role
from bot.profile.seed import seed_demo_bank
from bot.profile.service import ProfileService
from tests.conftest import SMALL_BANK, TODAY
from tests.services import running_postgres


@pytest.fixture(scope="module")
def postgres_bank() -> Iterator[str]:
    with running_postgres() as server:
        url = server.url("profile")
        report = seed_demo_bank(url, customers=SMALL_BANK, today=TODAY)
        assert report is not None
        yield url


def test_the_demo_bank_seeds_and_reads_the_same_on_postgresql(postgres_bank: str) -> None:
    service = ProfileService(session_factory(postgres_bank))
    actor = Actor("assistant", Role.BOT, serving="C000001")
    summary = service.customer_summary(actor, "C000001", purpose="测试")
    assert (summary.name, summary.tier.value) == ("张伟", "vip")
    assert [c.masked_number[-4:] for c in service.cards(actor, "C000001", purpose="测试")][:2] == [
        "1234",
        "5678",
    ]
    with session_factory(postgres_bank)() as session:
        assert session.scalar(sa.select(sa.func.count(Customer.id))) == SMALL_BANK
    assert seed_demo_bank(postgres_bank, customers=SMALL_BANK) is None  # seeding twice changes nothing


def test_two_simultaneous_freezes_change_the_card_once_and_both_are_audited(postgres_bank: str) -> None:
    service = ProfileService(session_factory(postgres_bank))
    actor = Actor("assistant", Role.BOT, serving="C000001")

    def freeze() -> str:
        try:
            return service.freeze_card(actor, "C000001", "5678", purpose="测试并发冻结")
        except CardAlreadyFrozen:
            return "already"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: freeze(), range(4)))
    assert sorted(r == "already" for r in results) == [False, True, True, True]
    with session_factory(postgres_bank)() as session:
        card = session.scalar(sa.select(Card).where(Card.number.endswith("5678")))
        assert card.status is CardStatus.FROZEN
        outcomes = session.scalars(
            sa.select(AuditRecord.outcome).where(AuditRecord.purpose == "测试并发冻结")
        ).all()
    assert sorted(o.value for o in outcomes) == ["ok", "rejected", "rejected", "rejected"]


def test_the_database_is_at_the_newest_migration(postgres_bank: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(postgres_bank)).get_current_head()
    with sa.create_engine(postgres_bank).connect() as connection:
        versions = connection.execute(sa.text("select version_num from alembic_version")).scalars().all()
    assert versions == [head]
