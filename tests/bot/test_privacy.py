import io
import json
import logging
import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.privacy import PiiMaskingFilter, Sealer, find_pii, mask_every_log_record, mask_pii, pseudonym_key
from bot.settings import load_settings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("BANKBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BANKBOT_PSEUDONYM_KEY", raising=False)
    return load_settings()


def test_a_machine_key_is_generated_once_and_readable_by_the_owner_only(settings) -> None:
    first = pseudonym_key(settings)
    assert len(first) == 64
    assert pseudonym_key(settings) == first
    mode = stat.S_IMODE(os.stat(settings.pseudonym_key_file).st_mode)
    assert mode == 0o600
    assert [p.name for p in settings.data_dir.iterdir()] == ["pseudonym.key"]  # no drafts left behind


def test_the_configured_key_wins(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKBOT_PSEUDONYM_KEY", "configured-key-" + "x" * 20)
    assert pseudonym_key(settings) == ("configured-key-" + "x" * 20).encode()
    assert not settings.pseudonym_key_file.exists()


def test_an_emptied_key_file_is_a_clear_error(settings) -> None:
    settings.pseudonym_key_file.write_text("")
    with pytest.raises(SystemExit, match="does not hold a key"):
        pseudonym_key(settings)


CARD = "6222021234567890128"  # Luhn-valid, 19 digits
ID_NUMBER = "110101199003077774"  # valid check character, born 1990-03-07


def spans(text: str) -> list[tuple[str, str, str]]:
    """(kind, what the customer typed, canonical value) of each piece found."""
    return [(s.kind, text[s.start : s.end], s.value) for s in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "kind", "typed", "value"),
    [
        (f"我的卡号{CARD}丢了", "card", CARD, CARD),
        ("卡号 6222 0212 3456 7890 128 谢谢", "card", "6222 0212 3456 7890 128", CARD),
        ("6222-0212-3456-7890-128", "card", "6222-0212-3456-7890-128", CARD),
        (
            "卡号６２２２０２１２３４５６７８９０１２８",
            "card",
            "６２２２０２１２３４５６７８９０１２８",
            CARD,
        ),
        ("信用卡6225880123456783还款", "card", "6225880123456783", "6225880123456783"),
        (f"身份证号{ID_NUMBER}", "id_number", ID_NUMBER, ID_NUMBER),
        ("证件号11010519491231002x", "id_number", "11010519491231002x", "11010519491231002X"),
        (
            "身份证１１０１０５１９４９１２３１００２Ｘ",
            "id_number",
            "１１０１０５１９４９１２３１００２Ｘ",
            "11010519491231002X",
        ),
        ("110101 19900307 7774", "id_number", "110101 19900307 7774", ID_NUMBER),
        ("手机13800138000", "phone", "13800138000", "13800138000"),
        ("电话+86 138-0013-8000吧", "phone", "+86 138-0013-8000", "13800138000"),
        ("打8613800138000", "phone", "8613800138000", "13800138000"),
        ("手机号１３８ ００１３ ８０００", "phone", "１３８ ００１３ ８０００", "13800138000"),
        ("邮箱Zhang.San@Example.com谢谢", "email", "Zhang.San@Example.com", "zhang.san@example.com"),
        ("发到13800138000＠163.com", "email", "13800138000＠163.com", "13800138000@163.com"),
    ],
)
def test_pii_is_found_embedded_spaced_and_full_width(text: str, kind: str, typed: str, value: str) -> None:
    assert spans(text) == [(kind, typed, value)]


@pytest.mark.parametrize(
    "text",
    [
        "转账5000000元",
        "20251101那天转的",
        "2025-11-01 转了 3000",
        "62258801234567830",  # a valid 16-digit card number plus one digit: 17 digits, fails Luhn
        f"{CARD}1",  # a valid card number inside a longer run
        f"9{ID_NUMBER}",
        ID_NUMBER[:17],
        "6222021234567891",  # fails Luhn
        "110101199003077777",  # wrong check character
        "110101199013077778",  # right check character, no 13th month
        "110101210001017772",  # right check character, born in 2100
        "12800138000",  # no mobile network starts with 12
        "138001380001",
        "订单号 1380013800012345",  # 16 digits failing Luhn, with a mobile number's digits inside
        "投诉编号TS2025112200000008处理到哪了",  # our reference numbers: digits that pass Luhn after letters
        "预约号 YY2025112200000008",
        "邮箱是zhang.san@localhost",
    ],
)
def test_amounts_dates_and_failing_numbers_are_left_alone(text: str) -> None:
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_each_kind_keeps_only_what_is_useful() -> None:
    text = f"卡{CARD}，证{ID_NUMBER}，电话13800138000，邮箱zhang.san@example.com"
    assert mask_pii(text) == "卡****0128，证**************7774，电话138****8000，邮箱z***@example.com"


