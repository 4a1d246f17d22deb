"""Text normalisation shared by the NLU pipeline and the actions.

Customers type full-width digits (５００), traditional characters (帳戶) and stray
whitespace; the model should see one canonical form. Every mapping here is
character-for-character, so entity offsets computed on the normalised text are
valid for the original text too.
"""

from __future__ import annotations

import unicodedata

import zhconv


def _fold_char(char: str) -> str:
    """Full-width → half-width, compatibility forms and lower case, when the result stays
    one character (NFKC turns ㎡ into "m2"; such characters are kept as they are)."""
    folded = unicodedata.normalize("NFKC", char).lower()
    return folded if len(folded) == 1 else char


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese, keeping the length (phrase conversions that change
    length fall back to character-by-character conversion)."""
    converted = zhconv.convert(text, "zh-cn")
    if len(converted) == len(text):
        return converted
    return "".join(c if len(c) == 1 else o for o, c in ((o, zhconv.convert(o, "zh-cn")) for o in text))


def fold_width(text: str) -> str:
    """Half-width, lower-case Latin, script untouched: enough to read digits and addresses, and
    much cheaper than ``normalize`` (the PII scan runs on every log record)."""
    return "".join(_fold_char(c) for c in text)


def normalize(text: str) -> str:
    """Canonical form of customer text: half-width, simplified, lower-case Latin.

    Length is preserved exactly (see module docstring).
    """
    return to_simplified(fold_width(text))
