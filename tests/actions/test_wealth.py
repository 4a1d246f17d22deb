"""Redemption, fixed-investment plans and product suggestions against the seeded demo bank.

张伟 (C000001, 贵宾, C3, advisor 李娜) holds 星海货币A, 星海季季盈, 星海红利低波指数A (plan active, 18th,
1,000 元) and 星海均衡配置混合 (plan paused); 刘洋 (C000003, 大众, C2, no advisor) holds only 星海货币A;
陈静 (C000004, C1) holds nothing; C000015 holds two money-market funds.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.config import message, messages
from actions.services import KnowledgeBase
from actions.wealth import (
    ActionAskPlanConfirmed,
    ActionAskPlanProduct,
    ActionAskRedeemAmount,
    ActionAskRedeemConfirmed,
    ActionAskRedeemProduct,
    ActionSubmitFixedInvestment,
    ActionSubmitRedemption,
    ActionWealthInquiry,
    ValidateFixedInvestmentForm,
    ValidateRedemptionForm,
    best_named,
    held_name,
    plan_operation_of,
    redemption_amount,
)
from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.models import Customer, Holding, PlanStatus, Product, ProductRisk, RiskLevel, Role
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log, holding

ZHANG, WANG, LIU, CHEN, TWO_MONEY_FUNDS = "C000001", "C000002", "C000003", "C000004", "C000015"
NO_KNOWLEDGE_BASE = KnowledgeBase(None, "not loaded in this test")


def latest(text: str, intent: str, customer: str | None, entities: list[dict[str, Any]]) -> dict[str, Any]:
    metadata = {"customer_no": customer} if customer else {}
    return {"text": text, "intent": {"name": intent}, "entities": entities, "metadata": metadata}


def run(action: Action, domain, tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return events, dispatcher.messages


def form_turn(
    action: Action,
    domain,
    text: str,
    *,
    customer: str | None = ZHANG,
    answered: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One validation as Rasa runs it: the form starting (nothing ``answered``) or an answer to a question.

    Returns the slots the validation set and what it said.
    """
    answered = answered or {}
    requested = next(iter(answered), None)
    all_slots = {**(slots or {}), **answered, "requested_slot": requested}
    tracker = make_tracker(
        slots=all_slots,
        latest_message=latest(text, intent, customer, entities or []),
        events=[{"event": "slot", "name": k, "value": v} for k, v in answered.items()],
    )
    events, said = run(action, domain, tracker)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, [m["text"] for m in said]


def ask(action: Action, domain, slots: dict[str, Any], customer: str | None = ZHANG) -> dict[str, Any]:
    tracker = make_tracker(slots=slots, latest_message=latest("", "inform", customer, []))
    _, [said] = run(action, domain, tracker)
    return said


def submit(action: Action, domain, slots: dict[str, Any], customer: str | None = ZHANG) -> str | None:
    tracker = make_tracker(slots=slots, latest_message=latest("确认", "affirm", customer, []))
    events, said = run(action, domain, tracker)
    assert all(e["value"] is None for e in events)  # the form starts clean next time
    return said[0]["text"] if said else None


def operations(sessions, name: str) -> list:
    return [r for r in audit_log(sessions) if r.operation == name]


def money(value: Decimal) -> str:
    return f"{value:,.2f} 元"


# -- understanding the customer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("五千", "5000"),
        ("1.5万", "15000"),
        ("两百块", "200"),
        ("两千五百元", "2500"),
        ("赎回沪深300的三千", "3000"),  # the 300 of the name is not the amount
        ("全部赎回", "20000.00"),
        ("都赎回了吧", "20000.00"),
        ("卖掉一半", "10000.00"),
        ("-100", "-100"),
        ("不知道", None),
    ],
)
def test_redemption_amounts_as_customers_write_them(text: str, expected: str | None) -> None:
    amount = redemption_amount(text, Decimal("20000.00"), "星海沪深300指数A")
    assert amount == (Decimal(expected) if expected else None)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("那个货币基金", {"970001"}),
        ("红利低波", {"970033"}),
        ("星海季季盈（90天）", {"XHLC0002"}),
        ("970021", {"970021"}),
        ("混合的那只", {"970021"}),
        ("沪深300", set()),
        ("赎回", set()),
    ],
)
def test_products_are_found_among_the_holdings_by_the_names_customers_use(service, text, codes) -> None:
    found = service.holdings(Actor("assistant", Role.BOT, serving=ZHANG), ZHANG, purpose="测试")
    assert {h.product_code for h in best_named(text, found.holdings, held_name)} == codes


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        ("暂停定投", "pause"),
        ("红利低波那个定投先停一下", "pause"),
        ("停止定投", "pause"),
        ("恢复定投", "resume"),
        ("定投重新开始扣款吧", "resume"),
        ("定投怎么开通", None),
        ("定投暂停后还能重新开吗", None),  # a question about both
    ],
)
def test_pause_or_resume_from_the_words(text: str, operation: str | None) -> None:
    assert plan_operation_of(text) == operation


