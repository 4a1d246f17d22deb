"""Web tokens with real PyJWT signatures (HS256 and RS256) and one-time codes on real SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.identity import CodeCheck, OneTimeCodes, TokenError, TokenVerifier, WebIdentity, web_customer
from tests.conftest import audit_log
from tests.helpers import CapturingSender

SECRET = "test-secret-that-is-long-enough-for-hs256"
NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone.utc)


def token(key: str | bytes = SECRET, algorithm: str = "HS256", **claims: object) -> str:
    body = {"sub": "web-user-1", "exp": dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5), **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


def test_a_signed_token_gives_the_user_and_customer() -> None:
    identity = TokenVerifier("HS256", SECRET).verify(token(customer_no="C000001"))
    assert (identity.user_id, identity.customer_no) == ("web-user-1", "C000001")


@pytest.mark.parametrize(
    ("bad_token", "reason"),
    [
        (token(key="another-secret-of-the-same-length-xxxxxx"), "InvalidSignature"),
        (token(exp=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)), "ExpiredSignature"),
        (token(exp=None), "MissingRequiredClaim"),
        (token(sub=None), "MissingRequiredClaim"),
        (jwt.encode({"sub": "x", "exp": 4102444800}, None, algorithm="none"), "InvalidAlgorithm"),
        ("not.a.token", "DecodeError"),
        ("", "DecodeError"),
    ],
)
def test_untrustworthy_tokens_are_refused(bad_token: str, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        TokenVerifier("HS256", SECRET).verify(bad_token)


def test_issuer_and_audience_are_enforced_when_configured() -> None:
    verifier = TokenVerifier("HS256", SECRET, issuer="https://bank.example", audience="chat-widget")
    assert verifier.verify(token(iss="https://bank.example", aud="chat-widget")).user_id == "web-user-1"
    with pytest.raises(TokenError, match="InvalidIssuer"):
        verifier.verify(token(iss="https://evil.example", aud="chat-widget"))
    with pytest.raises(TokenError, match="InvalidAudience"):
        verifier.verify(token(iss="https://bank.example", aud="other-app"))


def test_rs256_accepts_the_banks_key_and_refuses_an_hs256_token_signed_with_the_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = TokenVerifier("RS256", public_pem)
    assert verifier.verify(token(key=private, algorithm="RS256")).user_id == "web-user-1"
    with pytest.raises(TokenError):
        verifier.verify(token(key=SECRET, algorithm="HS256"))


def test_a_misconfigured_verifier_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        TokenVerifier("none", SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key is required"):
        TokenVerifier("HS256", "")


# ----------------------------------------------------------------------------- one-time codes


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def codes(tmp_path: Path) -> tuple[OneTimeCodes, CapturingSender, Clock]:
    sender, clock = CapturingSender(), Clock()
    store = OneTimeCodes(f"sqlite:///{tmp_path / 'identity.db'}", b"k" * 32, sender, clock=clock)
    return store, sender, clock


def test_the_sent_code_verifies_once(codes) -> None:
    store, sender, _ = codes
    assert store.issue("wechat:o1", "13800138000").verdict == "sent"
    [(phone, code)] = sender.sent
    assert phone == "13800138000" and len(code) == 6 and code.isdigit()
    assert store.verify("wechat:o1", code).verdict == "verified"
    assert store.verify("wechat:o1", code).verdict == "no_code"  # used up


def test_codes_are_stored_only_as_hashes(codes, tmp_path: Path) -> None:
    store, sender, _ = codes
    store.issue("wechat:o1", "13800138000")
    code = sender.sent[0][1]
    assert code.encode() not in (tmp_path / "identity.db").read_bytes()


def test_three_wrong_codes_lock_the_subject_for_a_while(codes) -> None:
    store, sender, clock = codes
    store.issue("wechat:o1", "13800138000")
    right = sender.sent[0][1]
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    assert store.verify("wechat:o1", wrong) == CodeCheck("wrong", attempts_left=2)
    assert store.verify("wechat:o1", "abc") == CodeCheck("wrong", attempts_left=1)
    locked = store.verify("wechat:o1", wrong)
    assert locked.verdict == "locked" and locked.locked_until == NOW + dt.timedelta(minutes=15)
    assert store.verify("wechat:o1", right).verdict == "locked"
    assert store.issue("wechat:o1", "13800138000").verdict == "locked"
    assert len(sender.sent) == 1  # no new code while locked
    clock.now = NOW + dt.timedelta(minutes=16)
    assert store.issue("wechat:o1", "13800138000").verdict == "sent"
    assert store.verify("wechat:o1", sender.sent[-1][1]).verdict == "verified"


def test_an_expired_code_is_refused(codes) -> None:
    store, sender, clock = codes
    store.issue("wechat:o1", "13800138000")
    clock.now = NOW + dt.timedelta(minutes=6)
    assert store.verify("wechat:o1", sender.sent[0][1]).verdict == "expired"


def test_subjects_do_not_share_codes(codes) -> None:
    store, sender, _ = codes
    store.issue("wechat:o1", "13800138000")
    store.issue("wechat:o2", "13900139000")
    assert store.verify("wechat:o2", sender.sent[0][1]).verdict == "wrong"
    assert store.verify("wechat:o1", sender.sent[0][1]).verdict == "verified"


# ----------------------------------------------------------------------------- web user → customer


def identity(user_id: str, customer_no: str | None = None) -> WebIdentity:
    return WebIdentity(user_id, customer_no, NOW)


def test_a_bound_web_user_is_their_customer_and_the_lookup_is_audited(service, sessions) -> None:
    assert web_customer(identity("demo-web-1"), service) == "C000001"
    [record] = [r for r in audit_log(sessions) if r.customer_no == "C000001"]
    assert (record.actor_id, record.purpose) == ("gateway", "识别网页登录客户")


def test_an_unbound_web_user_is_anonymous(service) -> None:
    assert web_customer(identity("someone-new"), service) is None


def test_the_customer_named_in_the_banks_token_wins(service) -> None:
    assert web_customer(identity("someone-new", "C000004"), service) == "C000004"
