"""What the WeChat channel remembers in the database, so every replica and a restarted gateway agree:
the numbered options a user may answer with a digit, and the API access token (one per app, shared,
refreshed before expiry). Which messages were already taken: ``bot.inbound``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.profile.db import session_scope
from bot.profile.models import Base, UtcDateTime, utc_now

OPTIONS_VALID = dt.timedelta(minutes=30)


class WechatOptions(Base):
    """The buttons of the last reply, as numbered options: "1" answers with the first payload."""

    __tablename__ = "wechat_options"

    openid = sa.Column(sa.String(64), primary_key=True)
    payloads = sa.Column(sa.JSON, nullable=False)
    offered_at = sa.Column(UtcDateTime, nullable=False)


class WechatToken(Base):
    __tablename__ = "wechat_tokens"

    app_id = sa.Column(sa.String(64), primary_key=True)
    token = sa.Column(sa.String(512), nullable=False)
    expires_at = sa.Column(UtcDateTime, nullable=False)


class WechatStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def offer(self, openid: str, payloads: list[str]) -> None:
        with session_scope(self.sessions) as session:
            session.merge(WechatOptions(openid=openid, payloads=payloads, offered_at=utc_now()))

    def chosen(self, openid: str, text: str) -> str | None:
        """The payload a bare digit picks from the options offered last (recently), else None."""
        digit = text.strip()
        if not digit.isdigit():
            return None
        with session_scope(self.sessions) as session:
            row = session.get(WechatOptions, openid)
            if row is None or row.offered_at < utc_now() - OPTIONS_VALID:
                return None
            payloads: list[Any] = list(row.payloads)
        index = int(digit) - 1
        return payloads[index] if 0 <= index < len(payloads) else None

    def token(self, app_id: str) -> str | None:
        """The cached access token while it has more than a minute left."""
        with session_scope(self.sessions) as session:
            row = session.get(WechatToken, app_id)
            if row is None or row.expires_at < utc_now() + dt.timedelta(minutes=1):
                return None
            return row.token

    def save_token(self, app_id: str, token: str, seconds: int) -> None:
        with session_scope(self.sessions) as session:
            expires = utc_now() + dt.timedelta(seconds=seconds)
            session.merge(WechatToken(app_id=app_id, token=token, expires_at=expires))
