from datetime import date, datetime

import pytest

from bot.dates import parse_when

NOW = datetime(2026, 11, 18, 9, 30)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "day", "hour"),
    [
        ("明天上午", date(2026, 11, 19), 10),
        ("后天下午三点", date(2026, 11, 20), 15),
        ("下周一", date(2026, 11, 23), None),
        ("周五上午10点半", date(2026, 11, 20), 10),
        ("这周五", date(2026, 11, 20), None),
        ("12月5号下午2点", date(2026, 12, 5), 14),
        ("三月五号", date(2027, 3, 5), None),
        ("2026-12-01 9:00", date(2026, 12, 1), 9),
        ("25号", date(2026, 11, 25), None),
        ("10号", date(2026, 12, 10), None),
    ],
)
def test_parse_when(text: str, day: date, hour: int) -> None:
    when = parse_when(text, NOW)
    assert when is not None
    assert (when.day, when.hour) == (day, hour)


def test_half_hour() -> None:
    when = parse_when("周五上午10点半", NOW)
    assert when is not None and when.minute == 30


@pytest.mark.parametrize("text", ["", "随便", "2月30号", "尽快"])
def test_unparseable(text: str) -> None:
    assert parse_when(text, NOW) is None
