"""Personal data handling shared by every component.

Pseudonyms: identifiers of customers (conversation ids, WeChat open ids) that must be counted or
joined outside the profile database are stored as keyed hashes. The key comes from
``BANKBOT_PSEUDONYM_KEY`` or, on a machine without one, is generated once into the data directory
(readable by the owner only), so no secret ever lives in the repository.

PII masking: customers type card numbers, 身份证号, mobile numbers and e-mail addresses into the
chat. The gateway masks them before a message goes on to Rasa (``mask_pii``), so the Rasa server,
the action server, their logs and the tracker store only ever see ``****0128``; and every process
masks its log records (``mask_every_log_record``) in case PII reaches a log another way (Rasa's
HTTP API, an exception message).

Detection is regular expressions over a width-folded copy of the text (full-width digits, spaces
and hyphens read as ASCII; folding keeps every position, so masks replace the original characters)
plus each number's own check: the GB 11643-1999 check character and a real birth date for a
身份证号, Luhn for a card number. The checks are what tell a card number from an amount (5000000),
a date (20251101) or a reference number. spaCy (a blank ``zh`` pipeline with an EntityRuler) was
considered and not used: its tokens are characters or jieba words, so ``6222 0212 3456 7890 123``
or ``+86 138-0013-8000`` become long, brittle token patterns that still need these checks in Python,
and every process would load a pipeline just to scan log lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken

from bot.identifiers import id_number_valid, luhn_valid, mask_number, mask_phone
from bot.settings import Settings
from bot.text import fold_width

KEY_BYTES = 32


def pseudonym_key(settings: Settings) -> bytes:
    """The configured key, else the machine's own generated key."""
    return configured_or_local_secret("BANKBOT_PSEUDONYM_KEY", settings.pseudonym_key_file)


def pseudonym(key: bytes, identifier: str) -> str:
    """The same identifier, the same 32 hex characters; not reversible without ``key``."""
    return hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def configured_or_local_secret(variable: str, path: Path) -> bytes:
    """The secret in ``variable``; else one generated once into ``path`` (owner-only) and reused."""
    configured = os.environ.get(variable, "").strip()
    if configured:
        return configured.encode("utf-8")
    return _local_key(path)


def handle_key(settings: Settings) -> bytes:
    """Shared by the gateway (seals) and the action server (opens): see ``Sealer``."""
    return configured_or_local_secret("BANKBOT_HANDLE_KEY", settings.handle_key_file)


class Sealer:
    """Hands one raw value (the phone number a customer types to verify) from the gateway to the
    action server without it being readable anywhere in between.

    The gateway masks the message text as always and puts the sealed value in the message metadata;
    Rasa stores only ciphertext in the tracker, and the action server opens it within ``max_age``
    seconds (Fernet: AES-128-CBC + HMAC-SHA256 with a timestamp), so an old tracker reveals nothing.
    """

    def __init__(self, secret: bytes, max_age: int = 600) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))
        self.max_age = max_age

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, sealed: object) -> str | None:
        """The value, or None if ``sealed`` is not a current seal of ours (forged, old, not a string)."""
        if not isinstance(sealed, str) or len(sealed) > 1000:
            return None
        try:
            return self._fernet.decrypt(sealed.encode("ascii"), ttl=self.max_age).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            return None


def _local_key(path: Path) -> bytes:
    """Created complete or not at all (written aside, then hard-linked): processes start together."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES))
        try:
            os.link(draft, path)
        except FileExistsError:  # another process was first: everyone uses its key
            pass
        finally:
            draft.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < KEY_BYTES:
        raise SystemExit(f"config error: {path} does not hold a key; delete it to generate a new one")
    return key.encode("ascii")


PiiKind = Literal["id_number", "card", "phone", "email"]

EARLIEST_BIRTH_YEAR = 1900
_SEP = "[ -]"  # what customers put between digit groups (full-width forms fold to these)
_DOMAIN = r"[a-z\d-]+(?:\.[a-z\d-]+)*\.[a-z]{2,}"
_MAYBE_PII = re.compile(r"[\d@＠]")  # any script's digits: a cheap test before folding


def plausible_id_number(number: str) -> bool:
    """A valid check character (GB 11643-1999) and a real birth date (YYYYMMDD at 7–14): the
    check character alone lets one random 18-digit number in eleven through."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return EARLIEST_BIRTH_YEAR <= born.year and born <= date.today() and id_number_valid(number)


def _unchecked(_value: str) -> bool:
    return True


def _number(shape: str) -> re.Pattern[str]:
    """A number of this shape that is not part of a longer run of digits, nor of a code that starts
    with letters: our reference numbers (TS2025112200012345) carry 16 digits that may pass Luhn."""
    return re.compile(rf"(?<![\dA-Za-z])(?:{shape})(?!\d)", re.ASCII)


