from decimal import Decimal

import pytest

from bot.amounts import parse_amount, parse_amount_bounds


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


@pytest.mark.parametrize(
    ("amount", "context", "expected"),
    [
        ("5000", "超过 的", ("5000", None)),
        ("超过5000", "", ("5000", None)),
        ("5千", " 以上", ("5000", None)),
        ("1万", "不少于 ", ("10000", None)),
        ("500", " 以下", (None, "500")),
        ("5000", "不超过 ", (None, "5000")),
        ("298", "那笔 的", ("298", "298")),
        ("-300", "", ("300", "300")),
    ],
)
def test_parse_amount_bounds(amount: str, context: str, expected: tuple) -> None:
    as_decimals = tuple(None if v is None else Decimal(v) for v in expected)
    assert parse_amount_bounds(amount, context) == as_decimals


def test_amount_bounds_need_an_amount() -> None:
    assert parse_amount_bounds("很多", "超过") is None
