"""Messages taken exactly once, whatever the channel retries: WeChat resends a message it got no
answer to within 5 seconds (up to 3 times), and the web widget resends what it sent while its
connection dropped. The key's insert fails on the primary key for a repeat, on every replica and
after a restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.profile.db import session_scope
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Base, UtcDateTime, utc_now

MAX_KEY = 160


class InboundMessage(Base):
    """``wechat:<MsgId>``, ``wechat-event:<user>:<time>:<event>``, ``web:<session>:<client id>``."""

    __tablename__ = "inbound_messages"

    key = sa.Column(sa.String(MAX_KEY), primary_key=True)
    received_at = sa.Column(UtcDateTime, nullable=False)


class InboundOnce:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen, False for every repeat."""
        try:
            with session_scope(self.sessions) as session:
                session.add(InboundMessage(key=key[:MAX_KEY], received_at=utc_now()))
            return True
        except ProfileUnavailable as error:
            if isinstance(error.__cause__, IntegrityError):
                return False
            raise
