"""Wealth: redeeming funds, pausing or resuming fixed-investment plans (定投), products within the risk level.

Redemption and plan changes are forms entered after identity verification (data/rules/forms.yml);
they only offer what the customer holds, state the settlement rule and the plan before asking for
an explicit confirmation, and write through ``ProfileService`` (authorized, audited, atomic). The
product can be named the way customers do (沪深300, 那个货币基金, the code), in the message that
started the form or when asked. Product questions stay with the knowledge base unless a verified
customer asks for a recommendation or about one of the bank's products: then only products up to
their assessed risk level are suggested, and a product above it is refused with the reason.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import partial
from typing import Any, ClassVar, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message, policy
from actions.customer import Lookup, Unanswered, answer, consult
from actions.formatting import format_money
from actions.knowledge import ActionSearchKnowledgeBase, payload
from actions.services import KnowledgeBase, knowledge_base, profile_service
from actions.session import request_message, verified_customer
from bot.amounts import parse_amount
from bot.profile.errors import InsufficientHolding, NotFound, StateUnchanged
from bot.profile.models import PlanStatus, ProductKind, RiskLevel
from bot.profile.service import ProfileService
from bot.profile.views import FixedInvestmentPlan, HoldingView, Portfolio, ProductView, Suitability
from bot.text import normalize

T = TypeVar("T")
Profiles = Callable[[], ProfileService]

REDEEM_PURPOSE = "客户赎回基金或理财产品"
PLAN_PURPOSE = "客户暂停或恢复基金定投"
ADVICE_PURPOSE = "客户咨询适合自己风险等级的理财产品"
REDEMPTION_SLOTS = ("redeem_product", "redeem_amount", "redeem_confirmed")
PLAN_SLOTS = ("plan_product", "plan_operation", "plan_confirmed")
PAUSE, RESUME = "pause", "resume"
CENT = Decimal("0.01")
MAX_ECHO_CHARS = 20  # of the customer's words repeated back ("您目前没有持有“…”")
ADVISOR_PAYLOAD = "/book_appointment"
# A large redemption (above redemption.warn_share) may go to a wealth advisor now (escalation.yml).
LARGE_REDEMPTION_PAYLOAD = '/request_human{"handoff_reason": "large_redemption"}'


# -- the profile store, for one verified customer ---------------------------------------------------


def portfolio(lookup: Lookup) -> Portfolio:
    return lookup.profiles.holdings(lookup.actor, lookup.customer_no, purpose=lookup.purpose)


def advisor_name(lookup: Lookup) -> str | None:
    return lookup.profiles.assigned_advisor(lookup.actor, lookup.customer_no, purpose=lookup.purpose)


def advisor_phrase(name: str | None) -> str:
    """您的专属客户经理李娜, or 理财经理 for a customer without one."""
    return message("wealth", "your_advisor", name=name) if name else message("wealth", "an_advisor")


def button(title: str, target: str) -> dict[str, str]:
    return {"title": title, "payload": target}


def product_button(title: str, code: str) -> dict[str, str]:
    return button(title, payload("inform", product=code))


def stop_form(slots: Sequence[str]) -> dict[str, Any]:
    """Slot values that end the form at once (the submit step then says nothing more)."""
    return {**dict.fromkeys(slots), "requested_slot": None}


def activating(tracker: Tracker) -> bool:
    """Whether the form is being started (nothing asked yet): the request message is then read."""
    return tracker.get_slot("requested_slot") is None


def echo(text: str) -> str:
    return normalize(text).strip(" 。，,.!！?？")[:MAX_ECHO_CHARS]


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def product_entity(parsed: dict[str, Any]) -> str | None:
    named = next((e.get("value") for e in parsed.get("entities") or [] if e.get("entity") == "product"), None)
    return named if isinstance(named, str) else None


def request_product(tracker: Tracker) -> str | None:
    """What the message that started the form says about the product: its entity, else its text."""
    request = request_message(tracker)
    return product_entity(request) or request.get("text") or None


def product_was_named(tracker: Tracker) -> bool:
    """Whether the product slot holds a name the customer gave (not just the words of their request),
    so that one they do not hold is worth saying so."""
    return not activating(tracker) or product_entity(request_message(tracker)) is not None


# -- naming products -------------------------------------------------------------------------------

BRAND = "星海"
_SHARE_CLASS = re.compile(r"(\(.*?\)|（.*?）|[ac])$")
_KIND_SUFFIXES = ("混合类理财", "理财", "指数", "混合", "股票", "债券")
MIN_SHORT_NAME = 3
KIND_WORDS = {
    "货币": ProductKind.MONEY_MARKET,
    "债": ProductKind.BOND,
    "混合": ProductKind.MIXED,
    "股票": ProductKind.EQUITY,
    "指数": ProductKind.INDEX,
    "qdii": ProductKind.QDII,
    "理财": ProductKind.WEALTH,
}
_FILLER = re.compile(
    r"那个|这个|那只|这只|那支|我的|我那|帮我|我要|我想|麻烦|一下|基金|产品|理财|赎回|卖掉|卖出|定投|暂停|恢复"
    r"|[的把卖要想吧呢啊呀了\s，。,.!！?？]"
)
CODE, SHORT_NAME, PART_OF_NAME, KIND = 4, 3, 2, 1  # how surely a text names a product


@dataclass(frozen=True)
class Named:
    code: str
    name: str
    kind: ProductKind


def held_name(holding: HoldingView | Plan) -> Named:
    return Named(holding.product_code, holding.product_name, holding.product_kind)


def product_name(product: ProductView) -> Named:
    return Named(product.code, product.name, product.kind)


def short_names(name: str) -> set[str]:
    """星海沪深300指数A → {星海沪深300指数a, 沪深300指数a, 沪深300}: names customers use, lower case."""
    full = normalize(name)
    bare = full.removeprefix(BRAND)
    names, core = {full, bare}, bare
    while True:
        shorter = _SHARE_CLASS.sub("", core)
        shorter = next((shorter.removesuffix(s) for s in _KIND_SUFFIXES if shorter.endswith(s)), shorter)
        if shorter == core or len(shorter) < MIN_SHORT_NAME:
            return names
        names.add(shorter)
        core = shorter


def naming_score(text: str, product: Named) -> int:
    """How surely ``text`` names ``product``: its code, a short name, part of its name, its kind; 0: not."""
    text = normalize(text)
    if re.search(rf"(?<![0-9a-z]){re.escape(product.code.lower())}(?![0-9a-z])", text):
        return CODE
    if any(name in text for name in short_names(product.name)):
        return SHORT_NAME
    core = _FILLER.sub("", text).removeprefix(BRAND)
    if core in KIND_WORDS:
        return KIND if KIND_WORDS[core] is product.kind else 0
    if len(core) >= 2 and core in normalize(product.name):
        return PART_OF_NAME
    return KIND if any(w in text and k is product.kind for w, k in KIND_WORDS.items()) else 0


def best_named(text: str, items: Sequence[T], name_of: Callable[[T], Named], at_least: int = KIND) -> list[T]:
    """The items ``text`` names most surely (several when it cannot tell them apart)."""
    scored = [(naming_score(text, name_of(item)), item) for item in items]
    best = max((score for score, _ in scored), default=0)
    return [item for score, item in scored if score == best] if best >= at_least else []


def without_names(text: str, name: str) -> str:
    """``text`` without the product's names, so that the 300 of 沪深300 is not read as an amount."""
    for short in sorted(short_names(name), key=len, reverse=True):
        text = text.replace(short, " ")
    return text


