import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.db import session_factory, session_scope, upgrade
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Account, AccountKind, AccountStatus, Customer


def new_account(customer_id: int) -> Account:
    return Account(
        number="3108000000000000001",
        customer_id=customer_id,
        kind=AccountKind.CURRENT,
        currency="CNY",
        balance=Decimal("1.00"),
        status=AccountStatus.ACTIVE,
        opened_at=dt.datetime.now(dt.timezone.utc),
    )


def account_count(sessions: sessionmaker) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Account))


def test_sqlite_enforces_foreign_keys(sessions: sessionmaker) -> None:
    before = account_count(sessions)
    with pytest.raises(ProfileUnavailable, match="FOREIGN KEY"), session_scope(sessions) as session:
        session.add(new_account(customer_id=999_999))
    assert account_count(sessions) == before


def test_a_failing_block_commits_nothing(sessions: sessionmaker) -> None:
    before = account_count(sessions)
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        session.add(new_account(session.scalar(sa.select(Customer.id).limit(1))))
        session.flush()
        raise RuntimeError("something after the insert went wrong")
    assert account_count(sessions) == before


def test_an_unreachable_database_is_profile_unavailable(tmp_path: Path) -> None:
    sessions = session_factory(f"sqlite:///{tmp_path / 'missing-dir' / 'profile.db'}")
    with (
        pytest.raises(ProfileUnavailable, match="unable to open database file"),
        session_scope(sessions) as s,
    ):
        s.scalar(sa.select(Customer.id))


def test_upgrade_creates_the_sqlite_folder_and_reports_what_it_cannot_create(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'new' / 'profile.db'}")
    assert (tmp_path / "new" / "profile.db").is_file()
    (tmp_path / "blocker").write_text("a file where the folder should be")
    with pytest.raises(ProfileUnavailable, match="cannot migrate"):
        upgrade(f"sqlite:///{tmp_path / 'blocker' / 'profile.db'}")
