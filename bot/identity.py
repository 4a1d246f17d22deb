"""Who the customer is, before anything about their accounts is said.

Two ways in:

* Web: the bank's website signs a token (JWT, HS256 with a shared secret or RS256 with the bank's
  key pair) for its logged-in user and hands it to the widget; ``TokenVerifier`` accepts only
  unexpired tokens with the configured algorithm, issuer and audience.
* WeChat: an open id is bound to a customer after a one-time code sent to the phone number the
  bank has on file. ``OneTimeCodes`` issues and checks the codes: stored only as keyed hashes,
  valid for a few minutes, and three wrong tries lock the subject out for a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import jwt
import sqlalchemy as sa

from bot.privacy import configured_or_local_secret
from bot.profile.access import Actor
from bot.profile.db import create_engine
from bot.profile.models import Channel, Role
from bot.profile.service import ProfileService
from bot.settings import Settings

logger = logging.getLogger(__name__)

Algorithm = Literal["HS256", "RS256"]
CODE_DIGITS = 6


class TokenError(ValueError):
    """A web token that must not be trusted; the message says why (for logs, not customers)."""


@dataclass(frozen=True)
class WebIdentity:
    """A verified web user: the bank's user id (``sub``) and, when the site knows it, the customer."""

    user_id: str
    customer_no: str | None
    expires_at: dt.datetime


class TokenVerifier:
    """Checks tokens signed by the bank's website."""

    def __init__(
        self,
        algorithm: Algorithm,
        key: str,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        if algorithm not in ("HS256", "RS256"):
            raise ValueError(f"unsupported token algorithm {algorithm!r}; use HS256 or RS256")
        if not key:
            raise ValueError("a token key is required (the HS256 secret or the RS256 public key)")
        self.algorithm, self.key = algorithm, key
        self.issuer, self.audience, self.leeway = issuer, audience, leeway_seconds

    def verify(self, token: str) -> WebIdentity:
        """The identity in ``token``; ``TokenError`` if forged, expired, malformed or for someone else."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],  # never taken from the token: no "alg: none" or key confusion
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as error:
            raise TokenError(f"{type(error).__name__}: {error}") from None
        customer = claims.get("customer_no")
        return WebIdentity(
            user_id=str(claims["sub"]),
            customer_no=customer if isinstance(customer, str) and customer else None,
            expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc),
        )


def token_verifier(settings: Settings) -> TokenVerifier:
    """The verifier the settings describe.

    RS256 checks with the bank's public key (``WEB_TOKEN_PUBLIC_KEY_FILE``). HS256 shares a secret
    with the website: ``WEB_TOKEN_SECRET``, or on a development machine a generated one that
    ``python -m bot token`` signs demo tokens with.
    """
    issuer, audience = settings.web_token_issuer, settings.web_token_audience
    if settings.web_token_algorithm == "RS256":
        key_file = settings.web_token_public_key_file
        if key_file is None or not key_file.is_file():
            raise SystemExit(f"config error: RS256 tokens need WEB_TOKEN_PUBLIC_KEY_FILE (got {key_file})")
        return TokenVerifier("RS256", key_file.read_text(encoding="ascii"), issuer, audience)
    if settings.web_token_algorithm != "HS256":
        algorithm = settings.web_token_algorithm
        raise SystemExit(f"config error: WEB_TOKEN_ALGORITHM={algorithm!r}; use HS256 or RS256")
    return TokenVerifier("HS256", web_token_secret(settings).decode(), issuer, audience)


def web_token_secret(settings: Settings) -> bytes:
    return configured_or_local_secret("WEB_TOKEN_SECRET", settings.web_token_secret_file)


def sign_demo_token(settings: Settings, user_id: str, minutes: int = 60) -> str:
    """A token as the bank's website would issue it (HS256 only: with RS256 the website has the key)."""
    if settings.web_token_algorithm != "HS256":
        raise SystemExit("demo tokens need HS256; with RS256 the bank's website signs them")
    claims = {"sub": user_id, "exp": dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)}
    if settings.web_token_issuer:
        claims["iss"] = settings.web_token_issuer
    if settings.web_token_audience:
        claims["aud"] = settings.web_token_audience
    return jwt.encode(claims, web_token_secret(settings).decode(), algorithm="HS256")