def risk_number(code: str) -> int:
    """R3 → 3, C3 → 3."""
    return int(code[1:])


# -- redemption ------------------------------------------------------------------------------------

_WHOLE = re.compile(r"全部|全额|全赎|都赎|全卖|都卖|卖光|清仓|所有|全都")
_HALF = re.compile(r"一半")


def redemption_amount(text: str, held: Decimal, name: str) -> Decimal | None:
    """The amount asked for: 全部 is everything held, 一半 half of it, else the amount written."""
    text = normalize(text)
    if _WHOLE.search(text):
        return held
    if _HALF.search(text):
        return (held / 2).quantize(CENT, ROUND_DOWN)
    return parse_amount(without_names(text, name))


def holdings_to_redeem(found: Portfolio) -> list[HoldingView]:
    return [h for h in found.holdings if h.amount > 0]


def slot_amount(tracker: Tracker) -> Decimal | None:
    try:
        return Decimal(tracker.get_slot("redeem_amount"))
    except (TypeError, InvalidOperation):
        return None


Held = TypeVar("Held", HoldingView, "Plan")


def find_holding(holdings: Sequence[Held], code: Any) -> Held | None:
    return next((h for h in holdings if h.product_code == code), None)


class ValidateRedemptionForm(FormValidationAction):
    """Product among the customer's holdings, an amount they hold, then the confirmation."""

    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "validate_redemption_form"

    # The slots are read from the message that started the form (then silently: nothing was asked),
    # and every start clears what an interrupted redemption left behind.
    async def extract_redeem_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"redeem_product": request_product(tracker)} if activating(tracker) else {}

    async def extract_redeem_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not activating(tracker):
            return {}
        request = request_message(tracker)
        text = normalize(request.get("text") or "")
        words = _WHOLE.search(text) or _HALF.search(text)
        amounts = [e["value"] for e in request.get("entities") or [] if e.get("entity") == "amount"]
        return {"redeem_amount": words[0] if words else next(iter(amounts), None)}

    async def extract_redeem_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"redeem_confirmed": None} if activating(tracker) else {}

    async def _holdings(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[HoldingView] | dict[str, Any]:
        """What the customer may redeem, or the slot values that end the form after saying why not."""
        found = await asyncio.to_thread(consult, tracker, self.profiles, REDEEM_PURPOSE, portfolio)
        if isinstance(found, Unanswered):
            dispatcher.utter_message(text=found.text)
            return stop_form(REDEMPTION_SLOTS)
        if not (held := holdings_to_redeem(found)):
            dispatcher.utter_message(text=message("wealth", "no_holdings"))
            return stop_form(REDEMPTION_SLOTS)
        return held

    async def validate_redeem_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        held = await self._holdings(dispatcher, tracker)
        if isinstance(held, dict):
            return held
        if len(held) == 1 and latest_intent(tracker) == "affirm" and not activating(tracker):
            return {"redeem_product": held[0].product_code}  # "是的" to the one product proposed
        text = value if isinstance(value, str) else ""
        matches = best_named(text, held, held_name)
        if len(matches) == 1:
            return {"redeem_product": matches[0].product_code}
        if matches and product_was_named(tracker):
            dispatcher.utter_message(
                text=message("wealth", "product_ambiguous", count=len(matches), text=echo(text))
            )
        elif text and product_was_named(tracker):
            dispatcher.utter_message(text=message("wealth", "product_not_held", text=echo(text)))
        return {"redeem_product": None}

    async def validate_redeem_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = tracker.get_slot("redeem_product")
        if not isinstance(value, str) or code is None:
            return {"redeem_amount": None}
        held = await self._holdings(dispatcher, tracker)
        if isinstance(held, dict):
            return held
        holding = find_holding(held, code)
        if holding is None:
            return {"redeem_amount": None, "redeem_product": None}
        if activating(tracker) and normalize(value) in normalize(holding.product_name):
            return {"redeem_amount": None}  # the 300 of 沪深300, tagged as an amount
        amount = redemption_amount(value, holding.amount, holding.product_name)
        problem = amount_problem(amount, holding)
        if problem is None:
            return {"redeem_amount": str(amount.quantize(CENT))}
        if amount is not None or not activating(tracker):
            dispatcher.utter_message(text=problem)
        return {"redeem_amount": None}

    async def validate_redeem_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"redeem_confirmed": value if isinstance(value, bool) else None}


