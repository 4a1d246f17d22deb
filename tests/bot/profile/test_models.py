import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.models import Account, ProductRisk, RiskLevel, Ticket, Tier, Transaction


def test_codes_are_stored_and_labels_are_chinese(sessions: sessionmaker) -> None:
    assert Tier("vip") is Tier.VIP and Tier.VIP.label == "贵宾"
    with sessions() as session:
        raw = session.execute(sa.text("SELECT DISTINCT tier FROM customers ORDER BY tier")).scalars().all()
    assert raw == ["mass", "private", "vip"]


def test_money_is_exact_decimal_and_times_are_aware_utc(sessions: sessionmaker) -> None:
    with sessions() as session:
        row = session.scalars(sa.select(Transaction).limit(1)).one()
        balances = session.scalars(sa.select(Account.balance)).all()
    assert row.occurred_at.tzinfo == dt.timezone.utc
    assert isinstance(row.amount, Decimal) and row.amount == row.amount.quantize(Decimal("0.01"))
    assert all(isinstance(b, Decimal) and b.as_tuple().exponent == -2 for b in balances)


def test_other_time_zones_are_converted_and_naive_times_refused(sessions: sessionmaker) -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    with sessions() as session:
        ticket = session.scalars(sa.select(Ticket).limit(1)).one()
        ticket.respond_by = dt.datetime(2025, 6, 1, 9, 0, tzinfo=beijing)
        session.commit()
        session.expire_all()
        assert ticket.respond_by == dt.datetime(2025, 6, 1, 1, 0, tzinfo=dt.timezone.utc)
        ticket.respond_by = dt.datetime(2025, 6, 1, 9, 0)
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            session.commit()


def test_risk_levels_allow_products_up_to_their_number() -> None:
    assert RiskLevel.C3.allows(ProductRisk.R3) and RiskLevel.C3.allows(ProductRisk.R1)
    assert not RiskLevel.C3.allows(ProductRisk.R4)
