"""The demo bank: size and shares, valid numbers, six months of history, determinism, idempotence."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from bot.identifiers import id_number_valid, luhn_valid
from bot.profile.db import session_factory
from bot.profile.models import (
    Advisor,
    Card,
    CardKind,
    CardStatus,
    Channel,
    ChannelBinding,
    Customer,
    Gender,
    Holding,
    Product,
    RiskLevel,
    Role,
    Skill,
    Tier,
    Transaction,
)
from bot.profile.seed import HISTORY_DAYS, seed_demo_bank
from tests.conftest import TODAY

FULL_BANK = 240


@pytest.fixture(scope="module")
def full_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path_factory.mktemp('full') / 'profile.db'}"
    report = seed_demo_bank(url, customers=FULL_BANK, today=TODAY)
    assert report is not None and report.customers == FULL_BANK
    sessions = session_factory(url)
    with sessions() as session:
        yield session
    sessions.kw["bind"].dispose()


def customers(session: Session) -> list[Customer]:
    query = sa.select(Customer).options(selectinload(Customer.cards), selectinload(Customer.holdings))
    return list(session.scalars(query))


def test_customers_spread_over_tiers_and_risk_levels(full_bank: Session) -> None:
    everyone = customers(full_bank)
    assert len(everyone) >= 200
    tiers = Counter(c.tier for c in everyone)
    assert tiers == {Tier.MASS: 168, Tier.VIP: 60, Tier.PRIVATE: 12}  # 70% / 25% / 5%
    assert set(Counter(c.risk_level for c in everyone)) == set(RiskLevel)
    private_risk = (
        sum(int(c.risk_level.value[1]) for c in everyone if c.tier is Tier.PRIVATE) / tiers[Tier.PRIVATE]
    )
    mass_risk = sum(int(c.risk_level.value[1]) for c in everyone if c.tier is Tier.MASS) / tiers[Tier.MASS]
    assert private_risk > mass_risk
    assert all(c.advisor_id is not None for c in everyone if c.tier is not Tier.MASS)


def test_every_card_passes_luhn_and_every_id_number_its_check_character(full_bank: Session) -> None:
    everyone = customers(full_bank)
    cards = [card for c in everyone for card in c.cards]
    assert cards and all(luhn_valid(card.number) and 16 <= len(card.number) <= 19 for card in cards)
    assert all(id_number_valid(c.id_number) for c in everyone)
    assert all((int(c.id_number[16]) % 2 == 1) == (c.gender is Gender.MALE) for c in everyone)
    for c in everyone:  # customers name a card by its last four digits
        assert len({card.number[-4:] for card in c.cards}) == len(c.cards)
    statuses = Counter(card.status for card in cards)
    assert statuses[CardStatus.FROZEN] > 0 and statuses[CardStatus.LOST] > 0
    assert all((card.kind is CardKind.CREDIT) == (card.credit_limit is not None) for card in cards)


def test_six_months_of_everyday_transactions(full_bank: Session) -> None:
    first, last, count = full_bank.execute(
        sa.select(sa.func.min(Transaction.occurred_at), sa.func.max(Transaction.occurred_at), sa.func.count())
    ).one()
    assert TODAY - dt.timedelta(days=HISTORY_DAYS + 1) <= first.date() and last.date() < TODAY
    assert count > FULL_BANK * 100
    counterparties = set(full_bank.scalars(sa.select(Transaction.counterparty).distinct()))
    assert {"美团外卖", "淘宝", "京东", "星海银行信用卡中心"} <= counterparties
    descriptions = set(full_bank.scalars(sa.select(Transaction.description).distinct()))
    assert {"工资", "电费", "水费", "燃气费", "手机银行转账", "跨行转入"} <= descriptions
    assert any(d.startswith("基金定投") for d in descriptions)


def test_holdings_suit_the_customers_risk_level(full_bank: Session) -> None:
    holdings = full_bank.execute(
        sa.select(Customer.risk_level, Product.risk).join(Holding.customer).join(Holding.product)
    )
    pairs = holdings.all()
    assert len(pairs) > FULL_BANK
    assert all(level.allows(risk) for level, risk in pairs)
    assert len(set(full_bank.scalars(sa.select(Product.risk)))) == 5


def test_staff_cover_every_role_and_skill(full_bank: Session) -> None:
    staff = list(full_bank.scalars(sa.select(Advisor)))
    assert len(staff) == 15
    assert {a.role for a in staff} == {Role.AGENT, Role.ADVISOR, Role.SUPERVISOR}
    assert set().union(*(a.skills for a in staff)) == set(Skill)


def test_the_demo_customers_are_as_documented(full_bank: Session) -> None:
    zhang = full_bank.scalars(sa.select(Customer).where(Customer.customer_no == "C000001")).one()
    assert (zhang.name, zhang.title, zhang.tier, zhang.risk_level) == ("张伟", "先生", Tier.VIP, RiskLevel.C3)
    assert zhang.advisor.staff_no == "XH2001"
    assert sorted(card.number[-4:] for card in zhang.cards) == ["1234", "5678"]
    bindings = full_bank.execute(
        sa.select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.customer_id == zhang.id
        )
    )
    assert set(bindings) == {(Channel.WEB, "demo-web-1"), (Channel.WECHAT, "demo-openid-1")}
    liu = full_bank.scalars(sa.select(Customer).where(Customer.customer_no == "C000003")).one()
    assert liu.tier is Tier.MASS
    assert {(c.number[-4:], c.status) for c in liu.cards} == {
        ("4321", CardStatus.FROZEN),
        ("8765", CardStatus.ACTIVE),
    }
    wang = full_bank.scalars(sa.select(Customer).where(Customer.customer_no == "C000002")).one()
    assert wang.tier is Tier.PRIVATE


def snapshot(url: str) -> list[tuple]:
    sessions = session_factory(url)
    try:
        with sessions() as session:
            people = session.execute(sa.select(Customer.customer_no, Customer.name, Customer.id_number)).all()
            cards = session.scalars(sa.select(Card.number).order_by(Card.id)).all()
            lines = session.execute(
                sa.select(Transaction.occurred_at, Transaction.amount, Transaction.counterparty).order_by(
                    Transaction.id
                )
            ).all()
            return [*people, tuple(cards), *lines]
    finally:
        sessions.kw["bind"].dispose()


def test_every_phone_is_one_customers_and_the_demo_phones_are_memorable(full_bank: Session) -> None:
    phones = dict(full_bank.execute(sa.select(Customer.customer_no, Customer.phone)).all())
    assert len(set(phones.values())) == len(phones)  # a phone number identifies one customer for verification
    assert [phones[f"C00000{i}"] for i in range(1, 5)] == [f"1390000000{i}" for i in range(1, 5)]
    assert all(re.fullmatch(r"1[3-9]\d{9}", phone) for phone in phones.values())


def test_the_same_seed_gives_the_same_bank(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db", "c.db")]
    for url, seed in zip(urls, (7, 7, 8), strict=True):
        seed_demo_bank(url, customers=12, seed=seed, today=TODAY)
    assert snapshot(urls[0]) == snapshot(urls[1])
    assert snapshot(urls[0]) != snapshot(urls[2])


def test_seeding_a_seeded_database_changes_nothing(db_url: str) -> None:
    before = snapshot(db_url)
    assert seed_demo_bank(db_url, customers=50, seed=8, today=TODAY) is None
    assert snapshot(db_url) == before


def test_too_few_customers_for_the_demo_set_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 4"):
        seed_demo_bank(f"sqlite:///{tmp_path / 'x.db'}", customers=3)
