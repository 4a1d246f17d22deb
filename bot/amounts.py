"""Money amounts as customers write them: 500元, 五千块, 1.5万, 两百, 3w, 5k, 1,000."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import cn2an

from bot.text import normalize

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
_AMOUNT = re.compile(
    rf"(?P<number>\d+(?:\.\d+)?|[{_CN_DIGITS}点]+)\s*(?P<unit>[wk万千百亿])?",
)
_UNITS = {"w": "万", "k": "千"}
# The measure word in 一个亿 / 两个w sits between the number and its unit.
_MEASURE_WORD = re.compile(rf"(?<=[\d{_CN_DIGITS}])个(?=[wk万千百亿])")


def parse_amount(text: str) -> Decimal | None:
    """The first money amount in ``text`` as a Decimal, or None if there is none.

    Negative signs are kept so callers can refuse them explicitly rather than
    silently reading "-500" as 500.
    """
    clean = _MEASURE_WORD.sub("", normalize(text).replace(",", "").replace("，", ""))
    match = _AMOUNT.search(clean)
    if not match:
        return None
    number, unit = match.group("number"), match.group("unit") or ""
    if number == "点":
        return None
    try:
        value = Decimal(str(cn2an.cn2an(number + _UNITS.get(unit, unit), "smart")))
    except (ValueError, KeyError, InvalidOperation):
        return None
    negative = clean[: match.start()].rstrip().endswith(("-", "负"))
    return -value if negative else value


# Words that make an amount a bound, "not …" forms first (不超过 contains 超过, 不少于 contains 少于).
_BOUNDS = (
    *(("at_most", w) for w in ("不超过", "不高于", "不到")),
    *(("at_least", w) for w in ("不少于", "不低于", "超过", "以上", "大于", "高于", "多于")),
    *(("at_most", w) for w in ("以下", "以内", "之内", "低于", "少于", "小于")),
)


def parse_amount_bounds(amount_text: str, context: str = "") -> tuple[Decimal | None, Decimal | None] | None:
    """(at least, at most) for 超过5000 / 5000以下 / 298: a bare amount is exact; None without an amount.

    The amount is read from ``amount_text``; the comparison from it or from ``context``, the words
    around it in the message (NLU often tags only the number of 超过5000的).
    """
    amount = parse_amount(amount_text)
    if amount is None:
        return None
    amount = abs(amount)
    words = normalize(amount_text + " " + context)
    bound = next((kind for kind, word in _BOUNDS if word in words), None)
    if bound == "at_least":
        return amount, None
    if bound == "at_most":
        return None, amount
    return amount, amount
