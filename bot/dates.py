"""Dates and times as customers write them: 明天下午, 下周一, 3月5号, 周五上午10点.

Only what customer service needs: for a booking, a day and optionally an hour (``parse_when``,
read as the future); for a statement, a span of days (``parse_period``: 最近一周, 上个月, read as
the past). Everything is resolved relative to an explicit ``now``/``today`` so results are testable.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import cn2an

from bot.text import normalize

CHINA = timezone(timedelta(hours=8))  # the customers' clock: one time zone, no daylight saving

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_PERIODS = {"凌晨": 0, "早上": 0, "上午": 0, "中午": 12, "下午": 12, "傍晚": 12, "晚上": 12}
_DEFAULT_HOURS = {"早上": 9, "上午": 10, "中午": 12, "下午": 14, "傍晚": 17, "晚上": 19}

_ISO = re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})")
_MONTH_DAY = re.compile(r"(?P<m>\d{1,2})(?:月|/|\.)(?P<d>\d{1,2})(?:日|号)?")
_DAY_ONLY = re.compile(r"(?<![\d月])(?P<d>\d{1,2})(?:日|号)")
_WEEKDAY = re.compile(r"(?P<which>下下|下个?|这个?|本)?(?:周|星期|礼拜)(?P<day>[一二三四五六日天末])")
_HOUR = re.compile(r"(?P<h>\d{1,2})(?:点|:|：|时)(?P<half>半)?(?P<min>\d{1,2})?")


@dataclass(frozen=True)
class When:
    """A resolved day and, when the customer gave one, a time of day."""

    day: date
    hour: int | None = None
    minute: int = 0

    def as_datetime(self) -> datetime | None:
        if self.hour is None:
            return None
        return datetime(self.day.year, self.day.month, self.day.day, self.hour, self.minute)


def _day(text: str, digits: str, today: date) -> date | None:
    """``text`` is the normalised message, ``digits`` the same with numerals as digits
    (weekday names must be matched before 周一 becomes 周1)."""
    for word in sorted(_RELATIVE_DAYS, key=len, reverse=True):
        if word in text:
            return today + timedelta(days=_RELATIVE_DAYS[word])
    if m := _WEEKDAY.search(text):
        return _weekday(today, m["which"] or "", _WEEKDAYS[m["day"]])
    if m := _ISO.search(digits):
        return _safe_date(int(m["y"]), int(m["m"]), int(m["d"]))
    if m := _MONTH_DAY.search(digits):
        candidate = _safe_date(today.year, int(m["m"]), int(m["d"]))
        if candidate and candidate < today:
            candidate = _safe_date(today.year + 1, int(m["m"]), int(m["d"]))
        return candidate
    if m := _DAY_ONLY.search(digits):
        candidate = _safe_date(today.year, today.month, int(m["d"]))
        if candidate and candidate < today:
            nxt = today.replace(day=1) + timedelta(days=32)
            candidate = _safe_date(nxt.year, nxt.month, int(m["d"]))
        return candidate
    return None


def _weekday(today: date, which: str, weekday: int) -> date:
    """这周五 = this week's Friday; 下周五 = Friday of next week; bare 周五 = the next Friday."""
    monday = today - timedelta(days=today.weekday())
    if which.startswith("下下"):
        return monday + timedelta(weeks=2, days=weekday)
    if which.startswith("下"):
        return monday + timedelta(weeks=1, days=weekday)
    if which:
        return monday + timedelta(days=weekday)
    ahead = (weekday - today.weekday()) % 7
    return today + timedelta(days=ahead)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _time(text: str) -> tuple[int | None, int]:
    period = next((p for p in _PERIODS if p in text), None)
    m = _HOUR.search(text)
    if not m:
        return (_DEFAULT_HOURS.get(period) if period else None), 0
    hour = int(m["h"])
    minute = 30 if m["half"] else int(m["min"] or 0)
    if period and hour < 12:
        hour += _PERIODS[period]
    if hour > 23 or minute > 59:
        return None, 0
    return hour, minute


def parse_when(text: str, now: datetime) -> When | None:
    """Resolve a customer's date/time expression; None if no day can be found."""
    text = normalize(text)
    digits = cn2an.transform(text, "cn2an")
    day = _day(text, digits, now.date())
    if day is None:
        return None
    hour, minute = _time(digits)
    return When(day, hour, minute)


# -- spans of past days, for statements ---------------------------------------------------------