def amount_problem(amount: Decimal | None, holding: HoldingView) -> str | None:
    """What is wrong with redeeming ``amount`` of ``holding``; None: nothing."""
    if amount is None:
        return message("wealth", "amount_unparsed")
    if amount <= 0:
        return message("wealth", "amount_not_positive")
    if amount > holding.amount:  # first: an absurdly long number cannot even be rounded to cents
        return message(
            "wealth", "amount_over_holding", product=holding.product_name, value=format_money(holding.amount)
        )
    if amount != amount.quantize(CENT):
        return message("wealth", "amount_fraction")
    return None


@dataclass(frozen=True)
class Prompt:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def say(dispatcher: CollectingDispatcher, reply: Prompt | Unanswered) -> None:
    buttons = reply.buttons if isinstance(reply, Prompt) else []
    dispatcher.utter_message(text=reply.text, buttons=buttons)


class _ProfileQuestion(Action, metaclass=ABCMeta):
    """A form question composed from the customer's profile (what they hold, their plans)."""

    slot: ClassVar[str]
    purpose: ClassVar[str]

    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        """The question, from the profile."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = await asyncio.to_thread(
            consult, tracker, self.profiles, self.purpose, partial(self.prompt, tracker=tracker)
        )
        say(dispatcher, asked)
        return []


def holding_line(index: int, holding: HoldingView) -> str:
    return message(
        "wealth",
        "holding_line",
        index=index,
        product=holding.product_name,
        value=format_money(holding.amount),
    )


class ActionAskRedeemProduct(_ProfileQuestion):
    slot = "redeem_product"
    purpose = REDEEM_PURPOSE

    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        held = holdings_to_redeem(portfolio(lookup))
        if not held:
            return Prompt(message("wealth", "no_holdings"))
        if len(held) == 1:
            only = held[0]
            text = message(
                "wealth", "propose_holding", product=only.product_name, value=format_money(only.amount)
            )
            return Prompt(text, [product_button(message("wealth", "yes_button"), only.product_code)])
        lines = [message("wealth", "which_holding"), *(holding_line(i, h) for i, h in enumerate(held, 1))]
        return Prompt("\n".join(lines), [product_button(h.product_name, h.product_code) for h in held])


class ActionAskRedeemAmount(_ProfileQuestion):
    slot = "redeem_amount"
    purpose = REDEEM_PURPOSE

    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        holding = find_holding(portfolio(lookup).holdings, tracker.get_slot("redeem_product"))
        if holding is None:
            return Prompt(message("wealth", "amount_unparsed"))
        text = message(
            "wealth", "ask_amount", product=holding.product_name, value=format_money(holding.amount)
        )
        return Prompt(text, [button(message("wealth", "all_button"), message("wealth", "all_button"))])


def large_share(amount: Decimal, found: Portfolio) -> Decimal | None:
    """The share of all holdings' value ``amount`` is, when above ``redemption.warn_share``."""
    total = sum((h.amount for h in found.holdings), Decimal(0))
    share = amount / total if total else Decimal(1)
    return share if share > Decimal(str(policy("redemption", "warn_share"))) else None


