"""Who is at the agent console: passwords, login sessions (bearer tokens) and presence.

Tokens are random and stored only as SHA-256 hashes; a session lasts one shift (``SESSION_HOURS``).
Every authenticated call refreshes ``seen_at``: an agent seen within ``ONLINE_MINUTES`` counts as
online when the gateway decides whether a skill can be served now or a callback is offered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.models import CONSOLE, AgentSession, StaffLogin
from bot.profile.db import session_scope
from bot.profile.models import Advisor, Role, utc_now

SESSION_HOURS = 10
ONLINE_MINUTES = 5
GENERAL = "general"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
CONSOLE_ROLES = (Role.AGENT, Role.ADVISOR, Role.SUPERVISOR)


class LoginFailed(Exception):
    """Wrong staff number or password, or a member of staff without console access."""


class NotAuthenticated(Exception):
    """No valid session for the token (unknown, expired or logged out)."""


@dataclass(frozen=True)
class Agent:
    staff_no: str
    name: str
    role: Role
    skills: tuple[str, ...]  # advisor skills plus "general", which every console user has

    def can_take(self, skill: str) -> bool:
        return self.role is Role.SUPERVISOR or skill in self.skills


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    scheme, salt, digest = [*stored.split("$"), "", ""][:3]
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _agent(advisor: Advisor) -> Agent:
    skills = (*sorted(skill.value for skill in advisor.skills), GENERAL)
    return Agent(advisor.staff_no, advisor.name, advisor.role, skills)


class AgentDirectory:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def set_password(self, staff_no: str, password: str) -> None:
        with session_scope(self.sessions) as session:
            advisor = _advisor(session, staff_no)
            if advisor is None:
                raise LoginFailed(f"no staff member {staff_no}")
            login = session.get(StaffLogin, advisor.id) or StaffLogin(advisor_id=advisor.id)
            login.password_hash, login.changed_at = hash_password(password), utc_now()
            session.add(login)

    def ensure_demo_logins(self, password: str) -> int:
        """Give every console user without a password the demo one; how many were given it."""
        with session_scope(self.sessions) as session:
            without = session.scalars(
                sa.select(Advisor)
                .outerjoin(StaffLogin, StaffLogin.advisor_id == Advisor.id)
                .where(StaffLogin.advisor_id.is_(None), Advisor.role.in_(CONSOLE_ROLES))
            ).all()
            for advisor in without:
                session.add(
                    StaffLogin(
                        advisor_id=advisor.id, password_hash=hash_password(password), changed_at=utc_now()
                    )
                )
            return len(without)

    def login(self, staff_no: str, password: str, kind: str = CONSOLE) -> tuple[str, Agent]:
        """A new session token for valid credentials; ``LoginFailed`` says nothing about which was wrong.

        ``kind``: the page logged into (``CONSOLE`` or ``DASHBOARD``); the token is valid there only.
        """
        with session_scope(self.sessions) as session:
            advisor = _advisor(session, staff_no)
            login = session.get(StaffLogin, advisor.id) if advisor else None
            if advisor is None or login is None or not password_matches(password, login.password_hash):
                raise LoginFailed("wrong staff number or password")
            token, now = secrets.token_urlsafe(32), utc_now()
            session.add(
                AgentSession(
                    token_hash=_token_hash(token),
                    advisor_id=advisor.id,
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=SESSION_HOURS),
                    seen_at=now,
                    kind=kind,
                )
            )
            return token, _agent(advisor)

    def authenticate(self, token: str, kind: str = CONSOLE) -> Agent:
        """The agent behind a bearer token of a ``kind`` login (and a presence heartbeat)."""
        with session_scope(self.sessions) as session:
            found = session.get(AgentSession, _token_hash(token))
            now = utc_now()
            if found is None or found.expires_at <= now or found.kind != kind:
                raise NotAuthenticated("invalid or expired token")
            found.seen_at = now
            return _agent(session.get(Advisor, found.advisor_id))

    def logout(self, token: str) -> None:
        with session_scope(self.sessions) as session:
            session.execute(sa.delete(AgentSession).where(AgentSession.token_hash == _token_hash(token)))

    def online(self) -> list[Agent]:
        """Agents with a live session seen in the last few minutes."""
        since = utc_now() - dt.timedelta(minutes=ONLINE_MINUTES)
        with session_scope(self.sessions) as session:
            rows = session.scalars(
                sa.select(Advisor)
                .join(AgentSession, AgentSession.advisor_id == Advisor.id)
                .where(
                    AgentSession.kind == CONSOLE,
                    AgentSession.seen_at >= since,
                    AgentSession.expires_at > utc_now(),
                )
                .distinct()
            )
            return [_agent(advisor) for advisor in rows]


def _advisor(session: Session, staff_no: str) -> Advisor | None:
    advisor = session.scalar(sa.select(Advisor).where(Advisor.staff_no == staff_no))
    return advisor if advisor is not None and advisor.role in CONSOLE_ROLES else None