# -- redemption ---------------------------------------------------------------------------------------


def test_the_starting_message_fills_product_and_amount(service, domain) -> None:
    form = ValidateRedemptionForm(lambda: service)
    amount = [{"entity": "amount", "value": "五千"}]
    slots, said = form_turn(
        form, domain, "我想赎回那个货币基金 五千", intent="fund_redemption", entities=amount
    )
    assert slots["redeem_product"] == "970001" and slots["redeem_amount"] == "5000.00"
    assert slots["redeem_confirmed"] is None and said == []


def test_the_300_of_a_product_name_is_not_taken_for_an_amount(service, domain, sessions) -> None:
    with sessions() as session:  # 张伟 buys into 沪深300 for this test
        customer = session.scalar(sa.select(Customer).where(Customer.customer_no == ZHANG))
        index = session.scalar(sa.select(Product).where(Product.code == "970031"))
        session.add(Holding(customer=customer, product=index, units=Decimal(1000), amount=Decimal(3000)))
        session.commit()
    form = ValidateRedemptionForm(lambda: service)
    tagged = [{"entity": "amount", "value": "300"}]
    slots, said = form_turn(form, domain, "赎回沪深300", intent="fund_redemption", entities=tagged)
    assert (slots["redeem_product"], slots["redeem_amount"], said) == ("970031", None, [])


def test_a_plain_request_asks_which_holding_with_buttons(service, domain) -> None:
    slots, said = form_turn(ValidateRedemptionForm(lambda: service), domain, "赎回", intent="fund_redemption")
    assert slots["redeem_product"] is None and slots["redeem_amount"] is None and said == []
    question = ask(ActionAskRedeemProduct(lambda: service), domain, {})
    assert "星海货币A" in question["text"] and "星海均衡配置混合" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == [
        f'/inform{{"product": "{code}"}}' for code in ("970001", "XHLC0002", "970033", "970021")
    ]


def test_a_product_not_held_is_named_and_the_holdings_listed_again(service, domain) -> None:
    slots, said = form_turn(
        ValidateRedemptionForm(lambda: service), domain, "沪深300", answered={"redeem_product": "沪深300"}
    )
    assert slots["redeem_product"] is None
    assert said == [message("wealth", "product_not_held", text="沪深300")]


def test_a_product_named_in_the_request_but_not_held_is_said_so(service, domain) -> None:
    named = [{"entity": "product", "value": "易方达蓝筹精选"}]
    slots, said = form_turn(
        ValidateRedemptionForm(lambda: service),
        domain,
        "赎回易方达蓝筹精选",
        intent="fund_redemption",
        entities=named,
    )
    assert slots["redeem_product"] is None
    assert said == [message("wealth", "product_not_held", text="易方达蓝筹精选")]


def test_several_matching_holdings_are_not_guessed(service, domain) -> None:
    slots, said = form_turn(
        ValidateRedemptionForm(lambda: service),
        domain,
        "货币基金",
        customer=TWO_MONEY_FUNDS,
        answered={"redeem_product": "货币基金"},
    )
    assert slots["redeem_product"] is None
    assert said == [message("wealth", "product_ambiguous", count=2, text="货币基金")]
    question = ask(ActionAskRedeemProduct(lambda: service), domain, {}, customer=TWO_MONEY_FUNDS)
    assert len(question["buttons"]) == 2


