"""How amounts and times are shown to customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from actions.config import messages
from bot.dates import CHINA, Period, When


def format_amount(value: Decimal) -> str:
    """5000 → "5,000元", 1234.5 → "1,234.50元"."""
    if value == value.to_integral_value():
        return f"{int(value):,}元"
    return f"{value:,.2f}元"


def format_money(value: Decimal, currency: str = "CNY", *, signed: bool = False) -> str:
    """Account money to the cent, as statements show it: "12,345.67 元", "+8,000.00 元", "-38.50 美元"."""
    unit = messages("currencies").get(currency, {}).get("unit", currency)
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:,.2f} {unit}"


def currency_name(currency: str) -> str:
    """CNY → 人民币; a code we have no name for is shown as it is."""
    return messages("currencies").get(currency, {}).get("name", currency)


def format_day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def format_period(period: Period) -> str:
    """ "2025年6月1日至6月30日"; one day is just that day."""
    last = period.end - dt.timedelta(days=1)
    if last <= period.start:
        return format_day(period.start)
    end = format_day(last) if last.year != period.start.year else f"{last.month}月{last.day}日"
    return f"{format_day(period.start)}至{end}"


def format_moment(moment: dt.datetime) -> str:
    """A stored (UTC) time as customers saw it happen: "6月28日 21:56", China time."""
    local = moment.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def format_when(when: When) -> str:
    """ "2026年11月24日（周二）上午10:00"; the time part only when the customer gave one."""
    weekday = messages("weekdays")[when.day.weekday()]
    text = f"{format_day(when.day)}（{weekday}）"
    if when.hour is None:
        return text
    period = "上午" if when.hour < 12 else "下午"
    return f"{text}{period}{when.hour}:{when.minute:02d}"
