import pytest

from bot.text import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("转账５００元", "转账500元"),
        ("帳戶餘額", "账户余额"),
        ("ＡＴＭ吞卡了", "atm吞卡了"),
        ("我的銀行卡丟了", "我的银行卡丢了"),
        ("ok 500块", "ok 500块"),
    ],
)
def test_normalize_folds_width_script_and_case(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["面积100㎡的房子", "İstanbul 转账", "①号窗口", "😀😀转账", ""])
def test_normalize_keeps_every_character_position(raw: str) -> None:
    assert len(normalize(raw)) == len(raw)