def test_the_only_holding_is_proposed_and_a_yes_takes_it(service, domain) -> None:
    question = ask(ActionAskRedeemProduct(lambda: service), domain, {}, customer=LIU)
    assert "星海货币A" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == ['/inform{"product": "970001"}']
    slots, said = form_turn(
        ValidateRedemptionForm(lambda: service),
        domain,
        "是的",
        customer=LIU,
        intent="affirm",
        answered={"redeem_product": "是的"},
    )
    assert slots["redeem_product"] == "970001" and said == []


def test_nothing_to_redeem_ends_the_form_at_once(service, domain) -> None:
    form = ValidateRedemptionForm(lambda: service)
    slots, said = form_turn(form, domain, "赎回基金", customer=CHEN, intent="fund_redemption")
    assert slots["requested_slot"] is None and slots["redeem_product"] is None
    assert said == [message("wealth", "no_holdings")]
    assert submit(ActionSubmitRedemption(lambda: service), domain, {}, customer=CHEN) is None


@pytest.mark.parametrize(
    ("text", "expected", "complaint"),
    [
        ("两千五", "2500.00", None),
        ("1.5万", "15000.00", None),
        ("全部", "20989.42", None),
        ("0元", None, "amount_not_positive"),
        ("-100", None, "amount_not_positive"),
        ("3万", None, "amount_over_holding"),
        ("100.005", None, "amount_fraction"),
        ("999999999999999999999999999999999", None, "amount_over_holding"),
        ("还没想好", None, "amount_unparsed"),
    ],
)
def test_amounts_are_checked_against_the_holding(service, domain, text, expected, complaint) -> None:
    slots, said = form_turn(
        ValidateRedemptionForm(lambda: service),
        domain,
        text,
        customer=LIU,
        slots={"redeem_product": "970001"},
        answered={"redeem_amount": text},
    )
    assert slots["redeem_amount"] == expected
    if complaint is None:
        assert said == []
    else:
        held = {"product": "星海货币A", "value": "20,989.42 元"}
        assert said == [message("wealth", complaint, **(held if complaint == "amount_over_holding" else {}))]


def test_the_amount_question_says_what_is_held(service, domain) -> None:
    question = ask(ActionAskRedeemAmount(lambda: service), domain, {"redeem_product": "970001"}, customer=LIU)
    assert "星海货币A目前持有市值 20,989.42 元" in question["text"]
    assert question["buttons"][0]["payload"] == "全部赎回"


def test_a_small_redemption_is_confirmed_with_its_settlement_rule(service, domain) -> None:
    slots = {"redeem_product": "970021", "redeem_amount": "1000.00"}
    question = ask(ActionAskRedeemConfirmed(lambda: service), domain, slots)
    assert "赎回星海均衡配置混合 1,000.00 元" in question["text"]
    assert "T+1确认，赎回T+3到账" in question["text"] and "大额赎回" not in question["text"]
    assert [b["payload"] for b in question["buttons"]] == ["/affirm", "/deny"]


def test_a_large_redemption_warns_and_offers_the_assigned_advisor(service, domain) -> None:
    slots = {"redeem_product": "970021", "redeem_amount": "497889.44"}  # about 44% of 张伟's holdings
    question = ask(ActionAskRedeemConfirmed(lambda: service), domain, slots)
    assert "T+1确认，赎回T+3到账" in question["text"]
    assert "大额赎回可能影响您的资产配置" in question["text"] and "44%" in question["text"]
    assert "您的专属客户经理李娜" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == [
        "/affirm",
        "/deny",
        '/request_human{"handoff_reason": "large_redemption"}',  # a wealth advisor now (P2)
        "/book_appointment",
    ]


def test_a_large_redemption_without_an_assigned_advisor_offers_one(service, domain) -> None:
    slots = {"redeem_product": "970001", "redeem_amount": "5000.00"}  # 星海货币A is all 刘洋 holds
    question = ask(ActionAskRedeemConfirmed(lambda: service), domain, slots, customer=LIU)
    assert (
        "大额赎回" in question["text"] and "理财经理" in question["text"] and "专属" not in question["text"]
    )
    assert "T+0快速赎回，普通赎回T+1到账" in question["text"]
    assert question["buttons"][-1]["payload"] == "/book_appointment"