# (kind, pattern over folded text, check of the canonical value), in order of precedence when two
# readings cover the same characters: an 18-digit number with a valid check character is a 身份证号
# even if it also passes Luhn. Grouped forms are the ones printed on cards and typed by customers.
_KINDS: tuple[tuple[PiiKind, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("id_number", _number(rf"\d{{17}}[\dx]|\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dx]"), plausible_id_number),
    ("card", _number(rf"\d{{16,19}}|\d{{4}}(?:{_SEP}\d{{4}}){{3}}(?:{_SEP}\d{{1,3}})?"), luhn_valid),
    ("phone", _number(rf"(?:\+?86{_SEP}?)?1[3-9]\d(?:\d{{8}}|{_SEP}\d{{4}}{_SEP}\d{{4}})"), _unchecked),
    ("email", re.compile(rf"(?<![\w.%+-])[\w.%+-]+@{_DOMAIN}", re.ASCII), _unchecked),
)
_PRECEDENCE = {kind: rank for rank, (kind, _pattern, _check) in enumerate(_KINDS)}


@dataclass(frozen=True)
class PiiSpan:
    """One piece of PII: ``text[start:end]`` is what the customer typed, ``value`` its canonical form
    (ASCII digits without separators or +86, upper-case X; a lower-case e-mail address)."""

    kind: PiiKind
    start: int
    end: int
    value: str

    @property
    def masked(self) -> str:
        """What may be kept: the last four digits of a card or 身份证号 (what customers and agents
        use to tell cards apart), the mobile network prefix and last four, an address's domain."""
        if self.kind == "card":
            return mask_number(self.value)
        if self.kind == "id_number":
            return f"{'*' * 14}{self.value[-4:]}"
        if self.kind == "phone":
            return mask_phone(self.value)
        local, domain = self.value.split("@")
        return f"{local[0]}***@{domain}"


def _canonical(kind: PiiKind, matched: str) -> str:
    if kind == "email":
        return matched
    digits = re.sub(r"[^\dx]", "", matched).upper()
    return digits[-11:] if kind == "phone" else digits  # drops the country code 86


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Matches starting at every position: a candidate that fails its check (a grouped number that
    is not a card) must not hide a real one that starts inside it."""
    match = pattern.search(text)
    while match:
        yield match
        match = pattern.search(text, match.start() + 1)


def _candidates(folded: str) -> Iterator[PiiSpan]:
    for kind, pattern, check in _KINDS:
        for match in _overlapping(pattern, folded):
            value = _canonical(kind, match[0])
            if check(value):
                yield PiiSpan(kind, match.start(), match.end(), value)


def find_pii(text: str) -> list[PiiSpan]:
    """Every piece of PII in ``text``, left to right and never overlapping (the longest reading wins,
    then the stricter kind); positions index ``text`` itself."""
    if not _MAYBE_PII.search(text):
        return []
    found: list[PiiSpan] = []
    for span in sorted(_candidates(fold_width(text)), key=lambda s: (s.start, -s.end, _PRECEDENCE[s.kind])):
        if not found or span.start >= found[-1].end:
            found.append(span)
    return found


def mask_pii(text: str, found: Sequence[PiiSpan] | None = None) -> str:
    """``text`` with every piece of PII replaced by its mask.

    A caller that needs a raw value for this request only (the phone number that identity
    verification checks) passes the ``find_pii(text)`` it already has, keeps the values in memory
    and sends on only the masked text.
    """
    spans = find_pii(text) if found is None else found
    parts, done = [], 0
    for span in spans:
        parts += [text[done : span.start], span.masked]
        done = span.end
    return "".join([*parts, text[done:]])


_JSON_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}")


def _unescape_json(text: str) -> str:
    """``\\u6211`` → ``我`` in JSON log lines (Rasa's structured logs off a terminal). Escaped,
    ``卡号6222…`` reads ``\\u53f76222…``, a digit run that starts inside the escape and is no card
    number. Control and other invisible characters stay escaped."""

    def decode(match: re.Match[str]) -> str:
        char = json.loads(f'"{match[0]}"')
        return match[0] if unicodedata.category(char[0]).startswith("C") else char

    return _JSON_ESCAPE.sub(decode, text)


def _mask_log_text(text: str) -> str:
    """Log text with PII masked (JSON escapes of non-ASCII text decoded first)."""
    return mask_pii(_unescape_json(text))


def _message(record: logging.LogRecord) -> str:
    """The formatted message; one whose arguments do not fit its format still shows them (masked)
    instead of raising where it is logged."""
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        return f"{record.msg} {record.args}"


class PiiMaskingFilter(logging.Filter):
    """Masks PII in a record's message, traceback and stack text; drops no record."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _mask_log_text(_message(record)), ()
        if record.exc_info:  # formatted here: handlers print exc_text as it is
            record.exc_text, record.exc_info = self._tracebacks.formatException(record.exc_info), None
        if record.exc_text:
            record.exc_text = _mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = _mask_log_text(record.stack_info)
        return True


def mask_every_log_record() -> None:
    """Mask every log record this process creates from now on, before any handler sees it.

    A filter on the root logger's handlers would not last: Rasa and rasa_sdk call
    ``coloredlogs.install``, which replaces the root's console handler, and Sanic logs through
    handlers of its own. The record factory is the one place every record passes through.
    """
    create = logging.getLogRecordFactory()
    masking = PiiMaskingFilter()

    def create_masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create(*args, **kwargs)
        masking.filter(record)
        return record

    logging.setLogRecordFactory(create_masked)
