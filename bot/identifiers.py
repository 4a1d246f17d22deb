"""Check digits of card and ID numbers, and their masked forms.

Shared by the profile service (which masks numbers before anything leaves it) and ``bot.privacy``
(which finds and masks numbers that customers type).
"""

from __future__ import annotations

import datetime as dt

# GB 11643-1999: weight of digit i is 2^(17-i) mod 11; the check character is indexed by the sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"


def luhn_valid(number: str) -> bool:
    """Whether a card number's last digit is its Luhn check digit (catches typos and invented numbers)."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def id_check_character(first_17: str) -> str:
    """The 18th character of a resident ID number (身份证号) with these first 17 digits."""
    if len(first_17) != len(ID_WEIGHTS) or not first_17.isdigit():
        raise ValueError(f"need 17 digits, got {first_17!r}")
    return ID_CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first_17, ID_WEIGHTS, strict=True)) % 11]


def id_number_valid(number: str) -> bool:
    """Whether an 18-character ID number is well formed and its check character matches."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_character(number[:17]) == number[17].upper()


def mask_number(number: str) -> str:
    """An account or card number as customers may see it in a chat: ``****1234``."""
    return "****" + number[-4:]


def mask_phone(phone: str) -> str:
    """A mobile number with its middle hidden, the way Chinese banks print it: ``138****5678``."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****" + phone[-4:]


def reference_number(prefix: str, day: dt.date, serial: int) -> str:
    """What customers quote for a request: kind prefix, date, 8 digits (``TS2025061400012345``)."""
    return f"{prefix}{day:%Y%m%d}{serial:08d}"