def test_a_confirmed_redemption_moves_the_holding_and_is_audited(service, domain, sessions) -> None:
    before = holding(sessions, ZHANG, "970033")
    slots = {"redeem_product": "970033", "redeem_amount": "2500.00", "redeem_confirmed": True}
    text = submit(ActionSubmitRedemption(lambda: service), domain, slots)
    reference = re.search(r"业务编号 (SH\d{16})", text).group(1)
    assert text.startswith("张先生") and "星海红利低波指数A 2,500.00 元" in text
    assert "T+1确认，赎回T+2到账" in text and money(before.amount - 2500) in text
    after = holding(sessions, ZHANG, "970033")
    assert after.amount == before.amount - 2500 and after.units < before.units
    [record] = operations(sessions, "redeem")
    assert (record.outcome.value, record.reference, record.purpose) == (
        "ok",
        reference,
        "客户赎回基金或理财产品",
    )


def test_redeeming_everything_leaves_nothing_held(service, domain, sessions) -> None:
    slots, _ = form_turn(
        ValidateRedemptionForm(lambda: service),
        domain,
        "全部赎回",
        customer=LIU,
        slots={"redeem_product": "970001"},
        answered={"redeem_amount": "全部赎回"},
    )
    confirmed = {
        "redeem_product": "970001",
        "redeem_amount": slots["redeem_amount"],
        "redeem_confirmed": True,
    }
    text = submit(ActionSubmitRedemption(lambda: service), domain, confirmed, customer=LIU)
    assert "20,989.42 元" in text and "剩余持有市值 0.00 元" in text
    after = holding(sessions, LIU, "970001")
    assert (after.amount, after.units) == (0, 0)
    slots, said = form_turn(ValidateRedemptionForm(lambda: service), domain, "赎回", customer=LIU)
    assert said == [message("wealth", "no_holdings")]


def test_a_declined_redemption_changes_nothing(service, domain, sessions) -> None:
    before = holding(sessions, ZHANG, "970001")
    slots = {"redeem_product": "970001", "redeem_amount": "1000.00", "redeem_confirmed": False}
    assert submit(ActionSubmitRedemption(lambda: service), domain, slots) == message(
        "wealth", "redemption_cancelled"
    )
    assert holding(sessions, ZHANG, "970001").amount == before.amount
    assert not operations(sessions, "redeem")


def test_a_holding_sold_meanwhile_is_not_oversold(service, domain, sessions) -> None:
    held = holding(sessions, LIU, "970001").amount
    slots = {"redeem_product": "970001", "redeem_amount": "15000.00", "redeem_confirmed": True}
    submit(ActionSubmitRedemption(lambda: service), domain, slots, customer=LIU)
    text = submit(ActionSubmitRedemption(lambda: service), domain, slots, customer=LIU)
    assert text == message("wealth", "redemption_stale", value=money(held - 15000), amount="15,000.00 元")
    assert holding(sessions, LIU, "970001").amount == held - 15000


def test_an_unverified_customer_gets_no_profile_access(service, domain, sessions) -> None:
    form = ValidateRedemptionForm(lambda: service)
    slots, said = form_turn(form, domain, "赎回货币基金", customer=None, intent="fund_redemption")
    assert said == [message("accounts", "verify_first")] and slots["requested_slot"] is None
    question = ask(ActionAskRedeemProduct(lambda: service), domain, {}, customer=None)
    assert question["text"] == message("accounts", "verify_first")
    confirmed = {"redeem_product": "970001", "redeem_amount": "100.00", "redeem_confirmed": True}
    assert submit(ActionSubmitRedemption(lambda: service), domain, confirmed, customer=None) == message(
        "accounts", "verify_first"
    )
    assert audit_log(sessions) == []


def test_an_unreachable_store_apologises(tmp_path, domain) -> None:
    broken = ProfileService(session_factory(f"sqlite:///{tmp_path / 'missing' / 'profile.db'}"))
    slots, said = form_turn(ValidateRedemptionForm(lambda: broken), domain, "赎回", intent="fund_redemption")
    assert said == [message("accounts", "unavailable")] and slots["requested_slot"] is None