class ActionAskRedeemConfirmed(_ProfileQuestion):
    """The redemption to confirm, its settlement rule, and a warning with an advisor when it is large."""

    slot = "redeem_confirmed"
    purpose = REDEEM_PURPOSE

    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        found, amount = portfolio(lookup), slot_amount(tracker)
        holding = find_holding(found.holdings, tracker.get_slot("redeem_product"))
        if holding is None or amount is None:
            return Prompt(message("wealth", "amount_unparsed"))
        lines = [
            message(
                "wealth",
                "confirm_redemption",
                product=holding.product_name,
                amount=format_money(amount),
                settlement=holding.settlement,
            )
        ]
        buttons = [
            button(message("wealth", "confirm_button"), "/affirm"),
            button(message("wealth", "cancel_button"), "/deny"),
        ]
        if (share := large_share(amount, found)) is not None:
            advisor = advisor_phrase(advisor_name(lookup))
            lines.append(message("wealth", "large_warning", share=f"{share:.0%}", advisor=advisor))
            buttons.append(button(message("wealth", "advisor_now_button"), LARGE_REDEMPTION_PAYLOAD))
            buttons.append(button(message("wealth", "advisor_button"), ADVISOR_PAYLOAD))
        lines.append(message("wealth", "confirm_question"))
        return Prompt("\n".join(lines), buttons)