_PAST_DAYS = {"大前天": 3, "前天": 2, "昨天": 1, "昨日": 1, "今天": 0, "今日": 0}
_COUNT = r"\d+(?:\.\d+)?|半"  # cn2an writes 半个月 as 0.5个月
_WINDOW = re.compile(
    rf"(?:(?:最近|近|过去)(?P<n>{_COUNT})个?|(?P<bare>{_COUNT})个)(?P<unit>天|日|周|星期|礼拜|月|年)"
)
_LAST_WEEK = re.compile(r"上个?(?:周|星期|礼拜)(?P<day>[一二三四五六日天])?")
_THIS_WEEK = re.compile(r"(?:这个?|本)(?:周|星期|礼拜)")
_YEAR_MONTH = re.compile(r"(?P<y>\d{4})年(?:(?P<m>\d{1,2})月)?")
_MONTH = re.compile(r"(?<![\d年])(?P<m>\d{1,2})月")
_UNTIL_NOW = re.compile(r"到现在|到今天|至今|以来")


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` up to, but not including, ``end``."""

    start: date
    end: date


def parse_period(text: str, today: date) -> Period | None:
    """The days a customer asks about in a statement question, read as the past; None if none.

    最近一周 / 近3个月 / 最近半年 are windows ending today; 上个月, 上周, 本月, 今年, 去年, 2024年,
    2024年3月, 8月 are calendar spans; 昨天, 上周五, 3月5号, 10号 single days; "…到现在" runs to today.
    """
    text = normalize(text)
    digits = cn2an.transform(text, "cn2an")
    try:
        period = _window(digits, today) or _calendar(digits, today) or _named(text, today)
    except (ValueError, OverflowError):  # a span reaching before year 1 or beyond the calendar
        return None
    if period is not None and _UNTIL_NOW.search(text):
        return Period(period.start, today + timedelta(days=1))
    return period


def _window(digits: str, today: date) -> Period | None:
    """最近一周 = the week up to today; 最近一个月 = since the same day last month; 半个月 = 15 days."""
    m = _WINDOW.search(digits)
    if not m:
        return None
    raw, unit = m["n"] or m["bare"], m["unit"]
    count = 0.5 if raw == "半" else float(raw)
    months = count * {"月": 1, "年": 12}.get(unit, 0)
    if months and months.is_integer():
        start = _months_before(today, int(months))
    else:
        days = months * 30 if months else count * (1 if unit in "天日" else 7)
        start = today - timedelta(days=round(days))
    return Period(start, today + timedelta(days=1))


def _calendar(digits: str, today: date) -> Period | None:
    """A date, month or year written out; without a year, the latest one not after today."""
    if m := _ISO.search(digits):
        return _one_day(_safe_date(int(m["y"]), int(m["m"]), int(m["d"])))
    if m := _MONTH_DAY.search(digits):
        day = _safe_date(today.year, int(m["m"]), int(m["d"]))
        if day is not None and day > today:  # still to come this year: last year's
            day = _safe_date(today.year - 1, day.month, day.day)
        return _one_day(day)
    if m := _YEAR_MONTH.search(digits):
        if m["m"] is None:
            return Period(date(int(m["y"]), 1, 1), date(int(m["y"]) + 1, 1, 1))
        return _month(int(m["y"]), int(m["m"]))
    if m := _MONTH.search(digits):
        month = int(m["m"])
        return _month(today.year if month <= today.month else today.year - 1, month)
    if m := _DAY_ONLY.search(digits):
        day = _safe_date(today.year, today.month, int(m["d"]))
        if day is None or day > today:
            previous = today.replace(day=1) - timedelta(days=1)
            day = _safe_date(previous.year, previous.month, int(m["d"]))
        return _one_day(day)
    return None


def _named(text: str, today: date) -> Period | None:
    """昨天, 上周(五), 本周, 上个月, 本月, 今年, 去年, 前年, and vague ones (最近, 这几天)."""
    for word in _PAST_DAYS:
        if word in text:
            return _one_day(today - timedelta(days=_PAST_DAYS[word]))
    monday = today - timedelta(days=today.weekday())
    if m := _LAST_WEEK.search(text):
        if m["day"]:
            return _one_day(monday - timedelta(weeks=1) + timedelta(days=_WEEKDAYS[m["day"]]))
        return Period(monday - timedelta(weeks=1), monday)
    if _THIS_WEEK.search(text):
        return Period(monday, today + timedelta(days=1))
    if "上个月" in text or "上月" in text:
        previous = today.replace(day=1) - timedelta(days=1)
        return _month(previous.year, previous.month)
    if any(word in text for word in ("本月", "这个月", "这月")):
        return Period(today.replace(day=1), today + timedelta(days=1))
    for word, years_back in (("今年", 0), ("本年", 0), ("去年", 1), ("前年", 2)):
        if word in text:
            year = today.year - years_back
            return Period(date(year, 1, 1), min(date(year + 1, 1, 1), today + timedelta(days=1)))
    return _vague_recent(text, today)


def _vague_recent(text: str, today: date) -> Period | None:
    """这几天 / 这两天 = the last week; 最近 / 近期 / 近来 alone = the last month."""
    if any(word in text for word in ("这几天", "这两天", "这些天", "前几天")):
        return Period(today - timedelta(days=7), today + timedelta(days=1))
    if any(word in text for word in ("最近", "近期", "近来", "这段时间")):
        return Period(_months_before(today, 1), today + timedelta(days=1))
    return None


def _one_day(day: date | None) -> Period | None:
    return Period(day, day + timedelta(days=1)) if day else None


def _month(year: int, month: int) -> Period | None:
    if not 1 <= month <= 12:
        return None
    start = date(year, month, 1)
    return Period(start, start + timedelta(days=calendar.monthrange(year, month)[1]))


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or that month's last day when it is shorter (3月31日 → 2月28日)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
