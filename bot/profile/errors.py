"""What can go wrong with a profile request; callers turn each type into their own Chinese message.

Each error names the audit outcome it is recorded under, so the service audits refusals and
failures the same way it audits successes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bot.profile.models import AuditOutcome, CardStatus


class ProfileError(Exception):
    outcome = AuditOutcome.FAILED


class ProfileUnavailable(ProfileError):
    """The profile database cannot be reached or could not complete the request; nothing was changed."""


class AccessDenied(ProfileError):
    """The caller's role does not allow this data of this customer."""

    outcome = AuditOutcome.DENIED


class UnknownCustomer(ProfileError):
    outcome = AuditOutcome.NOT_FOUND

    def __init__(self, customer_no: str) -> None:
        super().__init__(f"no customer {customer_no!r}")
        self.customer_no = customer_no


class NotFound(ProfileError):
    """The customer has no such card, ticket or plan."""

    outcome = AuditOutcome.NOT_FOUND


class AmbiguousCard(ProfileError):
    """Several of the customer's cards end in the given digits: ask for more of the number."""

    outcome = AuditOutcome.REJECTED


class StateUnchanged(ProfileError):
    """The requested change is already in effect; nothing was written."""

    outcome = AuditOutcome.REJECTED


class InsufficientHolding(ProfileError):
    """A redemption for more than the holding is worth now (``held``); nothing was sold."""

    outcome = AuditOutcome.REJECTED

    def __init__(self, held: Decimal) -> None:
        super().__init__(f"only {held} held")
        self.held = held


class CardAlreadyFrozen(StateUnchanged):
    """The card is already frozen or reported lost (``status`` says which): it cannot be used either way."""

    def __init__(self, status: CardStatus) -> None:
        super().__init__(f"card is already {status.value}")
        self.status = status


class NoAdvisorFree(ProfileError):
    """No advisor with the skill is free at the time asked; ``next_slots`` are the nearest free times."""

    outcome = AuditOutcome.REJECTED

    def __init__(self, next_slots: tuple[dt.datetime, ...]) -> None:
        super().__init__(f"no advisor free; {len(next_slots)} later slots offered")
        self.next_slots = next_slots


# -- transfers ------------------------------------------------------------------------------------


class TransferRefused(ProfileError):
    """A transfer the bank does not make; the subclass says why. Nothing was moved."""

    outcome = AuditOutcome.REJECTED


class NoTransferAccount(TransferRefused):
    """No active CNY current account (活期) that an active debit card of the customer draws on."""


class AmountNotPositive(TransferRefused):
    pass


class OverSingleLimit(TransferRefused):
    """``amount`` is more than one transfer in the chat may move (``limit``)."""

    def __init__(self, amount: Decimal, limit: Decimal) -> None:
        super().__init__(f"above the single-transfer limit of {limit}")
        self.amount, self.limit = amount, limit


class SelfTransfer(TransferRefused):
    """The payee is the customer themself: moving money between one's own accounts is not a chat transfer."""


class UnknownPayee(TransferRefused):
    """``name`` is none of the customer's saved payees (常用收款人); new payees are added in the app."""

    def __init__(self, name: str) -> None:
        super().__init__("not a saved payee")
        self.name = name


class AmbiguousPayee(TransferRefused):
    """Several saved payees fit ``name``: the customer has to say which (``candidates``)."""

    def __init__(self, name: str, candidates: tuple[str, ...]) -> None:
        super().__init__(f"{len(candidates)} saved payees fit")
        self.name, self.candidates = name, candidates


class InsufficientFunds(TransferRefused):
    """The account holds less (``balance``) than ``amount``."""

    def __init__(self, amount: Decimal, balance: Decimal) -> None:
        super().__init__("balance too low")
        self.amount, self.balance = amount, balance


class DailyLimitExceeded(TransferRefused):
    """Today's transfers plus ``amount`` would pass the daily ``limit``; ``left`` may still go today."""

    def __init__(self, amount: Decimal, limit: Decimal, left: Decimal) -> None:
        super().__init__(f"daily transfer limit {limit} reached, {left} left")
        self.amount, self.limit, self.left = amount, limit, left


# -- end transfers --------------------------------------------------------------------------------