def redemption_reply(lookup: Lookup, code: str, amount: Decimal) -> str:
    """Redeem and say what happens next, with the reference and when the money arrives."""
    try:
        done = lookup.profiles.redeem(lookup.actor, lookup.customer_no, code, amount, purpose=lookup.purpose)
    except InsufficientHolding as refused:
        return message(
            "wealth", "redemption_stale", value=format_money(refused.held), amount=format_money(amount)
        )
    except NotFound:
        return message("wealth", "redemption_gone")
    return message(
        "wealth",
        "redeemed",
        name=lookup.addressed_as(),
        product=done.product_name,
        amount=format_money(done.amount),
        reference=done.reference,
        settlement=done.settlement,
        remaining=format_money(done.remaining),
    )


class ActionSubmitRedemption(Action):
    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_submit_redemption"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code, amount = tracker.get_slot("redeem_product"), slot_amount(tracker)
        confirmed = tracker.get_slot("redeem_confirmed")
        if confirmed is False:
            dispatcher.utter_message(text=message("wealth", "redemption_cancelled"))
        elif confirmed and code and amount is not None:
            compose = partial(redemption_reply, code=code, amount=amount)
            text = await asyncio.to_thread(answer, tracker, self.profiles, REDEEM_PURPOSE, compose)
            dispatcher.utter_message(text=text)
        # else the form stopped early and already said why
        return [SlotSet(slot, None) for slot in REDEMPTION_SLOTS]


# -- fixed-investment plans --------------------------------------------------------------------------

_PAUSE = re.compile(r"暂停|停止|停扣|先停|停掉|停了|停一下|停一停|不要扣|别扣|不想扣")
_RESUME = re.compile(r"恢复|重新开始|继续|开通回来|重新开|重启|接着扣|接着投")
TARGET_STATUS = {PAUSE: PlanStatus.PAUSED, RESUME: PlanStatus.ACTIVE}


def operation_in(value: Any) -> str | None:
    """pause or resume: as validated before, or from the customer's words."""
    if not isinstance(value, str):
        return None
    return value if value in TARGET_STATUS else plan_operation_of(value)


def plan_operation_of(text: str) -> str | None:
    """pause or resume, from the customer's words; None when neither or both (a question about them)."""
    text = normalize(text)
    pause, resume = bool(_PAUSE.search(text)), bool(_RESUME.search(text))
    if pause == resume:
        return None
    return PAUSE if pause else RESUME


@dataclass(frozen=True)
class Plan:
    """A holding's fixed-investment plan, with the product it buys."""

    product_code: str
    product_name: str
    product_kind: ProductKind
    terms: FixedInvestmentPlan

    def facts(self) -> dict[str, Any]:
        """The placeholders plan messages share: product, day, amount, status."""
        return {
            "product": self.product_name,
            "day": self.terms.day_of_month,
            "amount": format_money(self.terms.amount),
            "status": self.terms.status.label,
        }


def plans_of(found: Portfolio) -> list[Plan]:
    return [
        Plan(h.product_code, h.product_name, h.product_kind, h.plan)
        for h in found.holdings
        if h.plan is not None
    ]


def wants_plan_change(text: str) -> bool:
    """定投: pausing or resuming a plan is a request; how plans work is a question."""
    return plan_operation_of(text) is not None


