"""The reporting capture on real stores: Rasa's SQL tracker store (SQLite), the seeded profile database
with its service desk and tickets; then the measures computed from what it recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.analytics.capture import Capture, TrackerEvents
from bot.analytics.measures import Scope, overview
from bot.analytics.models import ReportConversation, ReportHandoff, ReportSimulation, ReportTicket, ReportTurn
from bot.handoff.agents import AgentDirectory
from bot.handoff.desk import Desk
from bot.handoff.models import CLOSED
from bot.privacy import pseudonym
from bot.tracker_store import PatientSQLTrackerStore
from tests.bot.analytics.scripted import DAY, Script, kb

KEY = b"reporting-test-key-0123456789abcdef"
PASSWORD = "capture-test-password"


@pytest.fixture
def tracker_store(tmp_path: Path) -> PatientSQLTrackerStore:
    return PatientSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))


class Clock:
    """Two minutes after the scripted conversations began, unless a test moves it."""

    def __init__(self) -> None:
        self.now = DAY + dt.timedelta(minutes=2)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def capture(sessions, tracker_store: PatientSQLTrackerStore, tmp_path: Path) -> Capture:
    return Capture(sessions, TrackerEvents(f"sqlite:///{tmp_path / 'tracker.db'}"), KEY, clock=Clock())


def save(store: PatientSQLTrackerStore, script: Script) -> None:
    asyncio.run(store.save(DialogueStateTracker.from_events(script.sender, script.events)))


def answered_question(sender: str) -> Script:
    script = Script(sender).session()
    script.says("信用卡年费怎么收", "interest_and_fees").bot(
        "action_search_knowledge_base", **kb("confident", "fees-001")
    )
    return script.listens()


def rows(sessions, model) -> list:
    with sessions() as session:
        return list(session.scalars(sa.select(model)))


def test_conversations_and_turns_are_recorded_once_with_pseudonyms(sessions, tracker_store, capture) -> None:
    save(tracker_store, answered_question("web-123"))
    first = capture.sync()
    again = capture.sync()
    assert (first.conversations, first.turns) == (1, 1)
    assert (again.conversations, again.turns) == (0, 0)
    (conversation,) = rows(sessions, ReportConversation)
    assert conversation.conversation == pseudonym(KEY, "web-123") != "web-123"
    assert (conversation.turns, conversation.unanswered, conversation.escalated) == (1, 0, False)
    (turn,) = rows(sessions, ReportTurn)
    assert (turn.intent, turn.kb_article, turn.answered) == ("interest_and_fees", "fees-001", True)


def test_a_turn_in_progress_waits_for_the_next_run(sessions, tracker_store, capture) -> None:
    script = answered_question("c-open")
    script.says("查余额", "check_balance").bot("action_begin_request")
    save(tracker_store, script)
    assert capture.sync().turns == 1
    save(tracker_store, script.listens())
    assert capture.sync().turns == 1
    assert [t.text for t in rows(sessions, ReportTurn)] == ["信用卡年费怎么收", "查余额"]


def test_a_turn_never_finished_is_recorded_after_ten_minutes(sessions, tracker_store, capture) -> None:
    save(
        tracker_store, Script("c-died").session().says("查余额", "check_balance").bot("action_begin_request")
    )
    assert capture.sync().turns == 0
    capture.clock.now += dt.timedelta(minutes=10)
    assert capture.sync().turns == 1
    (turn,) = rows(sessions, ReportTurn)
    assert turn.response_ms is None and turn.actions == "action_begin_request"


def test_a_second_replica_waits_while_one_records(sessions, tracker_store, capture, tmp_path) -> None:
    other = Capture(sessions, TrackerEvents(f"sqlite:///{tmp_path / 'tracker.db'}"), KEY, clock=capture.clock)
    assert capture._take_lease()
    assert other.sync().skipped
    capture._release_lease()
    save(tracker_store, answered_question("c-lease"))
    assert other.sync().turns == 1


def test_simulated_conversations_are_reported_days_earlier(sessions, tracker_store, capture) -> None:
    with sessions.begin() as session:
        session.add(ReportSimulation(conversation=pseudonym(KEY, "sim-1"), days_back=3))
    save(tracker_store, answered_question("sim-1"))
    capture.sync()
    (conversation,) = rows(sessions, ReportConversation)
    assert conversation.simulated and conversation.started_at.date() == (DAY - dt.timedelta(days=3)).date()


def test_handoffs_and_tickets_come_from_the_desk_and_the_complaints(sessions, tracker_store, capture) -> None:
    script = Script("c-human").session().says("转人工", "request_human")
    script.bot("action_handoff_to_human", handoff={"reason": "customer_request"}).listens()
    save(tracker_store, script)
    capture.sync()
    desk, agents = Desk(sessions), AgentDirectory(sessions)
    agents.ensure_demo_logins(PASSWORD)
    escalation = {"priority": "P3", "skill": "cards", "reason": "customer_request"}
    desk.enqueue("c-human", "rest", None, escalation, {"text": "summary"})
    agent = agents.login("XH1001", PASSWORD)[1]
    desk.claim("c-human", agent)
    handoff = desk.end("c-human", agent, CLOSED, "resolved")
    desk.rate(handoff.id, 4)
    result = capture.sync()
    assert result.handoffs == 1 and result.tickets == len(rows(sessions, ReportTicket)) > 0
    (row,) = rows(sessions, ReportHandoff)
    assert (row.reason, row.status, row.disposition, row.rating) == (
        "customer_request",
        CLOSED,
        "resolved",
        4,
    )
    assert row.conversation == pseudonym(KEY, "c-human") and row.claimed_at >= row.queued_at
    (conversation,) = rows(sessions, ReportConversation)
    assert conversation.escalated and conversation.rating == 4


def test_the_measures_of_a_small_scripted_day(sessions, tracker_store, capture) -> None:
    """Four conversations on 1 December: one handed over, one unanswered question, two ratings."""
    save(tracker_store, answered_question("a"))
    human = Script("b").session().says("转人工", "request_human", sentiment=("negative", 0.9))
    save(
        tracker_store, human.bot("action_handoff_to_human", handoff={"reason": "customer_request"}).listens()
    )
    lost = Script("c").session().says("数字人民币", "interest_and_fees", sentiment=("negative", 0.6))
    save(tracker_store, lost.bot("action_search_knowledge_base", **kb("none")).listens())
    happy = answered_question("d")
    happy.says(
        "5", "rate_service", sentiment=("positive", 0.9), entities=[{"entity": "rating", "value": "5"}]
    )
    save(tracker_store, happy.bot("action_record_rating").listens())
    capture.sync()
    with sessions() as session:
        day = DAY.date()
        data = overview(session, Scope(day, day), now=DAY)
        assert (
            overview(session, Scope(day + dt.timedelta(days=1), day + dt.timedelta(days=1)))["conversations"]
            == 0
        )
    assert data["conversations"] == 4
    assert data["containment"] == 0.75 and data["handoff_rate"] == 0.25
    assert data["handoffs_by_reason"] == [{"reason": "customer_request", "conversations": 1, "rate": 0.25}]
    assert data["turns"]["messages"] == 5 and data["turns"]["unanswered"] == 1
    assert data["turns"]["per_day"][0]["negative_share"] == 0.4  # 2 of 5 messages
    assert data["satisfaction"]["distribution"][4] == {"score": 5, "ratings": 1}
    assert {"intent": "interest_and_fees", "messages": 3} in data["turns"]["top_intents"]
    assert all(i["intent"] != "rate_service" for i in data["turns"]["top_intents"])  # a button, not a need
    assert 0 < data["turns"]["response_ms"]["p50"] <= data["turns"]["response_ms"]["p95"]
