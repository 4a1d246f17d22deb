"""Customers' "有用 / 没用" votes on knowledge-base answers, kept so editors know which articles fail.

One row per vote: the article, the vote, the channel, when, and a keyed hash of the conversation
id (enough to count distinct conversations, useless for finding the customer: WeChat open ids and
web session ids are personal data and do not belong in an editors' table). SQLite by default, any
SQLAlchemy URL (PostgreSQL when scaled out) by configuration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from bot.privacy import pseudonym
from bot.profile.db import create_engine

METADATA = sa.MetaData()
VOTES = sa.Table(
    "kb_feedback",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.String(64), nullable=False, index=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("conversation", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class ArticleVotes:
    """Vote counts of one article; ``helpful_share`` is what editors sort by."""

    article_id: str
    helpful: int
    unhelpful: int

    @property
    def helpful_share(self) -> float:
        return self.helpful / (self.helpful + self.unhelpful)


class FeedbackStore:
    """Records votes and sums them up per article."""

    def __init__(self, url: str, conversation_key: bytes) -> None:
        self.engine = create_engine(url)
        self.key = conversation_key
        METADATA.create_all(self.engine)

    def conversation_hash(self, conversation_id: str) -> str:
        """Same conversation, same hash; not reversible without the key."""
        return pseudonym(self.key, conversation_id)

    def record(self, article_id: str, helpful: bool, conversation_id: str, channel: str) -> None:
        """One vote per article and conversation: a second vote (changed mind, double click) replaces it."""
        row = {
            "article_id": article_id[:64],
            "helpful": helpful,
            "conversation": self.conversation_hash(conversation_id),
            "channel": (channel or "unknown")[:32],
            "created_at": dt.datetime.now(dt.timezone.utc),
        }
        same_vote = (VOTES.c.article_id == row["article_id"]) & (VOTES.c.conversation == row["conversation"])
        with self.engine.begin() as connection:
            connection.execute(VOTES.delete().where(same_vote))
            connection.execute(VOTES.insert().values(**row))

    def summary(self) -> list[ArticleVotes]:
        """Every voted article, least helpful first (the ones to rewrite)."""
        helpful = sa.func.sum(sa.case((VOTES.c.helpful, 1), else_=0))
        query = sa.select(VOTES.c.article_id, helpful, sa.func.count()).group_by(VOTES.c.article_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        votes = [ArticleVotes(article, int(yes), int(total) - int(yes)) for article, yes, total in rows]
        return sorted(votes, key=lambda v: (v.helpful_share, -v.unhelpful, v.article_id))
