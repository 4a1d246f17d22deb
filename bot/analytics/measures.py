"""The measures the bank's managers use, computed from the reporting tables. Definitions:

* **conversation**: a Rasa session with at least one customer message; counted on the China-time
  day it started.
* **containment**: the share of conversations that never asked for a person (no handoff requested
  by the assistant, the customer or the gateway), i.e. resolved without a human.
* **handoff rate by reason**: conversations handed over for a reason / all conversations.
* **response time**: per customer message, from the gateway receiving it to the assistant's last
  reply of that turn (messages answered by an agent are not counted); p50 and p95.
* **queue wait**: per handoff claimed by an agent, queued → claimed; **handling time**: claimed →
  ended; **abandoned**: handoffs cancelled before anyone claimed them.
* **CSAT**: the customer's 1-5 ratings (asked after a handoff); average, and the share of 4-5.
* **sentiment share**: per day, the share of customer messages classified negative / neutral /
  positive.
* **top intents**: what customers' messages were about, without clicks on the assistant's buttons.
* **unanswered**: customer messages the assistant could not answer (see ``Turn.answered``).
* **complaints**: tickets opened in the period; open (open or in progress), overdue for the first
  response (still open after the 1-hour deadline) or for resolution (not resolved after 24 hours).

Every measure takes the same ``Scope``: a period of China-time days, optionally one channel, and
whether simulated traffic counts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.analytics.models import ReportConversation, ReportHandoff, ReportTicket, ReportTurn
from bot.dates import CHINA
from bot.handoff.models import CANCELLED
from bot.profile.models import utc_now

SENTIMENTS = ("negative", "neutral", "positive")
OPEN_TICKETS = ("open", "in_progress")
DONE_TICKETS = ("resolved", "closed")
TOP_INTENTS = 12
# Intents of the assistant's own buttons (article choice and vote, rating, end of a handoff): clicks,
# not what customers came for, so not among the top intents.
BUTTON_INTENTS = frozenset({"kb_choose_article", "kb_feedback", "rate_service", "handoff_ended"})


@dataclass(frozen=True)
class Scope:
    """China-time days ``first``..``last`` (inclusive), one channel or all, simulated traffic or not."""

    first: dt.date
    last: dt.date
    channel: str | None = None
    simulated: bool = True

    @property
    def start(self) -> dt.datetime:
        return midnight(self.first)

    @property
    def end(self) -> dt.datetime:
        return midnight(self.last + dt.timedelta(days=1))

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def midnight(day: dt.date) -> dt.datetime:
    """The UTC moment a China-time day begins."""
    return dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.timezone.utc)


def china_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def in_scope(scope: Scope, query: Select, moment: Any, channel: Any = None, simulated: Any = None) -> Select:
    """``query`` limited to rows whose ``moment`` falls in the period, and, given the columns, to the
    scope's channel and to real traffic when simulated traffic is left out."""
    query = query.where(moment >= scope.start, moment < scope.end)
    if scope.channel and channel is not None:
        query = query.where(channel == scope.channel)
    if not scope.simulated and simulated is not None:
        query = query.where(simulated.is_(False))
    return query


def conversations(session: Session, scope: Scope) -> list[ReportConversation]:
    table = ReportConversation
    query = in_scope(
        scope, sa.select(table).where(table.turns > 0), table.started_at, table.channel, table.simulated
    )
    return list(session.scalars(query))


def turns(session: Session, scope: Scope) -> list[ReportTurn]:
    query = sa.select(ReportTurn).join(
        ReportConversation, ReportConversation.id == ReportTurn.conversation_id
    )
    scoped = in_scope(scope, query, ReportTurn.at, ReportTurn.channel, ReportConversation.simulated)
    return list(session.scalars(scoped))


def handoffs(session: Session, scope: Scope) -> list[ReportHandoff]:
    table = ReportHandoff
    return list(
        session.scalars(in_scope(scope, sa.select(table), table.queued_at, table.channel, table.simulated))
    )


def tickets(session: Session, scope: Scope) -> list[ReportTicket]:
    return list(session.scalars(in_scope(scope, sa.select(ReportTicket), ReportTicket.created_at)))


def per_day(scope: Scope, rows: Sequence[Any], moment: str) -> dict[dt.date, list[Any]]:
    """Rows by the China-time day of their ``moment`` attribute, every day of the scope present."""
    grouped: dict[dt.date, list[Any]] = {day: [] for day in scope.days()}
    for row in rows:
        grouped.setdefault(china_day(getattr(row, moment)), []).append(row)
    return grouped


def conversation_measures(scope: Scope, talks: Sequence[ReportConversation]) -> dict[str, Any]:
    """Volume, containment and handoff reasons."""
    days = per_day(scope, talks, "started_at")
    escalated = [t for t in talks if t.escalated]
    reasons = Counter(t.handoff_reason or "unknown" for t in escalated)
    return {
        "conversations": len(talks),
        "containment": _share(len(talks) - len(escalated), len(talks)),
        "handoff_rate": _share(len(escalated), len(talks)),
        "per_day": [
            {
                "day": day.isoformat(),
                "conversations": len(rows),
                "contained": sum(not r.escalated for r in rows),
                "containment": _share(sum(not r.escalated for r in rows), len(rows)),
            }
            for day, rows in sorted(days.items())
        ],
        "handoffs_by_reason": [
            {"reason": reason, "conversations": count, "rate": _share(count, len(talks))}
            for reason, count in reasons.most_common()
        ],
    }


