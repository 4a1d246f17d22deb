"""The profile store as the actions see it: the assistant acting for the customer the gateway verified.

``answer`` is the one place that turns a profile question into a reply: it checks the verification
(``actions.session.verified_customer``) and maps every failure of the store to a safe message, so
replies never say whether some other customer exists or why the store refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rasa_sdk import Tracker

from actions.config import message
from actions.session import verified_customer
from bot.profile.access import Actor
from bot.profile.errors import AccessDenied, ProfileError, UnknownCustomer
from bot.profile.models import Role
from bot.profile.service import ProfileService
from bot.profile.views import AccountView, CardView, CustomerSummary, TransactionView

logger = logging.getLogger(__name__)

ASSISTANT_ID = "assistant"


@dataclass(frozen=True)
class Lookup:
    """The profile store as the assistant acting for one verified customer, for one purpose."""

    profiles: ProfileService
    customer_no: str
    purpose: str

    @property
    def actor(self) -> Actor:
        return Actor(ASSISTANT_ID, Role.BOT, serving=self.customer_no)

    def summary(self) -> CustomerSummary:
        return self.profiles.customer_summary(self.actor, self.customer_no, purpose=self.purpose)

    def addressed_as(self) -> str:
        """How to greet the customer: 张先生."""
        return self.summary().addressed_as

    def accounts(self) -> tuple[AccountView, ...]:
        return self.profiles.accounts(self.actor, self.customer_no, purpose=self.purpose)

    def cards(self) -> tuple[CardView, ...]:
        return self.profiles.cards(self.actor, self.customer_no, purpose=self.purpose)

    def freeze_card(self, tail: str) -> str:
        """Freeze the customer's card ending in ``tail``; the reference number to quote."""
        return self.profiles.freeze_card(self.actor, self.customer_no, tail, purpose=self.purpose)

    def transactions(self, **filters: Any) -> tuple[TransactionView, ...]:
        """``ProfileService.recent_transactions`` with its filters (since, until, min_amount …)."""
        return self.profiles.recent_transactions(
            self.actor, self.customer_no, purpose=self.purpose, **filters
        )


Compose = Callable[[Lookup], str]


def answer(tracker: Tracker, profiles: Callable[[], ProfileService], purpose: str, compose: Compose) -> str:
    """The reply to an account question: composed from the profile, or why it cannot be.

    Whatever goes wrong, the customer gets an answer; the log keeps the reason.
    """
    customer_no = verified_customer(tracker)
    if customer_no is None:
        return message("accounts", "verify_first")
    try:
        return compose(Lookup(profiles(), customer_no, purpose))
    except (UnknownCustomer, AccessDenied) as error:
        logger.warning("profile store refused the verified customer: %s", type(error).__name__)
        return message("accounts", "verify_again")
    except ProfileError as error:
        logger.error("account question not answered: %s", error)
    except Exception:  # a bug or a misconfigured store must not leave the customer without a reply
        logger.exception("account question failed")
    return message("accounts", "unavailable")


T = TypeVar("T")


@dataclass(frozen=True)
class Unanswered:
    """What the customer is told instead of a result (not verified, store unavailable, refused)."""

    text: str


def _unexplained(_error: ProfileError) -> str | None:
    return None


def consult(
    tracker: Tracker,
    profiles: Callable[[], ProfileService],
    purpose: str,
    work: Callable[[Lookup], T],
    explain: Callable[[ProfileError], str | None] = _unexplained,
) -> T | Unanswered:
    """``work`` done for the verified customer, or what to say instead (``answer`` decides that).

    ``explain`` turns a refusal the flow expects (no account to pay from) into its own message.
    """
    results: list[T] = []

    def compose(lookup: Lookup) -> str:
        try:
            results.append(work(lookup))
        except ProfileError as error:
            if (text := explain(error)) is None:
                raise
            return text
        return ""

    text = answer(tracker, profiles, purpose, compose)
    return results[0] if results else Unanswered(text)
