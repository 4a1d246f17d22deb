import pytest

from bot.text import fold_width, normalize


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


def test_fold_width_reads_digits_and_latin_but_keeps_the_script() -> None:
    assert fold_width("帳號６２２２－０２１２　ＡＢ＠") == "帳號6222-0212 ab@"
