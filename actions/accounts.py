"""Balances and recent transactions of the customer the gateway verified.

The gateway verifies who the customer is and passes their customer number in the message metadata
(``actions.session.verified_customer``); without it an account question is answered with how to
verify. Data comes only from ``ProfileService``, as the assistant acting for that customer, so every
read is checked against the role table and audited. Replies never say whether some other customer
exists or why the store refused: only "verify again" or "try later".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cards import card_tail_of
from actions.config import message, policy
from actions.customer import Lookup, answer
from actions.formatting import currency_name, format_moment, format_money, format_period
from actions.services import profile_service
from actions.session import request_message
from bot.amounts import parse_amount_bounds
from bot.dates import CHINA, Period, parse_period
from bot.profile.models import AccountStatus, CardStatus
from bot.profile.service import ProfileService
from bot.profile.views import AccountView, CardView, TransactionView
from bot.text import normalize

logger = logging.getLogger(__name__)

BALANCE_PURPOSE = "客户查询余额"
HISTORY_PURPOSE = "客户查询交易明细"
MAX_PAYEE_CHARS = 30
QUALIFIER_CHARS = 3  # how far around an amount to look for 超过 / 以下


def latest_entity(tracker: Tracker, name: str) -> dict[str, Any] | None:
    """The first ``name`` entity of the latest message that has a text value."""
    entities = request_message(tracker).get("entities") or []
    return next((e for e in entities if e.get("entity") == name and isinstance(e.get("value"), str)), None)


# -- balances ------------------------------------------------------------------------------------


def requested_card_tail(tracker: Tracker) -> str | None:
    """The last four digits of the card the customer asks about (this message first, then the slot)."""
    found = latest_entity(tracker, "card_tail")
    value = found["value"] if found else tracker.get_slot("card_tail")
    return card_tail_of(value)[0] if isinstance(value, str) else None


def account_lines(accounts: Sequence[AccountView]) -> list[str]:
    def line(index: int, account: AccountView) -> str:
        text = message(
            "accounts",
            "account_line",
            index=index,
            kind=account.kind.label,
            number=account.masked_number,
            currency=currency_name(account.currency),
            balance=format_money(account.balance, account.currency),
        )
        return text if account.status is AccountStatus.ACTIVE else text + aside(account.status.label)

    return [line(index, account) for index, account in enumerate(accounts, 1)]


def aside(text: str) -> str:
    return message("accounts", "aside", text=text)


def card_name(card: CardView) -> str:
    """借记卡, or 借记卡（已冻结） when it cannot be used."""
    return card.kind.label if card.status is CardStatus.ACTIVE else card.kind.label + aside(card.status.label)


def all_balances(lookup: Lookup) -> str:
    name, accounts = lookup.addressed_as(), lookup.accounts()
    if not accounts:
        return message("accounts", "no_accounts", name=name)
    return "\n".join([message("accounts", "balances", name=name), *account_lines(accounts)])


def card_balance(lookup: Lookup, tail: str) -> str:
    """The balance of the account behind one card; an unknown tail lists the customer's cards."""
    name, cards = lookup.addressed_as(), lookup.cards()
    matching = [c for c in cards if c.masked_number.endswith(tail)]
    if not matching:
        return unknown_card(name, tail, cards)
    card = next((c for c in matching if c.masked_account), matching[0])
    if linked := linked_accounts(lookup, card):
        header = message("accounts", "card_balances", name=name, tail=tail, card=card_name(card))
        return "\n".join([header, *account_lines(linked)])
    if card.credit_limit is not None:
        return message("accounts", "credit_card", name=name, tail=tail, limit=format_money(card.credit_limit))
    return message("accounts", "card_without_account", name=name, tail=tail, card=card_name(card))


def linked_accounts(lookup: Lookup, card: CardView) -> list[AccountView]:
    """The account a debit card draws on (a credit card draws on its limit instead)."""
    if card.masked_account is None:
        return []
    return [a for a in lookup.accounts() if a.masked_number == card.masked_account]


def unknown_card(name: str, tail: str, cards: Sequence[CardView]) -> str:
    """No card ends in ``tail``: say so and list the tails the customer does have."""
    tails = "、".join(
        message("accounts", "card_tail", tail=c.masked_number[-4:], kind=c.kind.label) for c in cards
    )
    return message("accounts", "unknown_card" if cards else "no_cards", name=name, tail=tail, tails=tails)


def balance_reply(lookup: Lookup, tail: str | None) -> str:
    return all_balances(lookup) if tail is None else card_balance(lookup, tail)


