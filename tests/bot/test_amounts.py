from decimal import Decimal

import pytest

from bot.amounts import parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500元", "500"),
        ("转五千块给我妈", "5000"),
        ("1.5万", "15000"),
        ("两百块", "200"),
        ("3w", "30000"),
        ("5k", "5000"),
        ("１，０００元", "1000"),
        ("一万五千", "15000"),
        ("12.34", "12.34"),
        ("-500", "-500"),
    ],
)
def test_parse_amount(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "给我妈", "点", "转账", "!!!"])
def test_parse_amount_without_number(text: str) -> None:
    assert parse_amount(text) is None