def turn_measures(scope: Scope, said: Sequence[ReportTurn]) -> dict[str, Any]:
    """Response times, sentiment over time, top intents and unanswered messages."""
    bot_turns = [t for t in said if not t.to_agent]
    times = [t.response_ms for t in bot_turns if t.response_ms is not None]
    days = per_day(scope, said, "at")
    intents = Counter(t.intent for t in bot_turns if t.intent and t.intent not in BUTTON_INTENTS)
    return {
        "messages": len(said),
        "unanswered": sum(not t.answered for t in bot_turns),
        "unanswered_rate": _share(sum(not t.answered for t in bot_turns), len(bot_turns)),
        "response_ms": {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "count": len(times)},
        "per_day": [_turn_day(day, rows) for day, rows in sorted(days.items())],
        "top_intents": [
            {"intent": name, "messages": count} for name, count in intents.most_common(TOP_INTENTS)
        ],
    }


def _turn_day(day: dt.date, rows: Sequence[ReportTurn]) -> dict[str, Any]:
    times = [t.response_ms for t in rows if t.response_ms is not None]
    felt = Counter(t.sentiment for t in rows if t.sentiment in SENTIMENTS)
    total = sum(felt.values())
    return {
        "day": day.isoformat(),
        "messages": len(rows),
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        **{f"{label}_share": _share(felt[label], total) for label in SENTIMENTS},
    }


def handoff_measures(handed: Sequence[ReportHandoff]) -> dict[str, Any]:
    """Queue waits, handling times, abandonment and ratings of the handoffs."""
    claimed = [h for h in handed if h.claimed_at is not None]
    waits = [(h.claimed_at - h.queued_at).total_seconds() for h in claimed]
    handling = [(h.ended_at - h.claimed_at).total_seconds() for h in claimed if h.ended_at is not None]
    return {
        "handoffs": len(handed),
        "claimed": len(claimed),
        "abandoned": sum(h.status == CANCELLED and h.claimed_at is None for h in handed),
        "queue_wait_s": {"p50": percentile(waits, 0.5), "p95": percentile(waits, 0.95)},
        "handling_s": {"p50": percentile(handling, 0.5), "p95": percentile(handling, 0.95)},
        "by_priority": dict(sorted(Counter(h.priority for h in handed).items())),
        "by_skill": dict(Counter(h.skill for h in handed).most_common()),
    }


def satisfaction(talks: Sequence[ReportConversation]) -> dict[str, Any]:
    ratings = [t.rating for t in talks if t.rating is not None]
    counts = Counter(ratings)
    return {
        "ratings": len(ratings),
        "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "csat": _share(sum(r >= 4 for r in ratings), len(ratings)),
        "distribution": [{"score": score, "ratings": counts[score]} for score in range(1, 6)],
    }


def complaint_measures(opened: Sequence[ReportTicket], now: dt.datetime) -> dict[str, Any]:
    """Tickets against the promise: a first response within 1 hour, a resolution within 24."""
    still_open = [t for t in opened if t.status in OPEN_TICKETS]
    late_response = [t for t in opened if t.status == "open" and t.respond_by < now]
    late_resolution = [t for t in opened if t.status not in DONE_TICKETS and t.resolve_by < now]
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: {"opened": 0, "open": 0, "overdue": 0})
    for ticket in opened:
        row = by_category[ticket.category]
        row["opened"] += 1
        row["open"] += ticket.status in OPEN_TICKETS
        row["overdue"] += ticket.status not in DONE_TICKETS and ticket.resolve_by < now
    return {
        "opened": len(opened),
        "open": len(still_open),
        "overdue_response": len(late_response),
        "overdue_resolution": len(late_resolution),
        "by_category": [{"category": name, **counts} for name, counts in sorted(by_category.items())],
    }


def knowledge_measures(said: Sequence[ReportTurn]) -> dict[str, Any]:
    """How often the knowledge base answered, and customers' votes per article."""
    searched = [t for t in said if t.kb_outcome]
    outcomes = Counter(t.kb_outcome for t in searched)
    votes: dict[str, dict[str, int]] = defaultdict(lambda: {"yes": 0, "no": 0})
    for turn in said:
        if turn.kb_vote and turn.kb_article:
            votes[turn.kb_article][turn.kb_vote] += 1
    articles = sorted(votes.items(), key=lambda item: (-item[1]["no"], -item[1]["yes"], item[0]))
    return {
        "searches": len(searched),
        "answered_rate": _share(outcomes["confident"] + outcomes["chosen"], len(searched)),
        "outcomes": dict(outcomes.most_common()),
        "article_votes": [
            {"article": name, "useful": votes["yes"], "not_useful": votes["no"]} for name, votes in articles
        ],
    }


def overview(session: Session, scope: Scope, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows for ``scope``."""
    talks = conversations(session, scope)
    said = turns(session, scope)
    return {
        "scope": {
            "first": scope.first.isoformat(),
            "last": scope.last.isoformat(),
            "channel": scope.channel,
            "simulated": scope.simulated,
        },
        **conversation_measures(scope, talks),
        "turns": turn_measures(scope, said),
        "handoffs": handoff_measures(handoffs(session, scope)),
        "satisfaction": satisfaction(talks),
        "complaints": complaint_measures(tickets(session, scope), now or utc_now()),
        "knowledge": knowledge_measures(said),
        "simulated_conversations": sum(t.simulated for t in talks),
    }
