import pytest

from bot.profile.access import ACCESS, Actor, FieldGroup, Relation
from bot.profile.models import Role


def test_every_role_has_a_row_for_every_relation() -> None:
    assert set(ACCESS) == set(Role)
    assert all(set(rows) == set(Relation) for rows in ACCESS.values())


def test_no_staff_role_but_the_supervisor_sees_assets_of_customers_not_their_own() -> None:
    assets = {FieldGroup.ACCOUNTS, FieldGroup.CARDS, FieldGroup.HOLDINGS, FieldGroup.TRANSACTIONS}
    seeing = {role for role, rows in ACCESS.items() if assets & rows[Relation.OTHER]}
    assert seeing == {Role.SUPERVISOR}


def test_only_the_assistant_acts_for_a_verified_customer() -> None:
    assert Actor("bot", Role.BOT, serving="C000001").serving == "C000001"
    with pytest.raises(ValueError, match="only the assistant"):
        Actor("XH1001", Role.AGENT, serving="C000001")
