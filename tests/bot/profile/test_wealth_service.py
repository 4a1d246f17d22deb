"""Redemption, suitability and the assigned advisor in the profile service, on the seeded demo bank."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.profile.access import Actor
from bot.profile.errors import AccessDenied, InsufficientHolding, NotFound
from bot.profile.models import Customer, PlanStatus, Product, RiskLevel, Role
from bot.profile.service import ProfileService
from tests.conftest import audit_log, holding
from tests.helpers import at_once

ZHANG, WANG, LIU, CHEN = "C000001", "C000002", "C000003", "C000004"
PURPOSE = "测试赎回"
AGENT = Actor("XH1001", Role.AGENT)


def bot_for(customer_no: str) -> Actor:
    return Actor("assistant", Role.BOT, serving=customer_no)


def test_a_partial_redemption_sells_units_in_proportion_and_is_audited(service, sessions) -> None:
    before = holding(sessions, ZHANG, "970033")
    view = service.redeem(bot_for(ZHANG), ZHANG, "970033", Decimal("5000"), purpose=PURPOSE)
    after = holding(sessions, ZHANG, "970033")
    assert re.fullmatch(r"SH\d{16}", view.reference)
    assert (view.product_name, view.amount, view.settlement) == (
        "星海红利低波指数A",
        5000,
        "T+1确认，赎回T+2到账",
    )
    assert after.amount == before.amount - 5000 == view.remaining
    expected_units = (before.units * after.amount / before.amount).quantize(Decimal("0.01"))
    assert abs(after.units - expected_units) <= Decimal("0.01")
    [record] = [r for r in audit_log(sessions) if r.operation == "redeem"]
    assert (record.outcome.value, record.action.value, record.reference) == ("ok", "write", view.reference)
    assert record.fields == ["holding.units", "holding.amount"] and record.purpose == PURPOSE


def test_redeeming_everything_empties_the_holding_but_keeps_its_plan(service, sessions) -> None:
    before = holding(sessions, ZHANG, "970033")
    view = service.redeem(bot_for(ZHANG), ZHANG, "970033", before.amount, purpose=PURPOSE)
    after = holding(sessions, ZHANG, "970033")
    assert (after.amount, after.units, view.remaining) == (0, 0, 0)
    assert (after.plan_status, after.plan_amount, after.plan_day) == (PlanStatus.ACTIVE, 1000, 18)
    with pytest.raises(NotFound):  # nothing left to sell
        service.redeem(bot_for(ZHANG), ZHANG, "970033", Decimal("1"), purpose=PURPOSE)


def test_more_than_held_is_refused_with_the_amount_held(service, sessions) -> None:
    before = holding(sessions, LIU, "970001")
    with pytest.raises(InsufficientHolding) as refused:
        service.redeem(bot_for(LIU), LIU, "970001", before.amount + Decimal("0.01"), purpose=PURPOSE)
    assert refused.value.held == before.amount
    after = holding(sessions, LIU, "970001")
    assert (after.amount, after.units) == (before.amount, before.units)
    [record] = [r for r in audit_log(sessions) if r.operation == "redeem"]
    assert (record.outcome.value, record.reference) == ("rejected", None)


@pytest.mark.parametrize("amount", ["0", "-100", "10.001"])
def test_amounts_that_are_not_positive_cents_change_nothing(service, sessions, amount: str) -> None:
    before = holding(sessions, LIU, "970001")
    with pytest.raises(ValueError):
        service.redeem(bot_for(LIU), LIU, "970001", Decimal(amount), purpose=PURPOSE)
    assert holding(sessions, LIU, "970001").amount == before.amount
    assert not [r for r in audit_log(sessions) if r.operation == "redeem"]


def test_a_product_not_held_is_not_found(service, sessions) -> None:
    with pytest.raises(NotFound):
        service.redeem(bot_for(LIU), LIU, "970033", Decimal("100"), purpose=PURPOSE)
    [record] = [r for r in audit_log(sessions) if r.operation == "redeem"]
    assert record.outcome.value == "not_found"


def test_two_redemptions_cannot_sell_more_than_is_held(service, sessions) -> None:
    held = holding(sessions, LIU, "970001").amount
    part = (held * Decimal("0.6")).quantize(Decimal("0.01"))
    service.redeem(bot_for(LIU), LIU, "970001", part, purpose=PURPOSE)
    with pytest.raises(InsufficientHolding) as refused:
        service.redeem(bot_for(LIU), LIU, "970001", part, purpose=PURPOSE)
    assert refused.value.held == held - part == holding(sessions, LIU, "970001").amount


def test_simultaneous_redemptions_never_oversell(db_url, sessions) -> None:
    """Two processes' worth of requests at once: at most one of two 60% redemptions goes through."""
    held = holding(sessions, LIU, "970001").amount
    part = (held * Decimal("0.6")).quantize(Decimal("0.01"))

    def redeem() -> str:
        ProfileService(sessions).redeem(bot_for(LIU), LIU, "970001", part, purpose=PURPOSE)
        return "sold"

    outcomes = at_once(redeem, redeem)
    sold = outcomes.count("sold")
    assert sold <= 1 and holding(sessions, LIU, "970001").amount == held - sold * part


def test_the_assistant_cannot_redeem_for_another_customer(service, sessions) -> None:
    before = holding(sessions, ZHANG, "970001")
    with pytest.raises(AccessDenied):
        service.redeem(bot_for(LIU), ZHANG, "970001", Decimal("100"), purpose=PURPOSE)
    assert holding(sessions, ZHANG, "970001").amount == before.amount


@pytest.mark.parametrize("customer_no", [ZHANG, WANG, LIU, CHEN, "C000023", "C000026"])
def test_suitability_splits_the_catalogue_at_the_customers_level(service, sessions, customer_no) -> None:
    found = service.suitable_products(bot_for(customer_no), customer_no, purpose=PURPOSE)
    with sessions() as session:
        customer = session.scalar(sa.select(Customer).where(Customer.customer_no == customer_no))
        risks = dict(session.execute(sa.select(Product.code, Product.risk)).all())
        held = {h.product.code for h in customer.holdings}
        assert found.risk_level is customer.risk_level and found.tier is customer.tier
    assert all(found.risk_level.allows(risks[p.code]) for p in found.allowed)
    assert not any(found.risk_level.allows(risks[p.code]) for p in found.above_level)
    assert {p.code for p in found.allowed + found.above_level} == set(risks)
    assert set(found.held) == held
    [record] = [r for r in audit_log(sessions) if r.operation == "suitable_products"]
    assert record.outcome.value == "ok" and "risk_level" in record.fields


def test_a_conservative_customer_is_allowed_only_low_risk_products(service) -> None:
    found = service.suitable_products(bot_for(CHEN), CHEN, purpose=PURPOSE)
    assert found.risk_level is RiskLevel.C1 and {p.risk.value for p in found.allowed} == {"R1"}


def test_front_desk_staff_may_not_see_suitability(service) -> None:
    with pytest.raises(AccessDenied):
        service.suitable_products(AGENT, ZHANG, purpose=PURPOSE)


def test_the_assigned_advisor_by_name(service) -> None:
    assert service.assigned_advisor(bot_for(ZHANG), ZHANG, purpose=PURPOSE) == "李娜"
    assert service.assigned_advisor(bot_for(LIU), LIU, purpose=PURPOSE) is None
