import datetime as dt

import pytest

from bot.identifiers import (
    id_check_character,
    id_number_valid,
    luhn_valid,
    mask_number,
    mask_phone,
    reference_number,
)


@pytest.mark.parametrize("number", ["4111111111111111", "79927398713", "6217993213006931234"])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "79927398710", "6217-9932", "", "0"])
def test_luhn_rejects_typos_and_non_numbers(number: str) -> None:
    assert not luhn_valid(number)


def test_id_numbers_follow_gb_11643() -> None:
    assert id_check_character("11010519491231002") == "X"  # the standard's own example
    assert id_number_valid("11010519491231002X") and id_number_valid("11010519491231002x")
    assert not id_number_valid("110105194912310021")  # wrong check character
    assert not id_number_valid("11010519491231002")  # too short
    with pytest.raises(ValueError):
        id_check_character("1101051949123100X")


def test_masks_keep_only_what_a_customer_may_see() -> None:
    assert mask_number("6217993213006931234") == "****1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("5678") == "****5678"


def test_reference_numbers_carry_kind_and_day() -> None:
    assert reference_number("TS", dt.date(2025, 6, 14), 12345) == "TS2025061400012345"