# -- fixed-investment plans ----------------------------------------------------------------------------


def plan_status(sessions, customer_no: str, code: str) -> PlanStatus:
    return holding(sessions, customer_no, code).plan_status


def test_pausing_a_plan_named_in_the_first_message(service, domain, sessions) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        "把红利低波的定投先停一下",
        intent="fixed_investment",
    )
    assert (slots["plan_product"], slots["plan_operation"], said) == ("970033", "pause", [])
    chosen = {"plan_product": "970033", "plan_operation": "pause"}
    question = ask(ActionAskPlanConfirmed(lambda: service), domain, chosen)
    assert "暂停星海红利低波指数A的定投计划（每月18日扣款 1,000.00 元）" in question["text"]
    text = submit(ActionSubmitFixedInvestment(lambda: service), domain, {**chosen, "plan_confirmed": True})
    assert text.startswith("张先生") and re.search(r"业务编号 DT\d{16}", text)
    assert plan_status(sessions, ZHANG, "970033") is PlanStatus.PAUSED
    [record] = operations(sessions, "set_fixed_investment_status")
    assert record.outcome.value == "ok" and record.reference in text
    again = submit(ActionSubmitFixedInvestment(lambda: service), domain, {**chosen, "plan_confirmed": True})
    assert again == message(
        "wealth",
        "already_paused",
        product="星海红利低波指数A",
        day=18,
        amount="1,000.00 元",
        status="正常扣款",
    )
    assert plan_status(sessions, ZHANG, "970033") is PlanStatus.PAUSED


def test_a_plan_already_paused_is_said_so_before_asking(service, domain, sessions) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        "均衡配置混合的定投暂停",
        intent="fixed_investment",
    )
    assert slots["requested_slot"] is None and slots["plan_product"] is None
    assert len(said) == 1 and "已经是暂停状态" in said[0] and "星海均衡配置混合" in said[0]
    assert not operations(sessions, "set_fixed_investment_status")


def test_resuming_a_paused_plan(service, domain, sessions) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service), domain, "恢复定投", intent="fixed_investment"
    )
    assert (slots["plan_product"], slots["plan_operation"], said) == (None, "resume", [])
    question = ask(ActionAskPlanProduct(lambda: service), domain, {"plan_operation": "resume"})
    assert "星海红利低波指数A" in question["text"] and "星海均衡配置混合" in question["text"]
    assert len(question["buttons"]) == 2
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        '/inform{"product": "970021"}',
        slots={"plan_operation": "resume"},
        answered={"plan_product": "970021"},
    )
    assert slots["plan_product"] == "970021" and said == []
    chosen = {"plan_product": "970021", "plan_operation": "resume", "plan_confirmed": True}
    text = submit(ActionSubmitFixedInvestment(lambda: service), domain, chosen)
    assert "已为您恢复星海均衡配置混合的定投计划" in text and "每月2日扣款 5,000.00 元" in text
    assert plan_status(sessions, ZHANG, "970021") is PlanStatus.ACTIVE


def test_choosing_a_plan_already_in_the_asked_state_ends_the_form(service, domain) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        "红利低波",
        slots={"plan_operation": "resume"},
        answered={"plan_product": "红利低波"},
    )
    assert slots["requested_slot"] is None and slots["plan_product"] is None
    assert said == [
        message("wealth", "already_active", product="星海红利低波指数A", day=18, amount="1,000.00 元")
    ]


def test_a_holding_without_a_plan_is_explained(service, domain) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        "货币A",
        slots={"plan_operation": "pause"},
        answered={"plan_product": "货币A"},
    )
    assert slots["plan_product"] is None
    assert said == [message("wealth", "no_plan_on_holding", product="星海货币A")]


def test_a_customer_without_plans_is_told_so(service, domain, sessions) -> None:
    slots, said = form_turn(
        ValidateFixedInvestmentForm(lambda: service),
        domain,
        "暂停定投",
        customer=LIU,
        intent="fixed_investment",
    )
    assert said == [message("wealth", "no_plans")] and slots["requested_slot"] is None


