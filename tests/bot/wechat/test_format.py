"""Bot replies as WeChat text: numbered options for buttons, long answers split within 2048 bytes."""

from __future__ import annotations

from bot.wechat.format import MAX_BYTES, as_text, chunks


def test_buttons_become_numbered_options() -> None:
    text, payloads = as_text(
        [
            {"text": "您想了解哪一个？", "buttons": [{"title": "信用卡年费", "payload": "/a"}]},
            {"text": "或者", "buttons": [{"title": "转人工", "payload": "/request_human"}]},
        ]
    )
    assert text == "您想了解哪一个？\n1. 信用卡年费\n\n或者\n2. 转人工\n（回复数字即可选择）"
    assert payloads == ["/a", "/request_human"]


def test_plain_replies_have_no_options() -> None:
    assert as_text([{"text": "您好"}, {"text": ""}]) == ("您好", [])


def test_long_text_is_split_at_line_ends_within_the_byte_limit() -> None:
    lines = [f"第{n}条说明：" + "星海银行" * 40 for n in range(30)]
    pieces = chunks("\n".join(lines))
    assert len(pieces) > 1 and all(len(p.encode()) <= MAX_BYTES for p in pieces)
    assert "\n".join(pieces) == "\n".join(lines)  # nothing lost, nothing added


def test_one_very_long_line_is_cut_by_characters() -> None:
    line = "星" * 2000  # 6000 bytes
    pieces = chunks(line)
    assert "".join(pieces) == line and all(len(p.encode()) <= MAX_BYTES for p in pieces)


def test_empty_text_gives_no_pieces() -> None:
    assert chunks("") == []