_WANTING_REDEMPTION = re.compile(
    r"我要|我想|帮我|给我|麻烦|要把|想把|全部|全额|一半|卖掉|卖了|卖光|清仓|赎回\s*[\d一二两三四五六七八九十百千万]"
)
MAX_BARE_REQUEST_CHARS = 16  # "赎回易方达蓝筹精选": a short order with no question in it


def wants_redemption(text: str) -> bool:
    """赎回: "帮我赎回两万" is a request; "赎回多久到账" and "赎回不了" are questions."""
    text = normalize(text).strip(" 。，,.!！")
    bare = text.startswith(("赎回", "卖")) and len(text) <= MAX_BARE_REQUEST_CHARS
    return bool(_WANTING_REDEMPTION.search(text) or bare)


class ValidateFixedInvestmentForm(FormValidationAction):
    """Which plan (only products with one), pause or resume (not the state it is in), confirmation."""

    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "validate_fixed_investment_form"

    async def extract_plan_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"plan_product": request_product(tracker)} if activating(tracker) else {}

    async def extract_plan_operation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not activating(tracker):
            return {}
        return {"plan_operation": request_message(tracker).get("text") or None}

    async def extract_plan_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"plan_confirmed": None} if activating(tracker) else {}

    async def _plans(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> tuple[list[Plan], list[HoldingView]] | dict[str, Any]:
        """(plans, all holdings), or the slot values that end the form after saying why not."""
        found = await asyncio.to_thread(consult, tracker, self.profiles, PLAN_PURPOSE, portfolio)
        if isinstance(found, Unanswered):
            dispatcher.utter_message(text=found.text)
            return stop_form(PLAN_SLOTS)
        if not (plans := plans_of(found)):
            dispatcher.utter_message(text=message("wealth", "no_plans"))
            return stop_form(PLAN_SLOTS)
        return plans, list(found.holdings)

    async def validate_plan_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = await self._plans(dispatcher, tracker)
        if isinstance(found, dict):
            return found
        plans, holdings = found
        if len(plans) == 1 and latest_intent(tracker) == "affirm" and not activating(tracker):
            return chosen_plan(plans[0], tracker, dispatcher)  # "是的" to the one plan proposed
        text = value if isinstance(value, str) else ""
        matches = best_named(text, plans, held_name)
        if len(matches) == 1:
            return chosen_plan(matches[0], tracker, dispatcher)
        if matches and product_was_named(tracker):
            dispatcher.utter_message(
                text=message("wealth", "plan_ambiguous", count=len(matches), text=echo(text))
            )
        elif planless := best_named(text, holdings, held_name, at_least=PART_OF_NAME):
            dispatcher.utter_message(
                text=message("wealth", "no_plan_on_holding", product=planless[0].product_name)
            )
        elif text and product_was_named(tracker):
            dispatcher.utter_message(text=message("wealth", "plan_not_found", text=echo(text)))
        return {"plan_product": None}

    async def validate_plan_operation(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        operation = operation_in(value)
        if operation is None:
            if not activating(tracker):
                dispatcher.utter_message(text=message("wealth", "operation_unclear"))
            return {"plan_operation": None}
        code = tracker.get_slot("plan_product")
        if code is None:
            return {"plan_operation": operation}
        found = await self._plans(dispatcher, tracker)
        if isinstance(found, dict):
            return found
        plan = find_holding(found[0], code)
        return unchanged(plan, operation, dispatcher) if plan else {"plan_operation": operation}

    async def validate_plan_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"plan_confirmed": value if isinstance(value, bool) else None}


def unchanged_message(operation: str, plan: Plan) -> str:
    key = "already_paused" if operation == PAUSE else "already_active"
    return message("wealth", key, **plan.facts())


def unchanged(plan: Plan, operation: str, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """Go on with ``operation``, unless the plan is in that state already: then say so and end the form."""
    if plan.terms.status is not TARGET_STATUS[operation]:
        return {"plan_operation": operation}
    dispatcher.utter_message(text=unchanged_message(operation, plan))
    return stop_form(PLAN_SLOTS)


def chosen_plan(plan: Plan, tracker: Tracker, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The plan is chosen; when pause or resume was already said, the plan's state is checked against it."""
    operation = tracker.get_slot("plan_operation")
    if operation not in TARGET_STATUS:
        return {"plan_product": plan.product_code}
    return {"plan_product": plan.product_code, **unchanged(plan, operation, dispatcher)}


def plan_line(index: int, plan: Plan) -> str:
    return message("wealth", "plan_line", index=index, **plan.facts())


class ActionAskPlanProduct(_ProfileQuestion):
    slot = "plan_product"
    purpose = PLAN_PURPOSE

    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        plans = plans_of(portfolio(lookup))
        if not plans:
            return Prompt(message("wealth", "no_plans"))
        if len(plans) == 1:
            text = message("wealth", "propose_plan", **plans[0].facts())
            return Prompt(text, [product_button(message("wealth", "yes_plan_button"), plans[0].product_code)])
        lines = [message("wealth", "which_plan"), *(plan_line(i, p) for i, p in enumerate(plans, 1))]
        return Prompt("\n".join(lines), [product_button(p.product_name, p.product_code) for p in plans])


class ActionAskPlanConfirmed(_ProfileQuestion):
    slot = "plan_confirmed"
    purpose = PLAN_PURPOSE

    def prompt(self, lookup: Lookup, tracker: Tracker) -> Prompt:
        plan = find_holding(plans_of(portfolio(lookup)), tracker.get_slot("plan_product"))
        operation = tracker.get_slot("plan_operation")
        if plan is None or operation not in TARGET_STATUS:
            return Prompt(message("wealth", "operation_unclear"))
        text = message("wealth", f"confirm_{operation}", **plan.facts())
        buttons = [
            button(message("wealth", "confirm_plan_button"), "/affirm"),
            button(message("wealth", "cancel_plan_button"), "/deny"),
        ]
        return Prompt(text, buttons)


def plan_change_reply(lookup: Lookup, code: str, operation: str) -> str:
    """Pause or resume the plan and say so, with the reference; or why nothing changed."""
    plan = find_holding(plans_of(portfolio(lookup)), code)
    if plan is None:
        return message("wealth", "no_plans")
    try:
        reference = lookup.profiles.set_fixed_investment_status(
            lookup.actor, lookup.customer_no, code, TARGET_STATUS[operation], purpose=lookup.purpose
        )
    except StateUnchanged:
        return unchanged_message(operation, plan)
    except NotFound:
        return message("wealth", "no_plans")
    key = "paused" if operation == PAUSE else "resumed"
    return message("wealth", key, name=lookup.addressed_as(), reference=reference, **plan.facts())


class ActionSubmitFixedInvestment(Action):
    def __init__(self, profiles: Profiles = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_submit_fixed_investment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code, operation = tracker.get_slot("plan_product"), tracker.get_slot("plan_operation")
        confirmed = tracker.get_slot("plan_confirmed")
        if confirmed is False:
            dispatcher.utter_message(text=message("wealth", "plan_cancelled"))
        elif confirmed and code and operation in TARGET_STATUS:
            compose = partial(plan_change_reply, code=code, operation=operation)
            text = await asyncio.to_thread(answer, tracker, self.profiles, PLAN_PURPOSE, compose)
            dispatcher.utter_message(text=text)
        # else the form stopped early and already said why
        return [SlotSet(slot, None) for slot in PLAN_SLOTS]


# -- products within the risk level ------------------------------------------------------------------

_WANTS_ADVICE = re.compile(
    r"推荐|适合我|适合的|买什么|买啥|买哪个|买哪只|买哪支|有什么好的|有啥好的|哪个好|哪款好|选哪个"
    r"|能买|可以买|能不能买|可不可以买|值得买|值不值得"
)


def wants_advice(text: str) -> bool:
    return bool(_WANTS_ADVICE.search(normalize(text)))


def level_label(level: RiskLevel) -> dict[str, str]:
    return {"level": level.value, "label": level.label}


def suggestions(found: Suitability) -> list[ProductView]:
    """Up to ``wealth.suggestions`` products within the level, of different kinds, not held yet first.

    Tiers listed in ``wealth.closest_to_level_tiers`` (贵宾, 私人银行) see the products nearest their
    level first; others the safest first, as a first step into funds.
    """
    closest = found.tier.value in policy("wealth", "closest_to_level_tiers")
    level = risk_number(found.risk_level.value)

    def rank(product: ProductView) -> tuple[bool, int, str]:
        risk = risk_number(product.risk.value)
        return product.code in found.held, level - risk if closest else risk, product.code

    ordered = sorted(found.allowed, key=rank)
    first_of_kind = [p for i, p in enumerate(ordered) if p.kind not in {q.kind for q in ordered[:i]}]
    others = [p for p in ordered if p not in first_of_kind]
    return (first_of_kind + others)[: policy("wealth", "suggestions")]


def suggestion_line(index: int, product: ProductView) -> str:
    return message(
        "wealth",
        "suggestion_line",
        index=index,
        product=product.name,
        kind=product.kind.label,
        risk=product.risk.value,
        risk_label=product.risk.label,
    )


def product_verdict(found: Suitability, product: ProductView) -> str:
    allowed = found.risk_level.allows(product.risk)
    return message(
        "wealth",
        "within_level" if allowed else "above_level",
        product=product.name,
        risk=product.risk.value,
        risk_label=product.risk.label,
        **level_label(found.risk_level),
    )


def advice_reply(lookup: Lookup, text: str) -> Prompt | None:
    """Suggestions within the customer's level, or a verdict on the products they name; None: nothing
    personal to say (the knowledge base answers)."""
    found = lookup.profiles.suitable_products(lookup.actor, lookup.customer_no, purpose=lookup.purpose)
    named = best_named(text, found.allowed + found.above_level, product_name, at_least=SHORT_NAME)
    if named:
        lines = [product_verdict(found, p) for p in named]
        too_risky = any(p in found.above_level for p in named)
        if too_risky:  # a re-assessment with an advisor is the only way to it
            lines.append(message("wealth", "reassess", advisor=advisor_phrase(advisor_name(lookup))))
        buttons = [button(message("wealth", "advisor_button"), ADVISOR_PAYLOAD)] if too_risky else []
        return Prompt("\n".join([*lines, message("wealth", "disclaimer")]), buttons)
    if not wants_advice(text):
        return None
    header = message("wealth", "your_level", name=lookup.addressed_as(), **level_label(found.risk_level))
    lines = [header, *(suggestion_line(i, p) for i, p in enumerate(suggestions(found), 1))]
    return Prompt("\n".join([*lines, message("wealth", "disclaimer")]))


class ActionWealthInquiry(Action):
    """Product questions: personal suggestions within the risk level for a verified customer who asks
    for them; the knowledge base otherwise."""

    def __init__(
        self, profiles: Profiles = profile_service, knowledge: Callable[[], KnowledgeBase] = knowledge_base
    ) -> None:
        self.profiles = profiles
        self.knowledge = knowledge

    def name(self) -> str:
        return "action_wealth_inquiry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        entities = tracker.latest_message.get("entities") or []
        personal = wants_advice(text) or BRAND in text or any(e.get("entity") == "product" for e in entities)
        reply: Prompt | Unanswered | None = None
        if verified_customer(tracker) is not None and personal:
            compose = partial(advice_reply, text=text)
            reply = await asyncio.to_thread(consult, tracker, self.profiles, ADVICE_PURPOSE, compose)
        if reply is not None:
            say(dispatcher, reply)
            return []
        events = await ActionSearchKnowledgeBase(self.knowledge, self.profiles).run(
            dispatcher, tracker, domain
        )
        if verified_customer(tracker) is None and wants_advice(text):
            dispatcher.utter_message(text=message("wealth", "verify_for_advice"))
        return events