class ActionCheckBalance(Action):
    """Balances of the verified customer's accounts, or of the account behind one card (尾号1234)."""

    def __init__(self, profiles: Callable[[], ProfileService] = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_check_balance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        compose = partial(balance_reply, tail=requested_card_tail(tracker))
        # the profile store blocks: asked from a thread, other conversations go on meanwhile
        text = await asyncio.to_thread(answer, tracker, self.profiles, BALANCE_PURPOSE, compose)
        dispatcher.utter_message(text=text)
        if tracker.get_slot("card_tail") is None or tracker.active_loop_name:
            return []
        return [SlotSet("card_tail", None)]  # the next question about "my balance" means all accounts


# -- transactions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryQuery:
    """Which transactions the customer asks for; ``period_understood`` is False when their time was not."""

    period: Period
    at_least: Decimal | None = None
    at_most: Decimal | None = None
    counterparty: str | None = None
    period_understood: bool = True


def china_now() -> dt.datetime:
    return dt.datetime.now(CHINA)


def default_period(today: dt.date) -> Period:
    return Period(today - dt.timedelta(days=policy("accounts", "history_days")), today + dt.timedelta(days=1))


def surroundings(text: str, value: str, found: dict[str, Any]) -> str:
    """The few characters either side of an entity in the message (the 超过 of 超过5000的)."""
    start, end = found.get("start"), found.get("end")
    if not (isinstance(start, int) and isinstance(end, int) and text[start:end] == value):
        start = text.find(value)
        if start < 0:
            return text
        end = start + len(value)
    return text[max(0, start - QUALIFIER_CHARS) : start] + " " + text[end : end + QUALIFIER_CHARS]


def history_query(tracker: Tracker, today: dt.date) -> HistoryQuery:
    """The time (default: the last 30 days), amount bounds and counterparty named in the message."""
    period, understood = default_period(today), True
    if date := latest_entity(tracker, "date"):
        asked = parse_period(date["value"], today)
        period, understood = asked or period, asked is not None
    else:  # NLU may miss a time it was not trained on; the parser reads the whole message then
        period = parse_period(request_message(tracker).get("text") or "", today) or period
    bounds = None
    if amount := latest_entity(tracker, "amount"):
        text, value = normalize(request_message(tracker).get("text") or ""), normalize(amount["value"])
        bounds = parse_amount_bounds(value, surroundings(text, value, amount))
    at_least, at_most = bounds or (None, None)
    payee = latest_entity(tracker, "payee")
    counterparty = normalize(payee["value"]).strip(" 。，,.!！的") if payee else ""
    if not 0 < len(counterparty) <= MAX_PAYEE_CHARS:
        counterparty = None
    return HistoryQuery(period, at_least, at_most, counterparty, understood)


def describe(query: HistoryQuery) -> str:
    """What was searched, in words: 2025年5月31日至6月30日期间、金额在 5,000.00 元及以上."""
    span = format_period(query.period)
    several_days = query.period.end - query.period.start > dt.timedelta(days=1)
    parts = [message("accounts", "period", period=span) if several_days else span]
    if query.at_least is not None and query.at_least == query.at_most:
        parts.append(message("accounts", "amount_exact", amount=format_money(query.at_least)))
    elif query.at_least is not None:
        parts.append(message("accounts", "amount_at_least", amount=format_money(query.at_least)))
    elif query.at_most is not None:
        parts.append(message("accounts", "amount_at_most", amount=format_money(query.at_most)))
    if query.counterparty:
        parts.append(message("accounts", "counterparty", payee=query.counterparty))
    return "、".join(parts)


def transaction_line(index: int, item: TransactionView) -> str:
    described = item.description and item.description != item.counterparty
    return message(
        "accounts",
        "transaction_line",
        index=index,
        time=format_moment(item.occurred_at),
        counterparty=item.counterparty,
        aside=aside(item.description) if described else "",
        amount=format_money(item.amount, item.currency, signed=True),
    )


def history_reply(lookup: Lookup, query: HistoryQuery) -> str:
    """The newest few matching transactions, newest first, and where to find more."""
    shown = policy("accounts", "transactions_shown")
    name = lookup.addressed_as()
    found = lookup.transactions(
        since=dt.datetime.combine(query.period.start, dt.time(), CHINA),
        until=dt.datetime.combine(query.period.end, dt.time(), CHINA),
        min_amount=query.at_least,
        max_amount=query.at_most,
        counterparty=query.counterparty,
        limit=shown + 1,  # one more than shown tells whether there are more
    )
    scope = describe(query)
    if found:
        lines = [message("accounts", "transactions", name=name, scope=scope, count=min(len(found), shown))]
        lines += [transaction_line(index, item) for index, item in enumerate(found[:shown], 1)]
        if len(found) > shown:
            lines.append(message("accounts", "more_transactions"))
    else:
        lines = [message("accounts", "no_transactions", name=name, scope=scope)]
    if not query.period_understood:
        lines.append(message("accounts", "date_unparsed", days=policy("accounts", "history_days")))
    return "\n".join(lines)


class ActionTransactionHistory(Action):
    """The verified customer's latest transactions, narrowed by time, amount and counterparty if asked."""

    def __init__(
        self,
        profiles: Callable[[], ProfileService] = profile_service,
        clock: Callable[[], dt.datetime] = china_now,
    ) -> None:
        self.profiles = profiles
        self.clock = clock

    def name(self) -> str:
        return "action_transaction_history"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        query = history_query(tracker, self.clock().astimezone(CHINA).date())
        compose = partial(history_reply, query=query)
        text = await asyncio.to_thread(answer, tracker, self.profiles, HISTORY_PURPOSE, compose)
        dispatcher.utter_message(text=text)
        return []
