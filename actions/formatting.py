"""How amounts and times are shown to customers."""

from __future__ import annotations

from decimal import Decimal

from actions.config import messages
from bot.dates import When


def format_amount(value: Decimal) -> str:
    """5000 → "5,000元", 1234.5 → "1,234.50元"."""
    if value == value.to_integral_value():
        return f"{int(value):,}元"
    return f"{value:,.2f}元"


def format_when(when: When) -> str:
    """ "2026年11月24日（周二）上午10:00"; the time part only when the customer gave one."""
    weekday = messages("weekdays")[when.day.weekday()]
    text = f"{when.day.year}年{when.day.month}月{when.day.day}日（{weekday}）"
    if when.hour is None:
        return text
    period = "上午" if when.hour < 12 else "下午"
    return f"{text}{period}{when.hour}:{when.minute:02d}"