def test_a_declined_plan_change_changes_nothing(service, domain, sessions) -> None:
    chosen = {"plan_product": "970033", "plan_operation": "pause", "plan_confirmed": False}
    text = submit(ActionSubmitFixedInvestment(lambda: service), domain, chosen)
    assert text == message("wealth", "plan_cancelled")
    assert plan_status(sessions, ZHANG, "970033") is PlanStatus.ACTIVE


# -- products within the risk level -----------------------------------------------------------------


def inquiry(service, text: str, customer: str | None, entities: list | None = None) -> dict[str, Any]:
    tracker = make_tracker(latest_message=latest(text, "wealth_product_inquiry", customer, entities or []))
    _, said = run(ActionWealthInquiry(lambda: service, lambda: NO_KNOWLEDGE_BASE), {}, tracker)
    return {
        "text": "\n".join(m["text"] for m in said),
        "buttons": [b for m in said for b in m.get("buttons") or []],
    }


def catalogue(sessions) -> dict[str, ProductRisk]:
    """Product name → its risk, as the database has it."""
    with sessions() as session:
        return {p.name: p.risk for p in session.scalars(sa.select(Product))}


def risk_level(sessions, customer_no: str) -> RiskLevel:
    with sessions() as session:
        return session.scalar(sa.select(Customer.risk_level).where(Customer.customer_no == customer_no))


@pytest.mark.parametrize("customer_no", [ZHANG, WANG, LIU, CHEN, "C000023", "C000028"])
def test_suggestions_are_never_above_the_customers_level(service, sessions, customer_no) -> None:
    reply = inquiry(service, "有什么适合我的理财 推荐一下", customer_no)
    level, products = risk_level(sessions, customer_no), catalogue(sessions)
    suggested = re.findall(r"^\d\. (\S+?)（", reply["text"], re.MULTILINE)
    assert 1 <= len(suggested) <= 3
    assert all(level.allows(products[name]) for name in suggested)
    assert f"您的风险评估结果为{level.value}{level.label}" in reply["text"]
    assert "理财非存款，产品有风险，投资须谨慎" in reply["text"]
    [record] = operations(sessions, "suitable_products")
    assert record.customer_no == customer_no and record.outcome.value == "ok"


def test_premium_tiers_see_their_own_level_first_and_others_the_safest(service, sessions) -> None:
    first = re.compile(r"^1\. \S+?（\S+?，(R\d)", re.MULTILINE)
    assert first.search(inquiry(service, "有啥好的理财推荐", ZHANG)["text"]).group(1) == "R3"  # 贵宾 C3
    assert first.search(inquiry(service, "有啥好的理财推荐", "C000028")["text"]).group(1) == "R1"  # 大众 C4


def test_a_named_product_above_the_level_is_refused_with_the_reason(service) -> None:
    reply = inquiry(service, "星海沪深300指数A能买吗", LIU)
    assert "星海沪深300指数A的风险等级为R4中高风险，高于您的风险评估结果C2稳健型" in reply["text"]
    assert "不能向您推荐" in reply["text"] and "理财经理" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["/book_appointment"]
    reply = inquiry(service, "科技创新股票适合我吗", ZHANG)
    assert "R5高风险，高于您的风险评估结果C3平衡型" in reply["text"] and "李娜" in reply["text"]


def test_a_named_product_within_the_level_is_said_to_suit(service) -> None:
    reply = inquiry(service, "星海稳健债券A可以买吗", ZHANG)
    assert "星海稳健债券A的风险等级为R2中低风险，在您的风险承受能力（C3平衡型）范围之内" in reply["text"]
    assert "投资须谨慎" in reply["text"] and reply["buttons"] == []


def test_an_unverified_customer_gets_general_advice_and_no_profile_access(service, sessions) -> None:
    reply = inquiry(service, "有什么理财推荐", None)
    overview = messages("topic_overview")["wealth_product_inquiry"]
    assert reply["text"] == overview + "\n" + message("wealth", "verify_for_advice")
    assert audit_log(sessions) == []


def test_other_product_questions_go_to_the_knowledge_base(service, sessions) -> None:
    reply = inquiry(service, "七日年化是啥意思", ZHANG)
    assert reply["text"] == messages("topic_overview")["wealth_product_inquiry"]
    assert audit_log(sessions) == []
