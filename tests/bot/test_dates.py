from datetime import date, datetime

import pytest

from bot.dates import Period, parse_period, parse_when

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


TODAY = date(2025, 6, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("最近一周", date(2025, 6, 23), date(2025, 7, 1)),
        ("近7天", date(2025, 6, 23), date(2025, 7, 1)),
        ("最近一个月", date(2025, 5, 30), date(2025, 7, 1)),
        ("近3个月", date(2025, 3, 30), date(2025, 7, 1)),
        ("最近半年", date(2024, 12, 30), date(2025, 7, 1)),
        ("半个月", date(2025, 6, 15), date(2025, 7, 1)),
        ("近一年", date(2024, 6, 30), date(2025, 7, 1)),
        ("上个月", date(2025, 5, 1), date(2025, 6, 1)),
        ("上月", date(2025, 5, 1), date(2025, 6, 1)),
        ("这个月", date(2025, 6, 1), date(2025, 7, 1)),
        ("上星期", date(2025, 6, 23), date(2025, 6, 30)),
        ("上周五", date(2025, 6, 27), date(2025, 6, 28)),
        ("本周", date(2025, 6, 30), date(2025, 7, 1)),
        ("昨天", date(2025, 6, 29), date(2025, 6, 30)),
        ("前天晚上", date(2025, 6, 28), date(2025, 6, 29)),
        ("今年", date(2025, 1, 1), date(2025, 7, 1)),
        ("去年", date(2024, 1, 1), date(2025, 1, 1)),
        ("2023年全年", date(2023, 1, 1), date(2024, 1, 1)),
        ("2024年3月", date(2024, 3, 1), date(2024, 4, 1)),
        ("8月", date(2024, 8, 1), date(2024, 9, 1)),
        ("三月五号", date(2025, 3, 5), date(2025, 3, 6)),
        ("7月1号", date(2024, 7, 1), date(2024, 7, 2)),
        ("10号", date(2025, 6, 10), date(2025, 6, 11)),
        ("1月1号到现在", date(2025, 1, 1), date(2025, 7, 1)),
        ("最近", date(2025, 5, 30), date(2025, 7, 1)),
        ("近期", date(2025, 5, 30), date(2025, 7, 1)),
        ("这几天", date(2025, 6, 23), date(2025, 7, 1)),
    ],
)
def test_parse_period_reads_the_past(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start, end)


@pytest.mark.parametrize("text", ["", "那个时候", "2月30号", "0000年", "最近99999999999天", "13月"])
def test_unparseable_period(text: str) -> None:
    assert parse_period(text, TODAY) is None