def web_customer(identity: WebIdentity, profiles: ProfileService) -> str | None:
    """The customer a verified web user is: the token says so, or their bound web user id does."""
    if identity.customer_no:
        return identity.customer_no
    actor = Actor("gateway", Role.BOT)
    binding = profiles.customer_by_binding(actor, Channel.WEB, identity.user_id, purpose="识别网页登录客户")
    return binding.customer_no if binding is not None and binding.verified else None


# ----------------------------------------------------------------------------- one-time codes


class CodeSender(Protocol):
    """Delivers a code to a phone (an SMS gateway in production)."""

    def send(self, phone: str, code: str) -> None: ...


class LogCodeSender:
    """Development sender: writes the code to the log, with the phone number masked."""

    def send(self, phone: str, code: str) -> None:
        logger.warning("one-time code for phone ending %s: %s (development sender)", phone[-4:], code)


Verdict = Literal["sent", "verified", "wrong", "expired", "locked", "no_code"]


@dataclass(frozen=True)
class CodeCheck:
    verdict: Verdict
    attempts_left: int = 0
    locked_until: dt.datetime | None = None


METADATA = sa.MetaData()
CHALLENGES = sa.Table(
    "otp_challenges",
    METADATA,
    sa.Column("subject", sa.String(128), primary_key=True),
    sa.Column("code_hash", sa.String(64)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything here is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


def _lock(row: sa.engine.Row | None, now: dt.datetime) -> CodeCheck | None:
    """The lockout in force for a challenge row, if any."""
    until = _utc(row.locked_until) if row is not None else None
    return CodeCheck("locked", locked_until=until) if until and until > now else None


class OneTimeCodes:
    """Issue and check codes per subject (e.g. ``wechat:<openid>``); state in SQL, shared by processes."""

    def __init__(
        self,
        url: str,
        key: bytes,
        sender: CodeSender,
        ttl: dt.timedelta = dt.timedelta(minutes=5),
        max_failures: int = 3,
        lockout: dt.timedelta = dt.timedelta(minutes=15),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ) -> None:
        self.engine = create_engine(url)
        METADATA.create_all(self.engine)
        self.key, self.sender, self.clock = key, sender, clock
        self.ttl, self.max_failures, self.lockout = ttl, max_failures, lockout

    def _hash(self, subject: str, code: str) -> str:
        return hmac.new(self.key, f"{subject}\x00{code}".encode(), hashlib.sha256).hexdigest()

    def _row(self, connection: sa.engine.Connection, subject: str) -> sa.engine.Row | None:
        return connection.execute(sa.select(CHALLENGES).where(CHALLENGES.c.subject == subject)).first()

    def issue(self, subject: str, phone: str) -> CodeCheck:
        """Send a fresh code (replacing any earlier one) unless the subject is locked out."""
        now = self.clock()
        with self.engine.begin() as connection:
            row = self._row(connection, subject)
            if lock := _lock(row, now):
                return lock
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            values = {"code_hash": self._hash(subject, code), "expires_at": now + self.ttl, "failures": 0}
            if row is None:
                statement = CHALLENGES.insert().values(subject=subject, locked_until=None, **values)
            else:
                statement = CHALLENGES.update().where(CHALLENGES.c.subject == subject).values(**values)
            connection.execute(statement)
        self.sender.send(phone, code)
        return CodeCheck("sent", attempts_left=self.max_failures)

    def verify(self, subject: str, code: str) -> CodeCheck:
        """Check a typed code; a code works once, and the ``max_failures``-th wrong one locks the subject."""
        now = self.clock()
        with self.engine.begin() as connection:
            row = self._row(connection, subject)
            if lock := _lock(row, now):
                return lock
            if row is None or row.code_hash is None:
                return CodeCheck("no_code")
            if _utc(row.expires_at) <= now:
                return CodeCheck("expired")
            where = CHALLENGES.c.subject == subject
            if hmac.compare_digest(row.code_hash, self._hash(subject, code.strip())):
                connection.execute(CHALLENGES.update().where(where).values(code_hash=None, failures=0))
                return CodeCheck("verified")
            failures = row.failures + 1
            if failures >= self.max_failures:
                until = now + self.lockout
                connection.execute(
                    CHALLENGES.update().where(where).values(code_hash=None, failures=0, locked_until=until)
                )
                return CodeCheck("locked", locked_until=until)
            connection.execute(CHALLENGES.update().where(where).values(failures=failures))
            return CodeCheck("wrong", attempts_left=self.max_failures - failures)
