"""Who may see and change what: the one table the profile service checks every request against.

Data is grouped into field groups; a request touches one group (a write needs the group it
changes). What a role may touch depends on its relation to the customer: the assistant is bound to
the customer verified in its conversation, a relationship manager to their own clients.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.profile.models import Role


class FieldGroup(str, enum.Enum):
    IDENTITY = "identity"  # which customer a WeChat openid / web user id belongs to
    CONTACT = "contact"  # name, title, masked phone, tier
    SERVICE = "service"  # complaint tickets and appointments
    ACCOUNTS = "accounts"  # accounts and balances
    CARDS = "cards"  # masked card numbers, status, limits
    HOLDINGS = "holdings"  # risk level, funds and wealth products, fixed-investment plans
    TRANSACTIONS = "transactions"


class Relation(enum.Enum):
    OWN = "own"  # the assistant's verified customer; an advisor's own client
    OTHER = "other"


ALL = frozenset(FieldGroup)
FRONT_DESK = frozenset({FieldGroup.IDENTITY, FieldGroup.CONTACT, FieldGroup.SERVICE})

ACCESS: dict[Role, dict[Relation, frozenset[FieldGroup]]] = {
    Role.BOT: {Relation.OWN: ALL, Relation.OTHER: frozenset({FieldGroup.IDENTITY})},
    Role.AGENT: {Relation.OWN: FRONT_DESK, Relation.OTHER: FRONT_DESK},
    Role.ADVISOR: {Relation.OWN: ALL, Relation.OTHER: frozenset({FieldGroup.CONTACT})},
    Role.SUPERVISOR: {Relation.OWN: ALL, Relation.OTHER: ALL},
}


@dataclass(frozen=True)
class Actor:
    """The caller: a staff number (``XH2001``) with its role, or the assistant.

    For the assistant, ``serving`` is the customer number verified in the conversation; without
    one it may only find out who a channel user is.
    """

    id: str
    role: Role
    serving: str | None = None

    def __post_init__(self) -> None:
        if self.serving is not None and self.role is not Role.BOT:
            raise ValueError("only the assistant acts for a verified customer; staff act as themselves")


def allowed(role: Role, relation: Relation, group: FieldGroup) -> bool:
    return group in ACCESS[role][relation]
