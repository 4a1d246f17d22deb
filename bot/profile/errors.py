"""What can go wrong with a profile request; callers turn each type into their own Chinese message.

Each error names the audit outcome it is recorded under, so the service audits refusals and
failures the same way it audits successes.
"""

from __future__ import annotations

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


class CardAlreadyFrozen(StateUnchanged):
    """The card is already frozen or reported lost (``status`` says which): it cannot be used either way."""

    def __init__(self, status: CardStatus) -> None:
        super().__init__(f"card is already {status.value}")
        self.status = status
