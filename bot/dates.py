"""Dates and times as customers write them: 明天下午, 下周一, 3月5号, 周五上午10点.

Only what a customer-service form needs: a day, and optionally an hour. Everything is
resolved relative to an explicit ``now`` so that results are testable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import cn2an

from bot.text import normalize

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
