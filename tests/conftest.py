"""Shared fixtures: the trained Rasa model (cached by content hash, bot.training), the knowledge base,
and a small demo bank (migrated and seeded once per session; every test gets its own copy of the file).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.db import session_factory
from bot.profile.models import AuditRecord, Customer, Holding, Product
from bot.profile.seed import seed_demo_bank
from bot.profile.service import ProfileService
from bot.settings import PROJECT_ROOT, load_settings
from bot.training import ensure_model
from knowledge_base.index import ensure_index
from knowledge_base.search import Retriever

TODAY = dt.date(2025, 6, 30)  # the demo bank's statements run up to the day before
SMALL_BANK = 30


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current data/config, trained once if the inputs changed."""
    return ensure_model()


@pytest.fixture(scope="session")
def kb_retriever() -> Retriever:
    """The shipped knowledge base, indexed into models/kb as `make run` does (rebuilt only if stale)."""
    settings = load_settings()
    ensure_index(settings.kb_articles_dir, settings.kb_index_dir, settings.kb_model_dir)
    return Retriever.load(settings.kb_index_dir, settings.kb_articles_dir)


@pytest.fixture(scope="session")
def seeded_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bank") / "profile.db"
    seed_demo_bank(f"sqlite:///{path}", customers=SMALL_BANK, today=TODAY)
    return path


@pytest.fixture
def db_url(seeded_bank: Path, tmp_path: Path) -> str:
    copy = tmp_path / "profile.db"
    shutil.copyfile(seeded_bank, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker]:
    factory = session_factory(db_url)
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def service(sessions: sessionmaker) -> ProfileService:
    return ProfileService(sessions)


def audit_log(sessions: sessionmaker) -> list[AuditRecord]:
    with sessions() as session:
        return list(session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))


def holding(sessions: sessionmaker, customer_no: str, code: str) -> Holding:
    """One customer's holding of one product, as stored."""
    with sessions() as session:
        query = (
            sa.select(Holding)
            .join(Customer, Holding.customer_id == Customer.id)
            .join(Product, Holding.product_id == Product.id)
            .where(Customer.customer_no == customer_no, Product.code == code)
        )
        return session.execute(query).scalar_one()