def test_masks_replace_the_original_characters_by_position() -> None:
    assert mask_pii("卡号６２２２ ０２１２ ３４５６ ７８９０ １２８，谢谢") == "卡号****0128，谢谢"


def test_an_18_digit_number_with_a_valid_check_character_is_an_id_not_a_card() -> None:
    assert [s.kind for s in find_pii(f"号码{ID_NUMBER}")] == ["id_number"]
    assert [s.kind for s in find_pii("110101199003077778")] == ["card"]  # wrong ID check, Luhn-valid


def test_masked_text_is_masked_again_unchanged() -> None:
    masked = mask_pii(f"卡号{CARD} 手机13800138000 邮箱zhang.san@example.com")
    assert mask_pii(masked) == masked


def test_a_caller_can_keep_the_raw_values_and_forward_the_mask() -> None:
    text = f"手机13800138000，卡号{CARD}"
    found = find_pii(text)
    assert {s.kind: s.value for s in found} == {"phone": "13800138000", "card": CARD}
    assert mask_pii(text, found) == mask_pii(text) == "手机138****8000，卡号****0128"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A real logger writing through a plain handler into a buffer."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    logger = logging.getLogger(f"tests.privacy.{uuid.uuid4()}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, output
    logger.removeHandler(handler)


def test_the_filter_masks_message_arguments_and_tracebacks(log) -> None:
    logger, output = log
    logger.handlers[0].addFilter(PiiMaskingFilter())
    logger.info("customer said %s", f"卡号{CARD}")
    try:
        raise ValueError(f"no account for ID {ID_NUMBER}")
    except ValueError:
        logger.exception("lookup failed for %s", "13800138000")
    printed = output.getvalue()
    assert CARD not in printed and ID_NUMBER not in printed and "13800138000" not in printed
    assert "customer said 卡号****0128" in printed
    assert "lookup failed for 138****8000" in printed
    assert "ValueError: no account for ID **************7774" in printed


def test_json_log_lines_with_escaped_chinese_are_masked(log) -> None:
    logger, output = log
    logger.handlers[0].addFilter(PiiMaskingFilter())
    logger.debug(json.dumps({"parse_data_text": f"我的卡号{CARD}", "emoji": "😀\x01"}))
    assert json.loads(output.getvalue()) == {"parse_data_text": "我的卡号****0128", "emoji": "😀\x01"}


def test_arguments_that_do_not_fit_the_format_are_masked_not_raised(log) -> None:
    logger, output = log
    logger.handlers[0].addFilter(PiiMaskingFilter())
    logger.info("card %d", CARD)
    assert CARD not in output.getvalue() and "****0128" in output.getvalue()


@pytest.fixture
def restored_record_factory() -> Iterator[None]:
    original = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(original)


def test_every_record_is_masked_whatever_handler_prints_it(log, restored_record_factory) -> None:
    logger, output = log
    mask_every_log_record()
    logger.warning("身份证 %s 卡 %s", ID_NUMBER, CARD)  # the handler has no filter of its own
    assert output.getvalue() == "身份证 **************7774 卡 ****0128\n"


def test_a_sealed_value_opens_only_with_the_key_and_only_while_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    sealer = Sealer(b"a" * 32, max_age=60)
    sealed = sealer.seal("13800138000")
    assert "13800138000" not in sealed and "8000" not in sealed
    assert sealer.open(sealed) == "13800138000"
    assert Sealer(b"b" * 32).open(sealed) is None
    for forged in (sealed[:-2] + "AA", "", "not a token", None, 12, ["x"], "x" * 5000):
        assert sealer.open(forged) is None
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert sealer.open(sealed) is None
